"""`rulebook today`: what a config's rules tell a real book to do at the close of one session.

The holdings file gives the book (engine.practice.holdings), the state file what the rules
remember (engine.practice.state), and engine.practice.decision runs the backtest's own pipeline
and compiled loop from that book for the one decision, so the orders are the trades a backtest
holding this book would decide. Each order carries the rules that moved the name and their
reasons, and its notional at the last close (the fill will be at the next open).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from engine.atomic import write_file_atomically
from engine.config.run_config import RunConfig
from engine.errors import DataError
from engine.practice.decision import Decision, decide, load_decision_data
from engine.practice.hedge_check import hedge_actions
from engine.practice.holdings import Holdings
from engine.practice.state import (assumed_without_state, empty_state, kernel_state, read_state, state_names,
                                   write_state)
from engine.sim import rule_layout as rk
from strategies.registry import kernel_layout
from strategies.schedule import rebalance_sessions

ORDER_COLUMNS = ["symbol", "side", "shares", "price", "notional", "weight_now", "weight_after", "rule", "reason"]


@dataclass(frozen=True)
class Today:
    """The decision at the close of ``as_of``: ``orders`` (ORDER_COLUMNS; shares as traded, price = the
    last close, notional = shares x price), ``hedges`` (engine.practice.hedge_check), ``book`` (per
    name: shares, close, value, weight, target after the orders), the book's ``equity`` and ``cash``,
    ``notes`` (assumptions made) and ``state`` (the state file's names after the orders)."""

    config: RunConfig
    as_of: pd.Timestamp
    orders: pd.DataFrame
    hedges: pd.DataFrame
    book: pd.DataFrame
    equity: float
    cash: float
    decision: Decision
    notes: list[str] = field(default_factory=list)
    state: dict = field(default_factory=dict)

    def save(self, out: Path) -> Path:
        """The orders as CSV or JSON (by ``out``'s extension), atomically."""
        out = Path(out)
        if out.suffix.lower() not in (".csv", ".json"):
            raise DataError(out, None, "unknown output format", "end --out with .csv or .json")
        if out.suffix.lower() == ".csv":
            return write_file_atomically(out, lambda tmp: self.orders.to_csv(tmp, index=False))
        text = json.dumps({"as_of": self.as_of.date().isoformat(), "config": self.config.name,
                           "equity": self.equity, "cash": self.cash, "notes": self.notes,
                           "orders": self.orders.to_dict(orient="records"),
                           "hedges": self.hedges.astype(object).where(self.hedges.notna(), None).to_dict(orient="records")},
                          indent=2, default=str)
        return write_file_atomically(out, lambda tmp: tmp.write_text(text + "\n"))

    def write_state(self, path: Path) -> Path:
        """The rule state after this decision (as if its orders fill), for the next run's --state."""
        return write_state(path, config=self.config.name, as_of=self.as_of, names=self.state)


def default_state_path(out: Path) -> Path:
    """The state file next to the output: orders.csv -> orders.state.json."""
    return Path(out).with_suffix(".state.json")


def today(config: RunConfig, holdings: Holdings, *, date: pd.Timestamp | None = None,
          state_path: Path | None = None) -> Today:
    """The rules' orders for ``holdings`` at the close of ``date`` (default: the data's last session)."""
    data, at = load_decision_data(config, date)
    as_of, symbols = data.sessions[at], config.universe.symbols
    notes = [] if date is None or as_of == pd.Timestamp(date) else [
        f"{pd.Timestamp(date).date()} is not a session of the data: deciding at the close of {as_of.date()}"]
    close = data.close[symbols].iloc[at]
    positions = holdings.positions
    if not holdings.cash_row:
        notes.append(f"{holdings.path.name} has no CASH row: cash taken as 0")
    outside = [s for s in positions.index if s not in symbols]
    if outside:
        notes.append(f"not in the config's universe, left alone and not counted in the book: {', '.join(outside)}")
    held = positions.reindex(symbols)
    unpriced = [s for s in symbols if held.at[s, "shares"] > 0 and not np.isfinite(close[s])]
    if unpriced:
        raise DataError(holdings.path, "symbol", f"no close on {as_of.date()} for {', '.join(unpriced)}",
                        "give a --date on which every held name traded, or update the data")
    shares = held["shares"].fillna(0.0)
    scale = data.adj_factor[symbols].iloc[at].astype(float).fillna(1.0)
    state = _start_state(config, holdings, state_path, data, at, shares, close, notes)
    decision = decide(config, data, at, shares, holdings.cash, state)
    values = shares * close.fillna(0.0)
    equity = float(holdings.cash + values.sum())
    orders = _orders(config, decision, shares, close, equity, data, at)
    signed = pd.Series(np.where(orders["side"] == "buy", 1.0, -1.0) * orders["shares"].to_numpy(float),
                       index=orders["symbol"], dtype=float)
    after = shares.add(signed, fill_value=0.0).reindex(symbols)
    book = pd.DataFrame({"shares": shares, "close": close, "value": values, "weight": values / equity,
                         "weight_after": after * close.fillna(0.0) / equity})
    if config.execution.size_at != "decision":
        notes.append("execution.size_at is 'fill' in the config; today sizes at the last close (the fill is unknown)")
    new_state = state_names(decision.result.rule_state, symbols, data.sessions, scale.to_numpy()) \
        if decision.result.rule_state is not None else {}
    return Today(config, as_of, orders, hedge_actions(config, data, at, equity, values), book, equity,
                 float(holdings.cash), decision, notes, new_state)


def _start_state(config, holdings, state_path, data, at, shares, close, notes) -> np.ndarray:
    """Kernel state rows: the state file's (or none), and each name's cost basis from avg_cost."""
    symbols = config.universe.symbols
    if state_path is not None:
        record = read_state(state_path)
        if record["as_of"] > data.sessions[at]:
            raise DataError(state_path, "as_of", f"the state is as of {record['as_of'].date()}, after the decision "
                            f"at the close of {data.sessions[at].date()}", "give the state written at or before "
                            "--date, or leave out --state")
        # prices and shares in the file are as traded at its as_of: the adjustment factor then converts them
        then = data.adj_factor[symbols].iloc[max(0, data.sessions.searchsorted(record["as_of"], "right") - 1)]
        state = kernel_state(record["names"], symbols, data.sessions, then.astype(float).fillna(1.0).to_numpy(),
                             state_path)
    else:
        state = empty_state(len(symbols))
        if config.rules is not None and config.rules.needs_kernel:
            layout = kernel_layout()
            notes.append(assumed_without_state(layout, [r.name for r in layout.rules
                                                        if getattr(config.rules, r.name, None) is not None]))
    guessed = []
    for k, symbol in enumerate(symbols):
        if shares[symbol] <= 0:
            continue
        cost = holdings.positions.at[symbol, "avg_cost"]
        if not np.isfinite(cost):
            opened = holdings.positions.at[symbol, "opened"]
            past = data.close[symbol].loc[:opened].dropna() if pd.notna(opened) else pd.Series(dtype=float)
            cost = float(past.iloc[-1]) if len(past) else float(close[symbol])
            guessed.append(symbol)
        state[k, rk.COST] = shares[symbol] * cost
    if guessed and config.rules is not None and config.rules.needs_kernel:
        notes.append(f"no avg_cost for {', '.join(guessed)}: cost taken as the close on the day opened (else the "
                     "last close), which gains and losses over the average cost (profit-taking, stop-loss) are "
                     "measured from")
    return state


def _orders(config, decision: Decision, shares, close, equity: float, data, at: int) -> pd.DataFrame:
    orders = decision.orders
    activity = decision.activity
    rebalance = config.rules is not None and bool(rebalance_sessions(data.sessions, config.rules.weighting.rebalance)[at])
    rows = []
    for order in orders.itertuples(index=False):
        acted = activity[activity["symbol"] == order.symbol]
        price = float(close[order.symbol])
        signed = order.shares if order.side == "buy" else -order.shares
        now = shares[order.symbol] * price / equity
        if len(acted):
            rule = ", ".join(dict.fromkeys(acted["rule"]))
            reason = "; ".join(dict.fromkeys(acted["reason"]))
        elif config.rules is None:
            rule, reason = config.strategy.kind, f"{config.strategy.rebalance} rebalance"
        elif rebalance:
            rule, reason = "weighting", f"{config.rules.weighting.rebalance} rebalance ({config.rules.weighting.kind})"
        else:
            rule, reason = "standing target", "back to the standing target the rules set"
        rows.append({"symbol": order.symbol, "side": order.side, "shares": float(order.shares), "price": price,
                     "notional": float(order.shares) * price, "weight_now": now,
                     "weight_after": now + signed * price / equity, "rule": rule, "reason": reason})
    return pd.DataFrame(rows, columns=ORDER_COLUMNS)
