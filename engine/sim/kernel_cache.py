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
Each kernel is also stamped with the numbers it reads from module globals (``frozen_constants``):
numba compiles them in, and they often come from a file with no kernel in it (a rule's parameter and
state offsets, declared beside its config model), which no file digest would cover.
The folder is engine.user_cache.cache_dir() (``$RULEBOOK_CACHE_DIR``, else ``$NUMBA_CACHE_DIR/rulebook``,
else ``~/.cache/rulebook`` on Linux). If it cannot be written the kernels still run, compiled in every
process.
"""

from __future__ import annotations

import fcntl
import hashlib
import sys
import threading
import time
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import numba
import numpy as np
from numba import njit
from numba.core import sigutils
from numba.core.caching import CompileResultCacheImpl, FunctionCache, IndexDataCacheFile, _CacheLocator
from numba.core.compiler_lock import global_compiler_lock
from numba.core.environment import Environment, lookup_environment

from engine.user_cache import cache_dir

ROOT = Path(__file__).resolve().parents[2]
# Every file with code compiled into the simulation loop, and the PBO's loop (tests/test_kernel_cache.py checks
# the list); a rule's step compiled from any other file (a plugin's) is stamped with that file's own bytes too.
KERNEL_SOURCES = ("engine/sim/loop.py", "engine/sim/orders.py", "engine/sim/rule_kernels.py", "engine/sim/session_step.py",
                  "engine/sim/cap_kernel.py", "strategies/steps/cap_drift.py", "strategies/steps/profit_taking.py",
                  "engine/analysis/pbo.py")


@lru_cache(maxsize=None)
def sources_digest(root: Path = ROOT) -> str:
    """sha256 over numba's version and the bytes of every kernel source: changes with any of them."""
    digest = hashlib.sha256(numba.__version__.encode())
    for source in KERNEL_SOURCES:
        digest.update(f"\0{source}\0".encode())
        digest.update((root / source).read_bytes())
    return digest.hexdigest()


def frozen_constants(function, _seen: set[int] | None = None) -> str:
    """The numbers ``function`` reads from its module's globals (``X`` or ``module.X``), and those of the
    kernels it calls or closes over, as ``name=value;...``: what numba freezes into the compiled code."""
    seen = set() if _seen is None else _seen
    if id(function) in seen:
        return ""
    seen.add(id(function))
    names = _global_names(function.__code__)
    referenced = [(name, function.__globals__.get(name)) for name in names]
    referenced += [(name, cell.cell_contents) for name, cell in
                   zip(function.__code__.co_freevars, function.__closure__ or ()) if _filled(cell)]
    parts = []
    for name, value in referenced:
        if isinstance(value, bool | int | float | np.number):
            parts.append(f"{name}={value!r}")
        elif hasattr(value, "py_func"):  # a kernel called from this one
            parts.append(frozen_constants(value.py_func, seen))
        elif isinstance(value, type(sys)):  # module.X
            parts += [f"{value.__name__}.{attr}={getattr(value, attr)!r}" for attr in names
                      if isinstance(getattr(value, attr, None), bool | int | float | np.number)]
    return ";".join(part for part in parts if part)


def _global_names(code) -> list[str]:
    """Names a code object (and the functions defined inside it) looks up, in order, once each."""
    names = list(code.co_names)
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            names += _global_names(const)
    return list(dict.fromkeys(names))


def _filled(cell) -> bool:
    try:
        cell.cell_contents
    except ValueError:  # a cell not assigned yet
        return False
    return True


def kernel_folder() -> Path:
    """Where this version's kernels live."""
    return cache_dir() / f"kernels-{sources_digest()[:20]}"


class _KernelLocator(_CacheLocator):
    """Cache files in kernel_folder(), named by the kernel's frozen constants and stamped with the sources
    digest rather than the file's own hash."""

    def __init__(self, py_func, py_file):
        self._lineno = py_func.__code__.co_firstlineno
        path = Path(py_file).resolve()
        inside = path.is_relative_to(ROOT) and str(path.relative_to(ROOT)) in KERNEL_SOURCES
        # a rule step from another file (a plugin's) is also stamped with, and filed by, that file
        self._own = "" if inside else hashlib.sha256(path.read_bytes()).hexdigest()
        # in the file name, not the stamp: closures of one function over different steps (the loop with
        # and without rules) freeze different numbers, and a stamp differing per closure would make each
        # save wipe the others' entries from the index they share (every run recompiling one of them)
        self._constants = hashlib.sha256(frozen_constants(py_func).encode()).hexdigest()[:16]
        name = path.stem if inside else f"{path.stem}-{hashlib.sha256(str(path).encode()).hexdigest()[:12]}"
        self._cache_path = str(kernel_folder() / name)

    def get_cache_path(self):
        return self._cache_path

    def get_source_stamp(self):
        return sources_digest() + self._own

    def get_disambiguator(self):
        return f"{self._lineno}-{self._constants}"

    @classmethod
    def from_function(cls, py_func, py_file):
        return cls(py_func, py_file)


class _KernelCacheImpl(CompileResultCacheImpl):
    _locator_classes = [_KernelLocator]

    def reduce(self, cres):
        """numba's, except that the environments of the functions compiled in are stored as
        _StoredEnvironment: loading a kernel that calls vectorbt's order functions then does not
        import vectorbt (2.5 s) to rebuild theirs."""
        *payload, environments = super().reduce(cres)
        return (*payload, tuple(_StoredEnvironment(env) for env in environments))


class _StoredEnvironment:
    """A compiled function's environment (its module's globals and constant Python objects), pickled
    as numba does but rebuilt by _environment. Compiled code only reads an environment to make Python
    objects (object mode, which the kernels never use), so one whose module is not loaded keeps its
    constants and an empty namespace instead of importing the module."""

    def __init__(self, env: Environment):
        self.env = env

    def __reduce__(self):
        return _environment, (self.env.globals.get("__name__"), self.env.consts, self.env.env_name)


def _environment(module_name: str, consts: list, env_name: str) -> Environment:
    env = lookup_environment(env_name)
    if env is None:
        module = sys.modules.get(module_name)
        env = Environment(module.__dict__ if module is not None else {"__name__": module_name})
        env.consts[:] = consts
        env.env_name = env_name
        Environment._memo[env_name] = env
    return env


class _KernelCacheFile(IndexDataCacheFile):
    """numba's index and data files, but each compiled kernel's data file is named by its index key.

    numba numbers a function's data files in the order they are saved. Two processes compiling
    different closures or signatures of one function at once (two first runs, a test suite in two
    worktrees) can each read the index before the other writes it, pick the same number, and the index
    then points one key at the other's machine code: a run silently executing another rule set's loop.
    Named by the key, two kernels never share a file; the worst such a race can do is drop an index
    entry (that kernel compiles once more)."""

    def save(self, key, data):
        name = self._data_name_pattern.replace("{number:d}", hashlib.sha256(repr(key).encode()).hexdigest()[:16])
        self._save_data(name, data)  # before the index: an index entry never names a file not written yet
        overloads = self._load_index()
        if overloads.get(key) != name:
            overloads[key] = name
            self._save_index(overloads)


class KernelCache(FunctionCache):
    """numba's function cache, located and stamped by _KernelLocator. ``before_compile`` runs when a
    signature is not in the cache (numba compiles it next); ``key`` tells apart closures of one
    function over different values (numba's own key pickles them, which differs in every process)."""

    _impl_class = _KernelCacheImpl

    def __init__(self, py_func, before_compile=None, key: str | None = None):
        super().__init__(py_func)
        self._before_compile, self._key = before_compile, key
        self._cache_file = _KernelCacheFile(self._cache_path, self._impl.filename_base,
                                            self._impl.locator.get_source_stamp())

    def load_overload(self, sig, target_context):
        try:
            loaded = super().load_overload(sig, target_context)
        except OSError:  # the folder cannot be read: compile
            loaded = None
        if loaded is None and self._before_compile is not None:
            self._before_compile()
        return loaded

    def _index_key(self, sig, codegen):
        if self._key is None:
            return super()._index_key(sig, codegen)
        code = hashlib.sha256(self._py_func.__code__.co_code).hexdigest()
        return sig, codegen.magic_tuple(), (code, self._key)

    def save_overload(self, sig, data):
        try:
            with SAVING:
                super().save_overload(sig, data)
        except OSError:  # the folder cannot be written: this process keeps its compiled kernel
            pass

    def cached(self, sig, codegen) -> bool:
        """Whether ``sig`` (as numba passes it to compile) is in the cache folder."""
        try:
            return self._index_key(sig, codegen) in self._cache_file._load_index()
        except OSError:
            return False

    @contextmanager
    def compiling(self):
        """Held while this process compiles (or loads) one of this function's signatures: a process
        reaching a kernel another is compiling waits for it (a lock file beside the function's index,
        which the other releases once the kernel is saved) and then loads it instead of compiling it
        too (engine.sim.compile_ahead). Nested compiles of one function in one process share the lock;
        without a writable folder, or after LOCK_WAIT seconds, it compiles without."""
        path = self._cache_file._index_path + ".lock"
        held = _HELD.setdefault(path, [0, None])
        if not held[0]:
            held[1] = _lock(path)
        held[0] += 1
        try:
            yield
        finally:
            held[0] -= 1
            if not held[0]:
                del _HELD[path]
                if held[1] is not None:
                    held[1].close()  # closing the file releases its lock


# the lock files this process holds (KernelCache.compiling): path -> [compiles holding it, the open file]
_HELD: dict[str, list] = {}
LOCK_WAIT = 60.0
# held while a kernel is written: a process ending from another thread (engine.sim.compile_ahead) takes it first
SAVING = threading.Lock()


def _lock(path: str):
    """The file at ``path`` opened and locked (None: it cannot be created, or another process held it LOCK_WAIT s)."""
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        held = open(path, "a")
    except OSError:
        return None
    waited = time.monotonic() + LOCK_WAIT
    while True:
        try:
            fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return held
        except BlockingIOError:
            if time.monotonic() > waited:
                held.close()
                return None
            time.sleep(0.01)
        except OSError:  # a file system without locks
            held.close()
            return None


def _compile_locked(dispatcher):
    """``dispatcher.compile`` inside KernelCache.compiling for a signature it has not compiled yet."""
    compile_ = dispatcher.compile

    def compile(sig):
        args, _ = sigutils.normalize_signature(sig)
        if tuple(args) in dispatcher.overloads:
            return compile_(sig)
        with global_compiler_lock, dispatcher._cache.compiling():
            return compile_(sig)

    dispatcher.compile = compile


def kernel(function=None, *, before_compile=None, key: str | None = None, **options):
    """``numba.njit(**options)`` with the cache above: use as ``@kernel`` or ``@kernel(nogil=True)``.
    ``before_compile``: called before numba compiles the function (not when it loads it from the cache),
    e.g. to import what only compiling needs; ``key``: a closure's identity (see KernelCache)."""
    if function is None:
        return lambda f: kernel(f, before_compile=before_compile, key=key, **options)
    # numba's runtime stated, not inherited: a kernel compiled without it (the book loop) calls kernels that allocate.
    # error_model="numpy": a float division by zero gives inf/NaN instead of a check and a raise on every division
    # in the loop (the kernels never divide by zero where a result is used; the same numbers otherwise)
    if key is not None:
        # numba names compiled code by qualified name and a per-process counter, and links a callee's name to
        # the first code loaded under it: closures compiled in two processes (the loop over two rule sets) can
        # share a name, and a third process loading both ran the first's session step in the second's loop.
        # Named by the key too, different closures never share a name (equal names mean equal code).
        function.__qualname__ += f"_{hashlib.sha256(key.encode()).hexdigest()[:16]}"
    dispatcher = njit(**{"_nrt": True, "error_model": "numpy", **options})(function)
    # what njit(cache=True) does, with our locator
    dispatcher._cache = KernelCache(dispatcher.py_func, before_compile, key)
    _compile_locked(dispatcher)
    return dispatcher
