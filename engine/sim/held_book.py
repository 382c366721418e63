"""A book that buys on one session and then only holds, computed from prices without the compiled loop.

The benchmark (a buy-and-hold of one symbol) and the event study's equal-weight holding are such
books. Simulating them took a second compiled loop, the one without rules (about 2 s of CPU on a
first run, and a second kernel to load on every run), for one session of trading. ``held_book``
does that session's arithmetic as the loop does it (engine.sim.loop), in the same order:

- each order sized by the loop's own ``rebalance_shares_nb`` (its Python function), at the
  decision close and equity (``size_at="decision"``) or at the fill;
- buys executed from the smallest order value up (``sells_first_nb``'s order), all scaled to fit
  the cash by the loop's ``buy_scale_nb`` when sized at the decision;
- each buy filled by the loop's own ``execute_nb`` (vectorbt's order execution: slippage, fees on the
  slipped notional, a partial fill when the cash runs short), compiled once and loaded from the cache;
- the book marked at every close at the last known price, cash plus each holding in column order.

tests/test_held_book.py checks every array of the result against the loop's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.sim.orders import ORDER_DT, buy_scale_nb, execute_nb, rebalance_shares_nb
from engine.sim.result import SimResult
from engine.sim.rule_layout import LOG_FIELDS
from engine.sim.simulate import NO_RULES, ExecutionSettings, last_known_price, simulate

def simulate_held(targets: pd.DataFrame, open_: pd.DataFrame, close: pd.DataFrame,
                  settings: ExecutionSettings) -> SimResult:
    """``engine.sim.simulate.simulate(targets, open_, close, settings)``, computed here without the loop when
    the targets trade on their first decision only (every later decision a 0 on a name the book does not
    hold), else simulated."""
    return held_book(targets, open_, close, settings) or simulate(targets, open_, close, settings)


def held_book(targets: pd.DataFrame, open_: pd.DataFrame, close: pd.DataFrame,
              settings: ExecutionSettings) -> SimResult | None:
    """The book of ``targets`` if they trade on their first decision only, else None."""
    targets, open_ = targets[close.columns].to_numpy(dtype=float), open_[close.columns]
    n_sessions, n_names = targets.shape
    marks = last_known_price(open_, close)
    mark = marks.to_numpy(dtype=float)
    fill_price = (open_ if settings.fill == "next_open" else close).to_numpy(dtype=float)
    decided = np.flatnonzero(np.isfinite(targets).any(axis=1))
    cash, held = float(settings.init_cash), np.zeros(n_names)
    records, scale = np.zeros(0, dtype=ORDER_DT), 1.0
    fill = decided[0] + 1 if len(decided) else n_sessions
    if fill < n_sessions:
        shares, value_price = _orders(targets[decided[0]], fill_price[fill], mark[fill - 1], cash, settings)
        if settings.size_at == "decision" and (shares > 0).any():
            scale = buy_scale_nb.py_func(shares, fill_price[fill], settings.fees_bps / 1e4,
                                         settings.slippage_bps / 1e4, cash)
        cash, held, records = _fill(shares, fill_price[fill], value_price, fill, cash, settings)
        later = targets[decided[1:]]
        if np.any(np.isfinite(later) & ((later != 0.0) | (held != 0.0))):
            return None  # it trades again: not a held book
    equity, cash_values = np.full(n_sessions, float(settings.init_cash)), np.full(n_sessions, float(settings.init_cash))
    position, buy_scale = np.zeros((n_sessions, n_names)), np.ones(n_sessions)
    if fill < n_sessions:
        total = np.full(n_sessions - fill, cash)
        for k in np.flatnonzero(held != 0.0):  # the loop's sum: cash, then each holding in column order
            total = total + held[k] * mark[fill:, k]
        equity[fill:], cash_values[fill:], position[fill:], buy_scale[fill] = total, cash, held, scale
    return SimResult(equity=pd.Series(equity, index=close.index, name="equity"), marks=marks,
                     init_cash=float(settings.init_cash), order_records=records, cash_values=cash_values,
                     held_values=position, log_records=np.zeros((0, len(LOG_FIELDS))), buy_scale=buy_scale,
                     layout=NO_RULES)


def _orders(target: np.ndarray, fill_price: np.ndarray, decision_close: np.ndarray, cash: float,
            settings: ExecutionSettings) -> tuple[np.ndarray, np.ndarray]:
    """(shares each name is ordered from an empty book holding ``cash``, 0 where it cannot trade; the
    price each is valued at: the fill price, else the last close, as the loop's _value_at_fill_nb)."""
    value_price = np.where(np.isfinite(fill_price), fill_price, decision_close)
    size_price = decision_close if settings.size_at == "decision" else value_price
    shares = [rebalance_shares_nb.py_func(target[k], 0.0, size_price[k], cash, settings.min_trade_weight)
              if np.isfinite(fill_price[k]) else 0.0 for k in range(len(target))]
    return np.array(shares, dtype=float), value_price


def _fill(shares: np.ndarray, price: np.ndarray, value_price: np.ndarray, session: int, cash: float,
          settings: ExecutionSettings) -> tuple[float, np.ndarray, np.ndarray]:
    """(cash, shares held, order records) after buying ``shares`` at ``price`` through the loop's own
    ``execute_nb`` (vectorbt's order execution, compiled once and cached), smallest order value first
    (a stable sort with NaN last, as vectorbt's insertion argsort in sells_first_nb)."""
    fees, slippage, value = settings.fees_bps / 1e4, settings.slippage_bps / 1e4, cash
    held, records, n_records = np.zeros(len(shares)), np.zeros(len(shares), dtype=ORDER_DT), 0
    for k in np.argsort(shares * value_price, kind="stable"):
        if shares[k] == 0.0:
            continue
        *_, cash, held[k], n_records = execute_nb(session, int(k), shares[k], price[k], fees, slippage, cash, 0.0,
                                                  value_price[k], value, records, n_records)
    return cash, held, records[:n_records].copy()
