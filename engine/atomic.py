"""Write a folder all at once: build it beside its destination, then rename.

A crash, an error or Ctrl-C while writing leaves the destination untouched
(absent, or as it was): readers never see a half-written run or dataset.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from engine.errors import RulebookError


def write_folder_atomically(destination: Path, fill: Callable[[Path], None], *, replace: bool = False) -> Path:
    """Call ``fill(tmp_dir)`` to write files, then move tmp_dir to ``destination``.

    An existing destination is kept unless ``replace``; when replaced, the old
    folder is removed only after the new one is in place.
    """
    destination = Path(destination)
    if destination.exists() and not replace:
        raise RulebookError(f"{destination}: already exists; choose another output folder (--out) "
                            "or remove it first: rulebook never overwrites earlier results")
    destination.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", suffix=".tmp", dir=destination.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it private; a results folder is not
        fill(tmp)
        if destination.exists():
            old = tmp.with_suffix(".old")
            os.replace(destination, old)
            os.replace(tmp, destination)
            shutil.rmtree(old)
        else:
            os.replace(tmp, destination)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return destination


def write_file_atomically(destination: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)``, then rename the temporary file over ``destination``.

    For files added to an existing run folder (event study, reports): a reader sees
    the old file or the new one, never a partial one.
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".tmp", dir=destination.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        tmp.chmod(0o644)
        os.replace(tmp, destination)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return destination
