"""A first run's data-free kernels compiled in a second process while the first loads data and runs rules.

A first run (empty kernel cache) compiles for about 10 s of CPU, one kernel after another, on one core.
``start`` launches this module as a child process that compiles, into the kernel cache
(engine.sim.kernel_cache), the kernels whose types depend on no data: vectorbt's order primitives
(with vectorbt's 2 s import), the loop with rules (engine.sim.loop: one for every set of rules, the
session step passed to it), the rules' steps (each has its phase's one signature) and the caps'
water-filling. Meanwhile the run goes on as before: it loads the data, runs the pipeline and compiles
what it reaches. Whichever process reaches a kernel first compiles it; the other waits for it
(KernelCache.compiling) and loads it from the cache, so nothing is compiled twice and the run never
waits longer than it would have compiled. The child starts on the kernels the run reaches last.

The child is only a helper: the run never depends on it. It is not started when the kernels are
already cached, the cache folder cannot be written or the process may use one core; a child that
fails leaves the run compiling in-process. It ends when its work is done or when the run closes its
stdin (``Ahead.close``, or the run's process ending in any way, Ctrl-C included: the child sits in
its own session, so the terminal's Ctrl-C reaches only the run), never while writing a kernel
(kernel_cache.SAVING), and numba writes each cache file aside and renames it: no partial files.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Sequence

from numba import from_dtype, types

from engine.sim.kernel_cache import SAVING, kernel_folder
from engine.user_cache import cache_dir

ORDERS, LOOP, CAPS, STEP = "orders", "loop", "caps", "step="
_F, _I, _B = types.float64, types.int64, types.boolean
_V, _M = types.float64[::1], types.float64[:, ::1]


def _signatures() -> dict[str, list]:
    """(kernel, argument types as the run's compile sees them) per job: the loop's calls of the order kernels
    and the pipeline's call of the caps (tests/test_compile_ahead.py checks them against a run's)."""
    from engine.sim.cap_kernel import cap_rows_nb
    from engine.sim.orders import ORDER_DT, execute_nb, sells_first_nb

    records = types.Array(from_dtype(ORDER_DT), 1, "C")
    return {
        ORDERS: [(sells_first_nb, (_V, _V, _V, _I[::1])),
                 (execute_nb, (_I, _I, _F, _F, _F, _F, _F, _F, _F, _F, records, _I))],
        CAPS: [(cap_rows_nb, (_M, _V, _B[:, ::1], _V, _V, _B))],
    }


def jobs(steps: Sequence, caps: bool, rules: bool = True) -> list[str]:
    """The child's work for a run with ``rules`` or not, using the rules' ``steps`` (StatefulRule) and the
    caps or not, the kernels the run compiles last first: the order kernels, the loop with rules (it calls
    the session step through a pointer: it needs no step), the steps from last to first, the caps."""
    named = [f"{STEP}{rule.step if isinstance(rule.step, str) else _importable(rule.step)}:{rule.phase}"
             for rule in reversed(steps)]
    return [ORDERS, *([LOOP] if rules else []), *(job for job in named if job.count(":") == 2),
            *([CAPS] if caps else [])]


def _importable(function) -> str:
    """'module:function' when the child can import the step by name (else '', which jobs leaves out)."""
    if function.__module__ == "__main__" or "<" in function.__qualname__:
        return ""
    return f"{function.__module__}:{function.__qualname__}"


def compile_list(names: Sequence[str]) -> list:
    """(kernel, signature) of each job but LOOP, as compile takes them."""
    from engine.sim.rule_kernels import SIGNATURES, step_kernel
    from engine.sim.rule_layout import StatefulRule

    fixed, out = _signatures(), []
    for name in names:
        if name.startswith(STEP):
            module, function, phase = name[len(STEP):].split(":")
            # a declaration with the step and phase alone: all step_kernel reads
            rule = StatefulRule(function, phase, (), (), (), f"{module}:{function}", dict)
            out.append((step_kernel(rule), SIGNATURES[phase]))
        elif name != LOOP:
            out += fixed[name]
    return out


def _compile_loop() -> None:
    """The loop with rules, compiled for the argument types a run passes it: simulate one name over three
    sessions with no rule switched on (the types do not depend on the rules or the sizes)."""
    import numpy as np
    import pandas as pd

    from engine.sim.rule_layout import KernelLayout, KernelRules
    from engine.sim.simulate import ExecutionSettings, simulate

    close = pd.DataFrame({"A": [10.0, 11.0, 12.0]}, index=pd.bdate_range("2024-01-01", periods=3))
    targets = pd.DataFrame({"A": [1.0, np.nan, np.nan]}, index=close.index)
    none = KernelRules(KernelLayout(()), np.zeros((1, 0)), np.zeros((1, 0), dtype=np.bool_), np.zeros(0), ())
    simulate(targets, close, close, ExecutionSettings(), none)


class Ahead:
    """The child compiling ahead; ``close`` (or the ``with`` block's end) stops it."""

    def __init__(self, process: subprocess.Popen | None):
        self.process = process

    def __enter__(self) -> Ahead:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.process is None:
            return
        self.process.stdin.close()  # the child ends at once, or after the kernel it is writing
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


def start(steps: Sequence = (), caps: bool = False, rules: bool = False) -> Ahead:
    """The child compiling the kernels of ``jobs(steps, caps, rules)`` when some are not cached yet (an Ahead
    doing nothing when all are, or when a child would not help)."""
    if os.environ.get("RULEBOOK_COMPILE_AHEAD", "1") == "0" or len(os.sched_getaffinity(0)) < 2:
        return Ahead(None)
    names = jobs(steps, caps, rules)
    try:
        if not any(_missing(dispatcher, sig) for dispatcher, sig in compile_list(names)) or not _writable():
            return Ahead(None)
        env = {**os.environ, "RULEBOOK_CACHE_DIR": str(cache_dir()),
               "PYTHONPATH": os.pathsep.join(path or os.getcwd() for path in sys.path)}
        process = subprocess.Popen([sys.executable, "-m", __name__, *names], stdin=subprocess.PIPE, env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    except (OSError, ValueError):  # a step that does not load, no process to start: compile in-process
        return Ahead(None)
    return Ahead(process)


def _missing(dispatcher, sig) -> bool:
    return tuple(sig.args if hasattr(sig, "args") else sig) not in dispatcher.overloads and \
        not dispatcher._cache.cached(sig, dispatcher.targetctx.codegen())


def _writable() -> bool:
    folder = kernel_folder()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK)


def _end_with_parent() -> None:
    """Wait for the run to close stdin (or end), then exit, but never while a kernel is being written."""
    sys.stdin.buffer.read()
    with SAVING:
        os._exit(0)


def main(names: Sequence[str]) -> None:
    threading.Thread(target=_end_with_parent, daemon=True).start()
    failed = False
    for name in names:
        try:
            if name == LOOP:
                _compile_loop()
            for dispatcher, sig in compile_list([name]):
                dispatcher.compile(sig)
        except Exception:  # noqa: BLE001 - the run compiles it itself (or reports a step that does not load)
            failed = True
    os._exit(int(failed))  # every kernel is saved; no waiting at shutdown for the thread reading stdin

if __name__ == "__main__":
    main(sys.argv[1:])
