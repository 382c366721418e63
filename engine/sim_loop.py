"""The compiled simulation loop: every book, every session, in numba, books in parallel.

A book is ``n_names`` adjacent columns with one cash account. At session i:

1. value the book at i's fill prices (a name without one keeps the last close);
2. with rules, engine.rule_kernels decides each name's target from the close of i-1;
   without, the target is the decision row ``due[i]`` (sessions with no decision are
   skipped, as nothing can trade);
3. size each order from that equity (engine.sim_kernels.rebalance_shares_nb), run sells
   before buys, and execute each through vectorbt's ``process_order_nb``;
4. mark the book at i's closes: equity, cash and shares held.

Books share nothing but read-only inputs, so ``prange`` runs them on every core and
the result does not depend on the thread count. Each book has its own order-record
and rule-log buffers.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from engine.rule_kernels import N_SCRATCH, record_fill_nb, session_targets_nb
from engine.sim_kernels import execute_nb, rebalance_shares_nb, sells_first_nb


@njit(cache=True, parallel=True)
def simulate_books_nb(n_names, due, fill_price, marks, init_cash, fees, slippage, band, use_rules, rules, members,
                      group_cap, gross_limit, no_buy, state, logs, log_counts, records, record_counts, no_logs,
                      equity, cash, position):
    """Simulate ``due.shape[1] // n_names`` books; fills ``records``/``record_counts``, ``logs``/``log_counts``,
    ``state`` and the per-close outputs ``equity``, ``cash`` (sessions x books) and ``position`` (sessions x
    columns). ``rules``, ``members``, ``group_cap``: engine.rule_kernels.pack of the books' RuleParams.
    ``no_logs`` is an empty vectorbt log-record array: orders are not logged."""
    n_books = due.shape[1] // n_names
    for book in prange(n_books):
        record_counts[book] = _run_book_nb(book, n_names, due, fill_price, marks, init_cash, fees, slippage, band,
                                           use_rules, rules, members, group_cap, gross_limit, no_buy, state,
                                           logs[book], log_counts[book], records[book], no_logs, equity, cash,
                                           position)


@njit(cache=True)
def _run_book_nb(book, n_names, due, fill_price, marks, init_cash, fees, slippage, band, use_rules, rules, members,
                 group_cap, gross_limit, no_buy, state, log, log_count, records, no_logs, equity, cash_out,
                 position_out):
    """One book over every session; returns the number of order records written."""
    from_col, to_col = book * n_names, (book + 1) * n_names
    n_cols = due.shape[1]
    held = np.zeros(n_cols)  # shares, indexed by the global column like every input
    val_price = np.full(n_cols, np.nan)
    order_shares, order_value = np.zeros(n_names), np.empty(n_names)
    call_seq = np.empty(n_names, dtype=np.int64)
    target, forced = np.empty(n_names), np.zeros(n_names, dtype=np.bool_)
    scratch = np.empty((N_SCRATCH, n_names))
    cash, n_records = init_cash, 0
    for i in range(due.shape[0]):
        if use_rules or _has_decision_nb(due, i, from_col, to_col):
            value = _value_at_fill_nb(i, from_col, to_col, cash, held, val_price, fill_price, marks)
            order_shares[:] = 0.0
            if value > 0.0 and (not use_rules or i > 0):
                if use_rules:
                    session_targets_nb(i, from_col, to_col, held, val_price, fill_price, marks, cash, value, due,
                                       no_buy, gross_limit[i], rules, members, group_cap, state, log, log_count,
                                       target, forced, scratch)
                for k in range(n_names):
                    col = from_col + k
                    wanted = target[k] if use_rules else due[i, col]
                    order_shares[k] = rebalance_shares_nb(wanted, held[col], fill_price[i, col], value,
                                                          0.0 if use_rules and forced[k] else band)
            sells_first_nb(order_shares, val_price[from_col:to_col], order_value, call_seq)
            for k in call_seq:
                if order_shares[k] == 0.0:
                    continue
                col = from_col + k
                before = held[col]
                filled, is_buy, size, price, fee, cash, held[col], n_records = execute_nb(
                    i, col, book, order_shares[k], fill_price[i, col], fees, slippage, cash, before, val_price[col],
                    value, records, n_records, no_logs)
                if filled and use_rules:
                    record_fill_nb(state, col, is_buy, size, price, fee, before, held[col])
        total = cash
        for col in range(from_col, to_col):
            position_out[i, col] = held[col]
            if held[col] != 0.0:
                total += held[col] * marks[i, col]
        equity[i, book], cash_out[i, book] = total, cash
    return n_records


@njit(cache=True)
def _has_decision_nb(due, i, from_col, to_col):
    for col in range(from_col, to_col):
        if not np.isnan(due[i, col]):
            return True
    return False


@njit(cache=True)
def _value_at_fill_nb(i, from_col, to_col, cash, held, val_price, fill_price, marks):
    """Set each name's valuation price (the fill price, else the last close) and return the book's value."""
    value = cash
    for col in range(from_col, to_col):
        price = fill_price[i, col]
        if np.isfinite(price):
            val_price[col] = price
        elif i > 0:
            val_price[col] = marks[i - 1, col]
        if held[col] != 0.0:
            value += held[col] * val_price[col]
    return value
