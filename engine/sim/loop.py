"""The compiled simulation loop: every book, every session, in numba, books in parallel threads.

A book is ``n_names`` adjacent columns with one cash account. At session i:

1. value the book at i's fill prices (a name without one keeps the last close);
2. with rules, engine.sim.rule_kernels decides each name's target from the close of i-1;
   without, the target is the decision row ``due[i]`` (sessions with no decision are
   skipped, as nothing can trade);
3. size each order (engine.sim.orders.rebalance_shares_nb): with ``size_at_decision``
   from the close of i-1 (shares and the band from i-1's closes and equity, the order
   a trader sends that evening), else from the fill prices and the equity at them;
4. run sells before buys and execute each through vectorbt's ``process_order_nb``;
   with ``size_at_decision``, when the cash left after the sells cannot pay for every
   buy at the fill, all buys are scaled down by one factor (``buy_scale[i]``);
5. mark the book at i's closes: equity, cash and shares held.

Books share nothing but read-only inputs, so threads run them on every core (the loop
releases the GIL) and the result does not depend on the thread count. Threads, not numba's
``prange``: the rules' steps are passed in as first-class functions, which a parallel loop
cannot take. Each book has its own order-record
and rule-log buffers. The prices (and the decisions of books that share them) are
stored once, not once per book: every book reads the same rows, which stay in cache.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from engine.sim.kernel_cache import kernel

from engine.sim.rule_kernels import record_fill_nb, session_targets_nb
from engine.sim.rule_layout import N_SCRATCH
from engine.sim.orders import buy_scale_nb, execute_nb, rebalance_shares_nb, sells_first_nb


def simulate_books(*args) -> None:
    """simulate_books_nb over every book, the books shared out among up to os.cpu_count() threads
    (``args`` as simulate_books_nb's, without ``books``). One book runs in the calling thread: a single
    run compiles no thread-pool wrapper and has nothing to share out."""
    n_books = len(args[2])
    n_threads = max(1, min(os.cpu_count() or 1, n_books))
    if n_threads == 1:
        simulate_books_nb(np.arange(n_books), *args)
        return
    with ThreadPoolExecutor(n_threads) as pool:
        list(pool.map(lambda t: simulate_books_nb(np.arange(t, n_books, n_threads), *args), range(n_threads)))


@kernel(nogil=True)
def simulate_books_nb(books, n_names, due, due_from, fill_price, marks, init_cash, start, start_held, fees, slippage,
                      band, size_at_decision, use_rules, rules, members, group_cap, gross_limit, no_buy, state, resets, steps,
                      logs, log_counts, records, record_counts, equity, cash, position, buy_scale):
    """Simulate the ``books`` (of ``len(due_from)``) of ``n_names`` names on shared prices (``fill_price``, ``marks``:
    sessions x names). Book b's decisions are columns ``due_from[b]`` onwards of ``due``; its names are
    columns ``b * n_names`` onwards of the per-column inputs (``rules``: the packed parameters of the books'
    KernelRules, ``members``, ``no_buy``, ``state``) and of ``position``. ``resets``: the state columns reset
    when a name goes flat and when a decision is satisfied; ``steps``: the compiled rule steps and their
    offsets per phase (engine.sim.rule_layout.KernelLayout). Fills ``records``/``record_counts``,
    ``logs``/``log_counts``, ``state`` and the per-close outputs ``equity``, ``cash``, ``buy_scale``
    (books x sessions) and ``position`` (books x sessions x names): book-major,
    so two threads never write to one cache line. Every book starts at the close of session ``start`` holding ``start_held``
    shares per name and ``init_cash`` (start 0 and no shares: a new book); it first trades the session
    after, and the outputs before ``start`` are left as the caller filled them."""
    for book in books:
        record_counts[book] = _run_book_nb(book, n_names, due, due_from[book], fill_price, marks, init_cash, start,
                                           start_held, fees, slippage, band, size_at_decision, use_rules, rules, members, group_cap,
                                           gross_limit, no_buy, state, resets, steps, logs[book], log_counts[book],
                                           records[book], equity[book], cash[book], position[book],
                                           buy_scale[book])


@kernel
def _run_book_nb(book, n_names, due, due_from, fill_price, marks, init_cash, start, start_held, fees, slippage, band,
                 size_at_decision, use_rules, rules, members, group_cap, gross_limit, no_buy, state, resets, steps, log, log_count, records,
                 equity, cash_out, position_out, buy_scale):
    """One book over every session; returns the number of order records written."""
    from_col, to_col = book * n_names, (book + 1) * n_names
    held, val_price = start_held.copy(), np.full(n_names, np.nan)  # shares and valuation price per name
    size_price = np.full(n_names, np.nan)  # the price orders are sized at (fill or decision close)
    order_shares, order_value = np.zeros(n_names), np.empty(n_names)
    call_seq = np.empty(n_names, dtype=np.int64)
    target, forced = np.empty(n_names), np.zeros(n_names, dtype=np.bool_)
    scratch, group_scratch = np.empty((N_SCRATCH, n_names)), np.empty(group_cap.shape[0])
    cash, n_records = init_cash, start - start  # an int64, not the literal 0 (one signature of execute_nb)
    for i in range(start, due.shape[0]):
        buy_scale[i] = 1.0
        if i > start and (use_rules or _has_decision_nb(due[i, due_from:due_from + n_names])):
            value = _value_at_fill_nb(i, cash, held, val_price, fill_price, marks)
            size_value = _sizing_nb(i, size_at_decision, value, equity, val_price, marks, size_price)
            order_shares[:] = 0.0
            if size_value > 0.0 and (not use_rules or i > 0):
                if use_rules:
                    session_targets_nb(i, from_col, to_col, held, size_price, fill_price, marks, cash, size_value,
                                       due, due_from, no_buy, gross_limit[i], rules, members, group_cap, state,
                                       resets[1], log, log_count, target, forced, scratch, group_scratch, steps[0],
                                       steps[1], steps[2], steps[3], steps[4], steps[5])
                for k in range(n_names):
                    wanted = target[k] if use_rules else due[i, due_from + k]
                    if np.isfinite(fill_price[i, k]):
                        order_shares[k] = rebalance_shares_nb(wanted, held[k], size_price[k], size_value,
                                                              0.0 if use_rules and forced[k] else band)
            sells_first_nb(order_shares, val_price, order_value, call_seq)
            scaled = not size_at_decision  # sizing at the fill: vectorbt's convention, the last buy is cut
            for k in call_seq:
                if order_shares[k] == 0.0:
                    continue
                if order_shares[k] > 0.0 and not scaled:  # the sells are done: fit the buys into the cash
                    buy_scale[i] = buy_scale_nb(order_shares, fill_price[i], fees, slippage, cash)
                    scaled = True
                before = held[k]
                filled, is_buy, size, price, fee, cash, held[k], n_records = execute_nb(
                    i, from_col + k, order_shares[k], fill_price[i, k], fees, slippage, cash, before,
                    val_price[k], value, records, n_records)
                if filled and use_rules:
                    record_fill_nb(state, from_col + k, is_buy, size, price, fee, before, held[k], resets[0])
        total = cash
        for k in range(n_names):
            position_out[i, k] = held[k]
            if held[k] != 0.0:
                total += held[k] * marks[i, k]
        equity[i], cash_out[i] = total, cash
    return n_records


@kernel
def _has_decision_nb(row):
    for value in row:
        if not np.isnan(value):
            return True
    return False


@kernel
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


@kernel
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
