"""numba's on-disk cache for the simulation kernels, in a folder the user can write, never stale.

The first run compiles the simulation loop (tens of seconds); every later run, in any process and
for any config, loads it from disk in well under a second. Two things stop numba's own cache from
doing that for an installed package:

- it writes beside the source (``site-packages/.../__pycache__``), which a system or read-only
  install cannot, and then falls back to a per-file folder of its own;
- it reuses a kernel while the kernel's *own* file is unchanged, but the loop compiles in code from
  other files (the rules, the order primitives, the cap water-filling): after an upgrade or a
  ``git pull`` touching only one of those, it would run the old code.

``kernel`` compiles a function like ``njit`` and caches it in ``cache_dir() / <digest>``, where the
digest covers every file in KERNEL_SOURCES (and numba's version): an edit to any of them starts a
fresh folder, so a stale kernel is never loaded, and nothing is deleted (nothing happens at import).
The folder is engine.user_cache.cache_dir() (``$RULEBOOK_CACHE_DIR``, else ``$NUMBA_CACHE_DIR/rulebook``,
else ``~/.cache/rulebook`` on Linux). If it cannot be written the kernels still run, compiled in every
process.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import numba
from numba import njit
from numba.core.caching import CompileResultCacheImpl, FunctionCache, _CacheLocator

from engine.user_cache import cache_dir

ROOT = Path(__file__).resolve().parents[2]
# Every file with code compiled into the simulation loop (tests/test_kernel_cache.py checks the list);
# a rule's step compiled from any other file (a plugin's) is stamped with that file's own bytes too.
KERNEL_SOURCES = ("engine/sim/loop.py", "engine/sim/orders.py", "engine/sim/rule_kernels.py", "engine/sim/cap_kernel.py",
                  "strategies/steps/cap_drift.py", "strategies/steps/profit_taking.py")


@lru_cache(maxsize=None)
def sources_digest(root: Path = ROOT) -> str:
    """sha256 over numba's version and the bytes of every kernel source: changes with any of them."""
    digest = hashlib.sha256(numba.__version__.encode())
    for source in KERNEL_SOURCES:
        digest.update(f"\0{source}\0".encode())
        digest.update((root / source).read_bytes())
    return digest.hexdigest()


def kernel_folder() -> Path:
    """Where this version's kernels live."""
    return cache_dir() / f"kernels-{sources_digest()[:20]}"


class _KernelLocator(_CacheLocator):
    """Cache files in kernel_folder(), stamped with the sources digest rather than the file's own hash."""

    def __init__(self, py_func, py_file):
        self._lineno = py_func.__code__.co_firstlineno
        path = Path(py_file).resolve()
        inside = path.is_relative_to(ROOT) and str(path.relative_to(ROOT)) in KERNEL_SOURCES
        # a rule step from another file (a plugin's) is also stamped with, and filed by, that file
        self._own = "" if inside else hashlib.sha256(path.read_bytes()).hexdigest()
        name = path.stem if inside else f"{path.stem}-{hashlib.sha256(str(path).encode()).hexdigest()[:12]}"
        self._cache_path = str(kernel_folder() / name)

    def get_cache_path(self):
        return self._cache_path

    def get_source_stamp(self):
        return sources_digest() + self._own

    def get_disambiguator(self):
        return str(self._lineno)

    @classmethod
    def from_function(cls, py_func, py_file):
        return cls(py_func, py_file)


class _KernelCacheImpl(CompileResultCacheImpl):
    _locator_classes = [_KernelLocator]


class KernelCache(FunctionCache):
    """numba's function cache, located and stamped by _KernelLocator."""

    _impl_class = _KernelCacheImpl

    def load_overload(self, sig, target_context):
        try:
            return super().load_overload(sig, target_context)
        except OSError:  # the folder cannot be read: compile
            return None

    def save_overload(self, sig, data):
        try:
            super().save_overload(sig, data)
        except OSError:  # the folder cannot be written: this process keeps its compiled kernel
            pass


def kernel(function=None, **options):
    """``numba.njit(**options)`` with the cache above: use as ``@kernel`` or ``@kernel(parallel=True)``."""
    if function is None:
        return lambda f: kernel(f, **options)
    dispatcher = njit(**options)(function)
    dispatcher._cache = KernelCache(dispatcher.py_func)  # what njit(cache=True) does, with our locator
    return dispatcher
