"""The user's cache folder: what rulebook can rebuild but would rather not (compiled kernels,
exchange sessions, the compressed plotly.js). Nothing depends on it being writable.

``$RULEBOOK_CACHE_DIR``, else ``$NUMBA_CACHE_DIR/rulebook``, else the platform's user cache folder
(``~/.cache/rulebook`` on Linux). Kept free of numba so that commands which compile nothing can use it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from platformdirs import user_cache_dir

T = TypeVar("T")


def cache_dir() -> Path:
    """The folder holding everything rulebook caches (one sub-folder or file per kind)."""
    if os.environ.get("RULEBOOK_CACHE_DIR"):
        return Path(os.environ["RULEBOOK_CACHE_DIR"])
    if os.environ.get("NUMBA_CACHE_DIR"):
        return Path(os.environ["NUMBA_CACHE_DIR"]) / "rulebook"
    return Path(user_cache_dir(appname="rulebook", appauthor=False))


def cached(name: str, compute: Callable[[], bytes], load: Callable[[bytes], T]) -> T:
    """``load`` of the cache file ``name``; if it is absent or damaged (``load`` raises ValueError),
    of ``compute()``, which is saved there for the next process. The name must say everything the
    bytes depend on (a library's version): a file is never checked against its source."""
    path = cache_dir() / name
    try:
        return load(path.read_bytes())
    except (OSError, ValueError):
        pass
    data = compute()
    try:  # written aside and renamed: a reader in another process sees the whole file or none
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as tmp:
            tmp.write(data)
        os.replace(tmp.name, path)
    except OSError:  # a cache that cannot be written only costs time
        pass
    return load(data)
