"""The compiled simulation loop: every book, every session, in numba, books in parallel threads.

A book is ``n_names`` adjacent columns with one cash account. At session i:

1. value the book at i's fill prices (a name without one keeps the last close);
2. with rules, the session step (engine.sim.session_step, composed from the rules the run
   uses) decides each name's target from the close of i-1; without, the target is the
   decision row ``due[i]`` (sessions with no decision are skipped, as nothing can trade);
3. size each order (engine.sim.orders.rebalance_shares_nb): with ``size_at_decision``
   from the close of i-1 (shares and the band from i-1's closes and equity, the order
   a trader sends that evening), else from the fill prices and the equity at them;
4. run sells before buys and execute each through vectorbt's ``execute_order_nb``;
   with ``size_at_decision``, when the cash left after the sells cannot pay for every
   buy at the fill, all buys are scaled down by one factor (``buy_scale[i]``);
5. mark the book at i's closes: equity, cash and shares held.

The loop is compiled once per session step (``books_kernel``; a run without rules gets one with
no rule code) and cached on disk under the step's key. Books share nothing but read-only inputs,
so threads run them on every core (the loop releases the GIL) and the result does not depend on
the thread count. Each book has its own order-record and rule-log buffers. The prices (and the decisions of books that share them) are
stored once, not once per book: every book reads the same rows, which stay in cache.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from engine.sim.kernel_cache import kernel

from engine.sim.rule_kernels import record_fill_nb
from engine.sim.rule_layout import N_SCRATCH
from engine.sim.orders import buy_scale_nb, execute_nb, rebalance_shares_nb, sells_first_nb


def simulate_books(session, *args) -> None:
    """The book loop of ``session`` (books_kernel) over every book, the books shared out among up to
    os.cpu_count() threads (``args`` as the loop's, without ``books``). One book runs in the calling
    thread: a single run has nothing to share out."""
    simulate_books_nb = books_kernel(session)
    n_books = len(args[2])
    n_threads = max(1, min(os.cpu_count() or 1, n_books))
    if n_threads == 1:
        simulate_books_nb(np.arange(n_books), *args)
        return
    with ThreadPoolExecutor(n_threads) as pool:
        list(pool.map(lambda t: simulate_books_nb(np.arange(t, n_books, n_threads), *args), range(n_threads)))


_LOOPS: dict[str, object] = {}


def books_kernel(session):
    """The compiled book loop around ``session`` (engine.sim.session_step.SessionStep; None = no rules:
    the loop follows the decisions and compiles no rule code), built once per process and cached on disk
    under the session's key."""
    key = "no rules" if session is None else session.key
    if key not in _LOOPS:
        _LOOPS[key] = _books_kernel(session, key)
    return _LOOPS[key]


def _books_kernel(session, key: str):
    use_rules = session is not None
    session_targets_nb = session.targets if use_rules else _no_rules_nb
    record_fill = record_fill_nb if use_rules else _no_fill_nb

    def simulate_books_nb(books, n_names, due, due_from, fill_price, marks, init_cash, start, start_held, fees,
                          slippage, band, size_at_decision, rules, members, group_cap, gross_limit, no_buy, state,
                          resets, logs, log_counts, records, record_counts, equity, cash_out, position, buy_scale):
        """Simulate the ``books`` (of ``len(due_from)``) of ``n_names`` names on shared prices (``fill_price``,
        ``marks``: sessions x names). Book b's decisions are columns ``due_from[b]`` onwards of ``due``; its
        names are columns ``b * n_names`` onwards of the per-column inputs (``rules``: the packed parameters
        of the books' KernelRules, ``members``, ``no_buy``, ``state``) and of ``position``. ``resets``: the
        state columns reset when a name goes flat and when a decision is satisfied. Fills
        ``records``/``record_counts``, ``logs``/``log_counts``, ``state`` and the per-close outputs
        ``equity``, ``cash_out``, ``buy_scale`` (books x sessions) and ``position`` (books x sessions x
        names): book-major, so two threads never write to one cache line. Every book starts at the close
        of session ``start`` holding ``start_held`` shares per name and ``init_cash`` (start 0 and no
        shares: a new book); it first trades the session after, and the outputs before ``start`` are left
        as the caller filled them."""
        val_price, size_price = np.empty(n_names), np.empty(n_names)  # valuation price, sizing price per name
        order_shares, order_value = np.zeros(n_names), np.empty(n_names)
        call_seq = np.empty(n_names, dtype=np.int64)
        target, forced = np.empty(n_names), np.zeros(n_names, dtype=np.bool_)
        scratch, group_scratch = np.empty((N_SCRATCH, n_names)), np.empty(group_cap.shape[0])
        for book in books:
            from_col, from_due, log, log_count = book * n_names, due_from[book], logs[book], log_counts[book]
            held, book_records, book_equity = start_held.copy(), records[book], equity[book]
            val_price[:], size_price[:] = np.nan, np.nan
            cash, n_records = init_cash, start - start  # an int64, not the literal 0 (one signature of execute_nb)
            for i in range(start, due.shape[0]):
                buy_scale[book, i] = 1.0
                if i > start and (use_rules or _has_decision_nb(due[i, from_due:from_due + n_names])):
                    value = _value_at_fill_nb(i, cash, held, val_price, fill_price, marks)
                    size_value = _sizing_nb(i, size_at_decision, value, book_equity, val_price, marks, size_price)
                    order_shares[:] = 0.0
                    if size_value > 0.0 and (not use_rules or i > 0):
                        if use_rules:
                            session_targets_nb(i, from_col, from_col + n_names, held, size_price, fill_price, marks,
                                               cash, size_value, due, from_due, no_buy, gross_limit[i], rules,
                                               members, group_cap, state, resets[1], log, log_count, target, forced,
                                               scratch, group_scratch)
                        for k in range(n_names):
                            wanted = target[k] if use_rules else due[i, from_due + k]
                            if np.isfinite(fill_price[i, k]):
                                order_shares[k] = rebalance_shares_nb(wanted, held[k], size_price[k], size_value,
                                                                      0.0 if use_rules and forced[k] else band)
                    sells_first_nb(order_shares, val_price, order_value, call_seq)
                    scaled = not size_at_decision  # sizing at the fill: vectorbt's convention, the last buy is cut
                    for k in call_seq:
                        if order_shares[k] == 0.0:
                            continue
                        if order_shares[k] > 0.0 and not scaled:  # the sells are done: fit the buys into the cash
                            buy_scale[book, i] = buy_scale_nb(order_shares, fill_price[i], fees, slippage, cash)
                            scaled = True
                        before = held[k]
                        filled, is_buy, size, price, fee, cash, held[k], n_records = execute_nb(
                            i, from_col + k, order_shares[k], fill_price[i, k], fees, slippage, cash, before,
                            val_price[k], value, book_records, n_records)
                        if filled and use_rules:
                            record_fill(state, from_col + k, is_buy, size, price, fee, before, held[k], resets[0])
                total = cash
                for k in range(n_names):
                    position[book, i, k] = held[k]
                    if held[k] != 0.0:
                        total += held[k] * marks[i, k]
                book_equity[i], cash_out[book, i] = total, cash
            record_counts[book] = n_records

    return kernel(simulate_books_nb, key=key, nogil=True)


@kernel(inline="always")
def _no_rules_nb(i, from_col, to_col, position, val_price, fill_price, marks, cash, equity, due, due_from, no_buy,
                 gross_limit, rules, members, group_cap, state, reset_satisfied, log, log_count, target, forced,
                 scratch, group_scratch):
    """The session step of a loop without rules (never called)."""


@kernel(inline="always")
def _no_fill_nb(state, col, is_buy, size, price, fees, position_before, position_now, reset_flat):
    """The fill step of a loop without rules (never called)."""


@kernel(inline="always")
def _has_decision_nb(row):
    for value in row:
        if not np.isnan(value):
            return True
    return False


@kernel(inline="always")
def _sizing_nb(i, size_at_decision, value, equity, val_price, marks, size_price):
    """Set the price each order is sized at and return the equity it is sized on: the close of
    i-1 and the equity marked there (known at the decision), or the fill prices and ``value``."""
    if not size_at_decision:
        size_price[:] = val_price
        return value
    if i == 0:
        return 0.0  # no decision before the first session
    size_price[:] = marks[i - 1]
    return equity[i - 1]


@kernel(inline="always")
def _value_at_fill_nb(i, cash, held, val_price, fill_price, marks):
    """Set each name's valuation price (the fill price, else the last close) and return the book's value."""
    value = cash
    for k in range(held.shape[0]):
        price = fill_price[i, k]
        if np.isfinite(price):
            val_price[k] = price
        elif i > 0:
            val_price[k] = marks[i - 1, k]
        if held[k] != 0.0:
            value += held[k] * val_price[k]
    return value
