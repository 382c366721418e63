"""Order records: a book's buffer holds one order per decision and grows when its rules fill more
(engine.sim.loop.simulate_books), and every order is kept; checked against the plain-Python reference."""

from __future__ import annotations

import numba
import numpy as np
import pandas as pd
from staging_reference import reference_staged
from test_staging import PATH, TWO_STAGES, decide, frames

from engine.sim import loop
from engine.sim.simulate import ExecutionSettings, simulate_many
from strategies.profit_taking import ProfitTakingConfig
from strategies.staged_entry import StagedEntryConfig
from strategies.staging import compile_rules

SETTINGS = ExecutionSettings(fees_bps=5.0, slippage_bps=5.0)


def test_books_filling_more_orders_than_they_decided_keep_every_order_in_order():
    # two decisions (A and B on session 0); staged entry buys A in four tranches, profit-taking then sells
    # A in two stages and stops it out: A alone fills seven orders, more than the two the buffer holds
    open_, close = frames({"A": PATH * 2, "B": [100.0] * len(PATH) * 2})
    targets = decide(close, {0: {"A": 0.5, "B": 0.4}})
    staged = dict(staged_entry=StagedEntryConfig(tranches=4, every=2), profit_taking=ProfitTakingConfig(**TWO_STAGES))
    plain = dict(profit_taking=ProfitTakingConfig(stages=[dict(gain=10.0, sell=0.5)]))  # never fires: two buys
    books = [staged, plain, staged]  # the middle book fits its buffer: it runs once, and keeps its records
    results = simulate_many([targets] * 3, open_, close, SETTINGS,
                            [compile_rules(["A", "B"], {}, **rules) for rules in books])
    decided = int(np.isfinite(targets.to_numpy()).sum())
    assert len(results[0].orders) > decided >= len(results[1].orders)  # the buffer had to grow
    for result, rules in zip(results, books):
        equity, _, _, orders, _ = reference_staged(targets, open_, close, {}, **rules, fees_bps=5.0, slippage_bps=5.0)
        theirs = pd.DataFrame(orders)
        np.testing.assert_allclose(result.equity, equity, rtol=1e-9)
        assert list(result.orders.session) == list(theirs.session)
        assert list(result.orders.symbol) == list(theirs.symbol)
        np.testing.assert_allclose(result.orders.shares, theirs.shares, rtol=1e-9)
        np.testing.assert_allclose(result.orders.price, theirs.price, rtol=1e-12)
        assert list(result.order_records["id"]) == list(range(len(orders)))  # numbered as vectorbt does


def test_a_rerun_book_starts_again_from_its_initial_rule_state(monkeypatch):
    """The rerun restores the book's rule state: a grown run equals a run whose buffer was big enough."""
    open_, close = frames({"A": PATH * 2, "B": [100.0] * len(PATH) * 2})
    targets = decide(close, {0: {"A": 0.5, "B": 0.4}, 20: {"A": 0.3, "B": 0.6}})
    rules = compile_rules(["A", "B"], {}, staged_entry=StagedEntryConfig(tranches=4, every=2),
                          profit_taking=ProfitTakingConfig(**TWO_STAGES))
    grown = simulate_many([targets] * 2, open_, close, SETTINGS, [rules] * 2)
    calls = []

    def roomy(session, *args):  # one order per session and name: never grows
        at = loop.LOOP_ARGS.index("records")
        records = args[at]
        calls.append(records.shape)
        big = np.zeros((records.shape[0], len(close) * close.shape[1]), dtype=records.dtype)
        return loop.simulate_books(session, *args[:at], big, *args[at + 1:])

    monkeypatch.setattr("engine.sim.simulate.simulate_books", roomy)
    roomy_results = simulate_many([targets] * 2, open_, close, SETTINGS, [rules] * 2)
    assert calls and calls[0][1] < len(grown[0].orders)
    for ours, theirs in zip(grown, roomy_results):
        pd.testing.assert_series_equal(ours.equity, theirs.equity, check_exact=True)
        assert ours.order_records.tobytes() == theirs.order_records.tobytes()
        assert ours.rule_state.tobytes() == theirs.rule_state.tobytes()


def test_the_loop_arguments_are_declared_in_the_kernels_order():
    code = loop.books_kernel(None).py_func.__code__
    assert code.co_varnames[:code.co_argcount] == ("session_targets_nb", "books", "work", "call_seq", "forced", "group_scratch",
                                                   *loop.LOOP_ARGS)


def test_books_run_on_numbas_thread_count_and_the_result_does_not_depend_on_it(monkeypatch):
    open_, close = frames({"A": PATH * 2, "B": [100.0] * len(PATH) * 2})
    targets = [decide(close, {0: {"A": w, "B": 0.9 - w}, 15: {"A": 0.45, "B": 0.45}}) for w in (0.2, 0.5, 0.7)] * 3
    rules = [compile_rules(["A", "B"], {}, staged_entry=StagedEntryConfig(tranches=k, every=2),
                           profit_taking=ProfitTakingConfig(**TWO_STAGES)) for k in (2, 3, 4)] * 3
    runs = {}
    for n_threads in (1, 2, 3):
        monkeypatch.setattr(numba.config, "NUMBA_NUM_THREADS", n_threads)
        assert loop.threads() == n_threads
        runs[n_threads] = simulate_many(targets, open_, close, SETTINGS, rules)
    for books in (runs[2], runs[3]):
        for ours, theirs in zip(books, runs[1]):
            assert ours.equity.to_numpy().tobytes() == theirs.equity.to_numpy().tobytes()
            assert ours.order_records.tobytes() == theirs.order_records.tobytes()
