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

The loop is compiled once, the session step passed to it (``books_kernel``; a run without rules gets one
with no rule code), and cached on disk. Books share nothing but read-only inputs,
so threads run them on every core (the loop releases the GIL) and the result does not depend on
the thread count. Each book has its own order-record and rule-log buffers. The prices (and the decisions of books that share them) are
stored once, not once per book: every book reads the same rows, which stay in cache.

The loop is compiled without numba's reference counting (``_nrt=False``) and allocates nothing (each
thread's buffers come from ``_workspace``): with it, every array passed to the session step and the
rules' steps was an atomic increment and decrement of a counter all threads share, about half of the
kernel's time. The arrays it passes on carry no counter, so the kernels it calls (compiled with the
runtime, kernel_cache.kernel) skip theirs too.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from numba import types

from engine.sim.kernel_cache import kernel

from engine.sim.rule_kernels import record_fill_nb
from engine.sim.rule_layout import N_SCRATCH
from engine.sim.orders import buy_scale_nb, execute_nb, rebalance_shares_nb, sells_first_nb


def simulate_books(session, *args) -> np.ndarray:
    """The book loop of ``session`` (books_kernel) over every book (``args`` as the loop's, without
    ``books`` and the workspace), the books shared out among threads (``threads()``).

    Returns the order records: ``records``, or, when a book filled more orders than its row of
    ``records`` holds, a buffer with room for every order, where those books ran again from their start
    (books share nothing, so a rerun is the same simulation). The caller can therefore size ``records``
    to the orders a book usually places instead of one per session and name."""
    simulate_books_nb = _entry(books_kernel(session), session, args)
    n_names, n_books = args[0], len(args[2])
    state, log_counts, records, record_counts = (args[_ARG[name]] for name in
                                                 ("state", "log_counts", "records", "record_counts"))
    state_at_start = state.copy()
    _run_books(simulate_books_nb, np.arange(n_books), args)
    overflow = np.flatnonzero(record_counts > records.shape[1])
    if not len(overflow):
        return records
    grown = np.zeros((n_books, int(record_counts.max())), dtype=records.dtype)  # rows never written cost no memory
    kept = np.setdiff1d(np.arange(n_books), overflow)
    grown[kept, :records.shape[1]] = records[kept]
    for book in overflow:
        columns = slice(book * n_names, (book + 1) * n_names)
        state[columns], log_counts[book] = state_at_start[columns], 0
    _run_books(simulate_books_nb, overflow, (*args[:_ARG['records']], grown, *args[_ARG['records'] + 1:]))
    return grown


def threads() -> int:
    """Threads the books run on: numba's thread count (``NUMBA_NUM_THREADS``, else the cores this
    process may run on), so a user's or a Dask worker's limit holds."""
    return max(1, numba.config.NUMBA_NUM_THREADS)


def _entry(simulate_books_nb, session, args: tuple):
    """The loop compiled (or loaded) for these arguments' types, as a function of the books and the workspace.
    The session step is passed to it as a function pointer (SESSION_STEP): the loop is one compile for every
    set of rules, independent of the session step, so another process can compile it meanwhile
    (engine.sim.compile_ahead), and its LLVM module does not take in and re-optimise the session's and the
    rules' steps' code. The step is called once per book and session: the pointer costs nothing measurable."""
    step = _no_rules_nb if session is None else session.targets
    step.compile(SESSION_STEP.signature)
    signature = (SESSION_STEP, *(numba.typeof(a) for a in (np.arange(1), *_workspace(1, 1), *args)))
    simulate_books_nb.compile(signature)
    entry = simulate_books_nb.overloads[signature].entry_point  # not the dispatcher: it would specialise on `step`
    return lambda books, *rest: entry(step, books, *rest)


def _run_books(simulate_books_nb, books: np.ndarray, args: tuple) -> None:
    """``books`` shared out round-robin among up to threads() threads, each with its own workspace;
    one book runs in the calling thread (a single run has nothing to share out)."""
    n_names, n_groups = args[0], len(args[_ARG['group_cap']])
    n_threads = min(threads(), len(books))
    if n_threads <= 1:
        simulate_books_nb(books, *_workspace(n_names, n_groups), *args)
        return
    with ThreadPoolExecutor(n_threads) as pool:
        list(pool.map(lambda t: simulate_books_nb(np.ascontiguousarray(books[t::n_threads]),
                                                *_workspace(n_names, n_groups), *args), range(n_threads)))


def _workspace(n_names: int, n_groups: int) -> tuple:
    """One thread's buffers: rows of per-name numbers (N_WORK, then the session step's N_SCRATCH), the
    sell-first order, the rule-forced flags, one number per capped group. The loop allocates nothing."""
    return (np.zeros((N_WORK + N_SCRATCH, n_names)), np.zeros(n_names, dtype=np.int64),
            np.zeros(n_names, dtype=np.bool_), np.zeros(n_groups))


N_WORK = 6  # val_price, size_price, order_shares, order_value, target, held
# the loop's arguments after ``books`` and the workspace (simulate_books passes them on as given)
LOOP_ARGS = ("n_names", "due", "due_from", "fill_price", "marks", "init_cash", "start", "start_held", "fees",
             "slippage", "band", "size_at_decision", "rules", "members", "group_cap", "gross_limit", "no_buy",
             "state", "resets", "logs", "log_counts", "records", "record_counts", "equity", "cash_out", "position",
             "buy_scale")
_ARG = {name: k for k, name in enumerate(LOOP_ARGS)}


_M, _V = types.float64[:, ::1], types.float64[::1]
_BM, _BV, _I8 = types.boolean[:, ::1], types.boolean[::1], types.int64
# the session step as the loop calls it (engine.sim.session_step.session_targets_nb's arguments, in order)
SESSION_STEP = types.FunctionType(types.void(_I8, _I8, _I8, _V, _V, _M, _M, types.float64, types.float64, _M, _I8, _BM,
                                             types.float64, _M, _BM, _V, _M, _BV, _M, types.int64[::1], _V, _BV, _M, _V))
_LOOPS: dict[str, object] = {}


def books_kernel(session):
    """The compiled book loop for ``session`` (engine.sim.session_step.SessionStep, passed to it when it runs;
    None = no rules: the loop follows the decisions and compiles no rule code), built once per process and
    cached on disk: one loop with rules serves every set of rules."""
    key = "no rules" if session is None else "rules"
    if key not in _LOOPS:
        _LOOPS[key] = _books_kernel(session, key)
    return _LOOPS[key]


def _books_kernel(session, key: str):
    use_rules = session is not None
    record_fill = record_fill_nb if use_rules else _no_fill_nb

    def simulate_books_nb(session_targets_nb, books, work, call_seq, forced, group_scratch, n_names, due, due_from, fill_price, marks,
                          init_cash, start, start_held, fees, slippage, band, size_at_decision, rules, members,
                          group_cap, gross_limit, no_buy, state, resets, logs, log_counts, records, record_counts,
                          equity, cash_out, position, buy_scale):
        """With the session step ``session_targets_nb`` (SESSION_STEP), simulate the ``books`` (of
        ``len(due_from)``) of ``n_names`` names on shared prices (``fill_price``,
        ``marks``: sessions x names). Book b's decisions are columns ``due_from[b]`` onwards of ``due``; its
        names are columns ``b * n_names`` onwards of the per-column inputs (``rules``: the packed parameters
        of the books' KernelRules, ``members``, ``no_buy``, ``state``) and of ``position``. ``resets``: the
        state columns reset when a name goes flat and when a decision is satisfied. Fills
        ``records``/``record_counts`` (the count goes on past a full row: see simulate_books),
        ``logs``/``log_counts``, ``state`` and the per-close outputs
        ``equity``, ``cash_out``, ``buy_scale`` (books x sessions) and ``position`` (books x sessions x
        names): book-major, so two threads never write to one cache line. Every book starts at the close
        of session ``start`` holding ``start_held`` shares per name and ``init_cash`` (start 0 and no
        shares: a new book); it first trades the session after, and the outputs before ``start`` are left
        as the caller filled them. ``work`` … ``group_scratch``: this thread's buffers (_workspace)."""
        val_price, size_price, order_shares, order_value = work[0], work[1], work[2], work[3]  # per name
        target, held, scratch = work[4], work[5], work[N_WORK:]
        for book in books:
            from_col, from_due, log, log_count = book * n_names, due_from[book], logs[book], log_counts[book]
            book_records, book_equity = records[book], equity[book]
            _copy_nb(held, start_held)
            val_price[:], size_price[:] = np.nan, np.nan
            cash, n_records = init_cash, start - start  # an int64, not the literal 0 (one signature of execute_nb)
            for i in range(start, due.shape[0]):
                buy_scale[book, i] = 1.0
                if i > start and (use_rules or _has_decision_nb(due[i, from_due:from_due + n_names])):
                    value = _value_at_fill_nb(i, cash, held, val_price, fill_price, marks)
                    size_value = _sizing_nb(i, size_at_decision, value, book_equity, val_price, marks, size_price)
                    order_shares[:] = 0.0
                    n_orders = 0
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
                                n_orders += order_shares[k] != 0.0
                    if n_orders > 0:  # most sessions of a book with rules have none: nothing to sort or run
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

    return kernel(simulate_books_nb, key=key, nogil=True, _nrt=False)


@kernel(_nrt=False)
def _no_rules_nb(i, from_col, to_col, position, val_price, fill_price, marks, cash, equity, due, due_from, no_buy,
                 gross_limit, rules, members, group_cap, state, reset_satisfied, log, log_count, target, forced,
                 scratch, group_scratch):
    """The session step passed to a loop without rules (never called)."""


@kernel(inline="always")
def _no_fill_nb(state, col, is_buy, size, price, fees, position_before, position_now, reset_flat):
    """The fill step of a loop without rules (never called)."""


@kernel(inline="always")
def _copy_nb(out, values):
    """out[:] = values, which would allocate (numba copies a source that may overlap): the loop allocates nothing."""
    for k in range(out.shape[0]):
        out[k] = values[k]


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
        _copy_nb(size_price, val_price)
        return value
    if i == 0:
        return 0.0  # no decision before the first session
    _copy_nb(size_price, marks[i - 1])
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
