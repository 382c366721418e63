"""Keep numba's on-disk cache honest across files.

numba reuses a cached kernel while the kernel's *own* source file is unchanged. The
simulation loop compiles in code from other files (the rules, the order primitives, the
cap water-filling), so after an edit or a ``git pull`` that touches only one of those,
numba would silently run the old code. Before any kernel loads, ``drop_stale`` compares
a digest of all of them with the one stored beside the cache and deletes the cached
kernels when it differs. A read-only install (no writable ``__pycache__`` here) is
rewritten as a whole on upgrade, which numba's own check already catches.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KERNEL_SOURCES = ("engine/sim/loop.py", "engine/sim/orders.py", "engine/sim/rule_kernels.py", "strategies/caps.py")
DIGEST_FILE = "kernel-sources.sha256"


def drop_stale(root: Path = ROOT) -> bool:
    """Delete the cached kernels of KERNEL_SOURCES if any of them changed since they were cached;
    True if something was deleted."""
    digest = hashlib.sha256(b"".join((root / source).read_bytes() for source in KERNEL_SOURCES)).hexdigest()
    stamp = root / "engine" / "sim" / "__pycache__" / DIGEST_FILE
    try:
        if stamp.exists() and stamp.read_text() == digest:
            return False
        dropped = False
        for source in map(Path, KERNEL_SOURCES):
            for cached in (root / source.parent / "__pycache__").glob(f"{source.stem}.*.nb[ic]"):
                cached.unlink()
                dropped = True
        stamp.parent.mkdir(exist_ok=True)
        stamp.write_text(digest)
        return dropped
    except OSError:  # not writable: numba keeps its cache elsewhere and checks the files it knows
        return False
