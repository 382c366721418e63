"""Turn target weights into fills, cash and equity (orders execute through vectorbt).

The execution convention lives here and nowhere else, so no strategy can get it
wrong: the decision in row t (made at the close of t) fills at the open of t+1
(``next_open``) or the close of t+1 (``next_close``); a decision on the last
session never fills.

Orders are fixed when they are decided (``size_at="decision"``, the default): at the
close of t each order's share count is worked out from that close, as a market-on-open
order sent the evening before: equity = cash + holdings at t's closes (the last known
price where a close is missing), shares = target x equity / close of t - shares held,
and a name whose weight at t's closes would move by less than ``min_trade_weight`` is
not traded (a move of at most 1e-9 of equity never is: float noise), so re-applying the
same targets trades nothing. At t+1 the orders fill at the fill price, sells before buys
so that buys are funded by the sells; if the cash left then cannot pay for every buy
(fees on a 100%-invested target, a gap up at the open, targets summing past 1), all buys
are scaled down by one factor, so cash never goes negative and no name is short of its
peers. ``size_at="fill"`` sizes at the fill instead (equity and shares at t+1's fill
prices, the band judged there), and a buy lacking cash is filled partially with what is
left, buys running from the smallest to the largest order, so the shortfall lands on
the largest buy: that is how bt and vectorbt's target-percent orders work, and what the
tests against them use. Long only: a sell never exceeds the holding and a negative
target is an error. Names whose fill price is NaN (not listed yet, delisted) are not
traded that session: the listing calendar is known in advance.

Costs: a buy fills at price x (1 + slippage), a sell at price x (1 - slippage), and
the fee is fees_bps/1e4 of the notional at that slipped price. The book is marked at
each close at the last known price (the close, else that session's open, else the
previous mark); that frame is ``SimResult.marks`` (engine.sim.result).

With ``rules`` (engine.sim.rule_layout.KernelRules) every session runs through the
stateful rules (profit-taking, re-entry, staged entry, cap drift trims), which decide
on the close of t-1 and fill at t like any order; what they did is ``kernel_log``.

``simulate_many`` runs several books on the same prices in one compiled loop
(engine.sim.loop: columns = books x symbols, each book with its own cash, books in
parallel on every core): rule variants are simulated together, and each book's
result equals its own ``simulate``. Each order goes through vectorbt's
``process_order_nb`` and is kept as a vectorbt order record, and
``SimResult.portfolio`` rebuilds the book as a vectorbt Portfolio from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from engine.sim import rule_layout
from engine.sim.loop import simulate_books
from engine.sim.orders import ORDER_DT
from engine.sim.result import SimResult
from engine.sim.rule_layout import KernelRules
from engine.sim.session_step import session_step

FILL_MODES = ("next_open", "next_close")
SIZE_AT = ("decision", "fill")


@dataclass(frozen=True)
class ExecutionSettings:
    """How orders fill: at which price, at what cost, and how small a trade is skipped."""

    fill: Literal["next_open", "next_close"] = "next_open"
    fees_bps: float = 0.0  # fee on traded notional (at the slipped price), basis points
    slippage_bps: float = 0.0  # fill price moved against the trade by this many bps
    min_trade_weight: float = 0.0  # rebalance band, fraction of equity
    init_cash: float = 1_000_000.0
    size_at: Literal["decision", "fill"] = "decision"  # share counts fixed at the decision close, or at the fill

    def __post_init__(self):
        if self.fill not in FILL_MODES:
            raise ValueError(f"ExecutionSettings.fill: '{self.fill}' is not one of {FILL_MODES}")
        if self.size_at not in SIZE_AT:
            raise ValueError(f"ExecutionSettings.size_at: '{self.size_at}' is not one of {SIZE_AT}")
        for name in ("fees_bps", "slippage_bps", "min_trade_weight"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"ExecutionSettings.{name}: {value} must be a finite number >= 0")
        if self.slippage_bps >= 1e4:
            raise ValueError(f"ExecutionSettings.slippage_bps: {self.slippage_bps} must be below 10000 (100%)")
        if not (np.isfinite(self.init_cash) and self.init_cash > 0):
            raise ValueError(f"ExecutionSettings.init_cash: {self.init_cash} must be a positive number")


@dataclass(frozen=True)
class BookStart:
    """A book given from outside (rulebook today): held at the close of row ``session``, it first trades
    the session after. ``shares`` per symbol (simulated, total-return price units), ``cash``, and the
    stateful rules' per-name state (the columns of the rules' KernelLayout; None = as a new book)."""

    session: int
    shares: np.ndarray
    cash: float
    state: np.ndarray | None = None


def simulate(
    targets: pd.DataFrame,
    open_: pd.DataFrame,
    close: pd.DataFrame,
    settings: ExecutionSettings,
    rules: KernelRules | None = None,
    *,
    start: BookStart | None = None,
) -> SimResult:
    """Fill the row-t target weights on session t+1 (sized at t's close, or at the fill with
    ``settings.size_at="fill"``) and mark the book at every close."""
    return simulate_many([targets], open_, close, settings, None if rules is None else [rules], start=start)[0]


def simulate_many(
    targets: list[pd.DataFrame],
    open_: pd.DataFrame,
    close: pd.DataFrame,
    settings: ExecutionSettings,
    rules: list[KernelRules] | None = None,
    *,
    keep_log: bool = True,
    start: BookStart | None = None,
) -> list[SimResult]:
    """Simulate several books at once; book k's result equals ``simulate(targets[k], ..., rules[k])``.

    The books share prices and execution settings, and their rules share the regime's
    ``gross_limit`` (one cap per session in the kernel). ``keep_log=False`` skips the
    kernel log (empty ``kernel_log``), which a sweep does not need. ``start``: every book starts from
    that book (equity, cash and shares before its session are NaN).
    """
    # books of one sweep often share a targets frame: check, shift and store each distinct frame once
    decisions: dict[int, np.ndarray] = {}
    for frame in targets:
        if id(frame) not in decisions:
            # row i holds the decision taken at the close of i-1: the one-session shift
            decisions[id(frame)] = _float_array(_aligned(frame, open_, close)[0].shift(1))
    first_column = {key: k * close.shape[1] for k, key in enumerate(decisions)}
    open_ = open_[close.columns]
    n_books, n_names, n_sessions = len(targets), close.shape[1], len(close)
    if rules is not None and len(rules) != n_books:
        raise ValueError(f"simulate_many: {len(rules)} rule sets for {n_books} books; fix: one per book")
    fill_price = _float_array(open_ if settings.fill == "next_open" else close)
    marks = last_known_price(open_, close)
    due = np.hstack(list(decisions.values()))
    due_from = np.array([first_column[id(frame)] for frame in targets], dtype=np.int64)
    layout = _layout(rules)
    if rules is None:
        params, members, group_cap, group_names = _no_rules(n_books * n_names, layout)
        gross_limit, no_buy = np.full(n_sessions, np.inf), np.zeros((0, 0), dtype=np.bool_)
        capacity = 0
    else:
        params, members, group_cap, group_names = _stacked_params(rules, n_names)
        gross_limit, no_buy = _session_inputs(rules, close)
        capacity = max(rule.log_capacity if rule.log_capacity is not None else n_sessions * n_names
                       for rule in rules) if keep_log else 0
    state = layout.initial_state(n_names * n_books if rules is not None else 0)
    if rules is not None and start is not None and start.state is not None:
        state[:] = np.tile(np.asarray(start.state, dtype=float), (n_books, 1))
    resets = np.vstack([layout.resets("flat"), layout.resets("satisfied")])
    session = None if rules is None else session_step(layout, params)
    logs = np.zeros((n_books, capacity, len(rule_layout.LOG_FIELDS)))
    log_counts = np.zeros((n_books, 8), dtype=np.int64)  # [written, dropped], padded: one cache line per book
    # room for one order per decision (a book following its decisions places no more; rules rarely do):
    # a book that fills more runs again with room for all (engine.sim.loop.simulate_books)
    decided = max(int(np.isfinite(frame).sum()) for frame in decisions.values())
    records = np.zeros((n_books, max(decided, n_names)), dtype=ORDER_DT)
    record_counts = np.zeros(n_books, dtype=np.int64)
    equity, cash = np.full((n_books, n_sessions), np.nan), np.full((n_books, n_sessions), np.nan)
    position = np.full((n_books, n_sessions, n_names), np.nan)
    buy_scale = np.ones((n_books, n_sessions))
    first, held = (0, np.zeros(n_names)) if start is None else (start.session, np.array(start.shares, dtype=float))
    cash_at_start = float(settings.init_cash) if start is None else float(start.cash)
    records = simulate_books(session, n_names, due, due_from, fill_price, _float_array(marks), cash_at_start, int(first),
                   held, settings.fees_bps / 1e4, settings.slippage_bps / 1e4, float(settings.min_trade_weight),
                   settings.size_at == "decision", params, members, group_cap, gross_limit, no_buy, state, resets,
                   logs, log_counts, records, record_counts, equity, cash, position, buy_scale)
    if keep_log and rules is not None and log_counts[:, 1].any():
        k = int(np.argmax(log_counts[:, 1]))
        raise ValueError(
            f"simulate: the kernel log holds {capacity} records but the rules made {capacity + log_counts[k, 1]}; "
            "fix: pass a larger KernelRules.log_capacity"
        )
    results = []
    for k in range(n_books):
        book_records = records[k, :record_counts[k]].copy()
        book_records["col"] -= k * n_names
        book_log = logs[k, :log_counts[k, 0]].copy()
        book_log[:, 1] -= k * n_names
        results.append(SimResult(
            equity=pd.Series(equity[k], index=close.index, name="equity"),
            marks=marks,
            init_cash=float(settings.init_cash),
            order_records=book_records,
            cash_values=cash[k],
            held_values=position[k],
            log_records=book_log,
            group_names=group_names,
            buy_scale=buy_scale[k],
            rule_state=None if rules is None else state[k * n_names:(k + 1) * n_names].copy(),
            layout=layout,
        ))
    return results


NO_RULES = rule_layout.KernelLayout(())


def _layout(rules: list[KernelRules] | None) -> rule_layout.KernelLayout:
    """The books' common kernel layout; without rules, none (the loop without rules reads no rule input)."""
    if rules is None:
        return NO_RULES
    if any(rule.layout != rules[0].layout for rule in rules):
        raise ValueError("simulate_many: the books' rules were compiled for different rule registries; "
                         "fix: compile every book's rules after registering all rules")
    return rules[0].layout


def _no_rules(n_columns: int, layout: rule_layout.KernelLayout) -> tuple:
    """Rule inputs of the right numba types for a run without rules (the kernel never reads them)."""
    return np.zeros((n_columns, layout.n_params)), np.zeros((n_columns, 0), dtype=np.bool_), np.zeros(0), ()


def _stacked_params(rules: list[KernelRules], n_names: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple]:
    """(parameters, group members, group caps, group names) over all books' columns. Each distinct set
    of capped groups gets its own entries of ``group_cap`` (books with equal group caps share them)."""
    sets: dict[tuple, int] = {}
    for rule in rules:
        if len(rule.params) != n_names:
            raise ValueError(f"simulate: rules are compiled for {len(rule.params)} columns, prices have "
                             f"{n_names}; fix: compile the rules for the simulated symbols")
        sets.setdefault(_group_key(rule), sum(len(k[0]) for k in sets))
    n_groups = sum(len(k[0]) for k in sets)
    members = np.zeros((n_names * len(rules), n_groups), dtype=np.bool_)
    for k, rule in enumerate(rules):
        first = sets[_group_key(rule)]
        members[k * n_names:(k + 1) * n_names, first:first + len(rule.group_names)] = rule.group_members
    params = np.ascontiguousarray(np.concatenate([rule.params for rule in rules]), dtype=float)
    # a writable copy: a read-only array is another numba type (a recompile of every kernel)
    group_cap = np.concatenate([np.frombuffer(k[2], dtype=float) for k in sets] or [np.zeros(0)])
    return params, members, np.array(group_cap, dtype=float), tuple(name for k in sets for name in k[0])


def _group_key(rule: KernelRules) -> tuple:
    return rule.group_names, rule.group_members.tobytes(), np.asarray(rule.group_cap, dtype=float).tobytes()


def _session_inputs(rules: list[KernelRules], close: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The regime's gross cap and the books' no-buy masks, shifted like the targets (row i = decided at i-1)."""
    for rule in rules:
        for name, frame in (("gross_limit", rule.gross_limit), ("no_buy", rule.no_buy)):
            if frame is not None and not frame.index.equals(close.index):
                raise ValueError(f"simulate: rules.{name} index differs from close's; fix: reindex it to the sessions")
    limits = [rule.gross_limit for rule in rules]
    if any((a is None) != (b is None) or (a is not None and not a.equals(b)) for a, b in zip(limits, limits[1:])):
        raise ValueError("simulate_many: the books' rules have different gross_limit series; "
                         "fix: simulate books with different regime caps separately")
    gross = np.full(len(close), np.inf)
    if limits[0] is not None:
        gross = limits[0].shift(1).fillna(np.inf).to_numpy(dtype=float)
    no_buy = np.zeros((len(close), close.shape[1] * len(rules)), dtype=np.bool_)
    shifted: dict[int, np.ndarray] = {}  # a sweep's books share one mask object (its pipeline's): shift it once
    for k, rule in enumerate(rules):
        if rule.no_buy is not None:
            if id(rule.no_buy) not in shifted:
                shifted[id(rule.no_buy)] = rule.no_buy[close.columns].shift(1, fill_value=False).to_numpy(np.bool_)
            no_buy[:, k * close.shape[1]:(k + 1) * close.shape[1]] = shifted[id(rule.no_buy)]
    # fresh writable copies: pandas may hand out read-only views, a different numba type (a recompile)
    return np.array(gross, dtype=float), np.array(no_buy, dtype=np.bool_)


def last_known_price(open_: pd.DataFrame, close: pd.DataFrame) -> pd.DataFrame:
    """The price a holding is marked at by the close of each session: the close, else
    that session's open, else the last such price (NaN only before the first price)."""
    return close.astype(float).fillna(open_.astype(float)).ffill()


def _aligned(
    targets: pd.DataFrame, open_: pd.DataFrame, close: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Targets and opens in close's column order; refuses shorts, infinities and misaligned frames."""
    for name, frame in (("open_", open_), ("targets", targets)):
        if not frame.index.equals(close.index):
            raise ValueError(f"simulate: {name} index differs from close's; fix: reindex it to the session index")
        if set(frame.columns) != set(close.columns):
            missing = sorted(set(close.columns) ^ set(frame.columns), key=str)
            raise ValueError(f"simulate: {name} columns differ from close's on {missing}; fix: use the same symbols")
    targets = targets[close.columns].astype(float)
    values = targets.to_numpy()
    bad = np.isinf(values) | (values < 0)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(
            f"simulate: target {values[row, col]} for '{close.columns[col]}' on {close.index[row]} "
            "is negative or infinite; fix: long-only targets are weights in [0, 1] (NaN = leave alone)"
        )
    return targets, open_[close.columns]


def _float_array(frame: pd.DataFrame) -> np.ndarray:
    """A writable C-ordered copy: a read-only pandas view is another numba type (one more compile)."""
    return np.array(frame.to_numpy(dtype=float, na_value=np.nan), dtype=float, order="C")
