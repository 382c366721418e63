"""The simulation kernel's throughput against a tight loop doing the same per-cell arithmetic.

    python benchmarks/bench_kernel.py [N_VARIANTS]      # default 1000: the column job of issue 18

A sweep of N column variants simulates sessions x names x N cells ("updates"). This script runs the
sweep once (benchmarks/bench_variants.py's grid), captures the arguments of the kernel call and times
that call alone, several times, in CPU seconds (all threads). Beside it, a tight numba loop over the
same books, sessions and names does what every cell of a rebalancing book must do at least (value the
holding, compare its weight with the target, trade the difference, mark it at the close) with no rules,
no order records and no logs: the limit the kernel is measured against. Run on demand, never in the
tests; it prints CPU seconds, updates per second and the kernel's share of the limit.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from numba import njit, prange

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_variants import variant_config  # noqa: E402
from engine.config.variant_set import load_variants  # noqa: E402
from engine.sim import loop, simulate  # noqa: E402
from engine.sweep.compare import run_variants  # noqa: E402

REPEAT = 3


@njit(parallel=True, cache=True)
def tight_loop(due, fill_price, marks, n_books, band):  # pragma: no cover - compiled
    """Per book, session and name: value at the fill, weight vs target, trade the difference, mark."""
    n_sessions, n_names = marks.shape
    equity = np.empty((n_books, n_sessions))
    for book in prange(n_books):
        held = np.zeros(n_names)
        cash, value = 1e6, 1e6
        for i in range(1, n_sessions):
            for k in range(n_names):
                target, price = due[i, k], fill_price[i, k]
                if np.isfinite(target) and np.isfinite(price) and price > 0:
                    change = target - held[k] * price / value
                    if abs(change) > band:
                        shares = change * value / price
                        held[k] += shares
                        cash -= shares * price
            total = cash
            for k in range(n_names):
                if held[k] != 0.0 and np.isfinite(marks[i, k]):
                    total += held[k] * marks[i, k]
            equity[book, i] = total
            value = total
    return equity


def captured_kernel_call(n_variants: int) -> tuple:
    """Run the sweep once and return the arguments of its largest kernel call (engine.sim.loop.simulate_books),
    as they were before the call."""
    calls = []

    def capture(*args):
        calls.append(tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args))
        return loop.simulate_books(*args)

    simulate.simulate_books = capture
    with tempfile.TemporaryDirectory() as tmp:
        run_variants(load_variants(variant_config(n_variants, Path(tmp))), chunk=n_variants)  # one simulation
    simulate.simulate_books = loop.simulate_books
    return max(calls, key=lambda call: sum(a.size for a in call if isinstance(a, np.ndarray)))


def cpu_seconds(run, setup=lambda: ()) -> float:
    """Median CPU time (all threads) of REPEAT runs of ``run(*setup())`` (setup not timed)."""
    times = []
    for _ in range(REPEAT):
        inputs = setup()
        began = time.process_time()
        run(*inputs)
        times.append(time.process_time() - began)
    return float(np.median(times))


def main() -> None:
    n_variants = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    args = captured_kernel_call(n_variants)
    first = next(j for j, a in enumerate(args) if isinstance(a, int))  # n_names (after the session step, if any)
    n_names, due, due_from, fill_price, marks = args[first:first + 5]
    n_books, n_sessions = len(due_from), marks.shape[0]
    updates = n_books * n_sessions * n_names

    def fresh_inputs():  # the kernel writes its state, logs, records and outputs in place
        return tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)

    loop.simulate_books(*fresh_inputs())  # compiled or loaded before timing
    kernel = cpu_seconds(loop.simulate_books, fresh_inputs)
    decisions = np.ascontiguousarray(due[:, :n_names])
    tight_loop(decisions, fill_price, marks, n_books, 0.0)
    limit = cpu_seconds(lambda: tight_loop(decisions, fill_price, marks, n_books, 0.0))
    print(f"{n_books} books x {n_sessions} sessions x {n_names} names = {updates / 1e6:.1f} M updates")
    print(f"rulebook kernel : {kernel:6.2f} s CPU  {updates / kernel / 1e6:7.1f} M updates/s")
    print(f"tight loop      : {limit:6.2f} s CPU  {updates / limit / 1e6:7.1f} M updates/s")
    print(f"kernel / limit  : {limit / kernel:6.1%}")


if __name__ == "__main__":
    main()
