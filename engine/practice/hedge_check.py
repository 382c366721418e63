"""What the config's hedges say at the close of one session: open, roll, hold, or wait.

The hedge book itself (engine.hedges.book) is run over the history up to the decision session
and the one after, on the book's value at the decision (the holdings file has no history), so
its schedule, timing rule and rolls follow exactly the path they follow in a backtest; only the
contract counts of packages opened before are sized on today's book instead of the book then.
A package decided at the close of D has its strikes and contracts fixed from D's data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.config.run_config import RunConfig
from engine.data.calendar import sessions_per_year
from engine.data.dataset import Dataset
from engine.hedges.book import simulate_hedges
from engine.hedges.pricing import reference_vol, timing_rank
from engine.practice.decision import with_sessions
from strategies.schedule import rebalance_sessions

HEDGE_ACTION_COLUMNS = ["hedge", "action", "leg", "right", "strike", "expiry", "contracts", "price", "premium",
                        "reason"]


def hedge_actions(config: RunConfig, data: Dataset, at: int, book_value: float,
                  position_values: pd.Series) -> pd.DataFrame:
    """One row per hedge leg acted on (or one row per hedge saying why nothing is done) at the close of row ``at``."""
    if not config.hedges:
        return pd.DataFrame(columns=HEDGE_ACTION_COLUMNS)
    sessions = data.sessions[:at + 2]
    window = with_sessions(data, sessions)
    equity = pd.Series(book_value, index=sessions)
    values = pd.DataFrame([position_values.to_numpy()] * len(sessions), index=sessions, columns=position_values.index)
    ppy = sessions_per_year(config.data.calendar, sessions[0], sessions[-1])
    legs = simulate_hedges(config.hedges, window, equity, values, calendar=config.data.calendar,
                           periods_per_year=ppy).legs
    decision, fill = sessions[at], sessions[at + 1]
    rows = []
    for hedge in config.hedges:
        mine = legs[legs["hedge"] == hedge.name]
        opened = mine[(mine["decided"] == decision) & (mine["date"] == fill)]
        closing = mine[(mine["date"] == fill) & (mine["decided"] < decision) & (mine["value"] == 0)]
        held = mine[(mine["date"] == decision) & (mine["contracts"] != 0)]
        for _, leg in closing.iterrows():
            rows.append(_row(hedge.name, "close", leg, f"{hedge.roll_before} sessions before expiry: roll"
                             if hedge.roll_before else "expiry: settles at intrinsic value"))
        for _, leg in opened.iterrows():
            rows.append(_row(hedge.name, "open", leg, f"decided at the close of {decision.date()} "
                             f"({hedge.schedule} schedule, timing {hedge.timing.rule}), fills the next session"))
        if len(opened) or len(closing):
            continue
        if len(held):
            for _, leg in held.iterrows():
                rows.append(_row(hedge.name, "hold", leg, f"package held; it rolls {hedge.roll_before} sessions "
                                 f"before {pd.Timestamp(leg['expiry']).date()}"))
            continue
        scheduled = bool(rebalance_sessions(data.sessions, hedge.schedule)[at])
        why = (_timing_why(hedge, window, at, ppy) if scheduled
               else f"not a {hedge.schedule} decision session: an unhedged book may open one at the next")
        rows.append({"hedge": hedge.name, "action": "wait", "reason": why})
    return pd.DataFrame(rows, columns=HEDGE_ACTION_COLUMNS)


def _timing_why(hedge, data: Dataset, at: int, ppy: float) -> str:
    """Why the timing rule allows no package at row ``at``: the vol it reads, and its rank against the threshold."""
    vol = reference_vol(hedge, data, ppy)
    rank = timing_rank(vol, hedge)[at]
    source = hedge.vol.source
    level = (f"{source} {data.market[source].ffill().iloc[at]:.1f}" if source != "realized"
             else f"{hedge.underlying} realised vol {vol[at]:.0%}")
    if hedge.timing.rule == "always" or rank <= hedge.timing.percentile / 100:
        return "no package opens: the underlying, its vol or the rate has no value at this close, or the book is empty"
    if not np.isfinite(rank):
        return f"timing: fewer than {hedge.timing.window} sessions of {source} vol history, no package yet"
    return (f"timing: {level} at the {100 * rank:.0f}th percentile of {hedge.timing.window} sessions "
            f"> {hedge.timing.percentile:.0f}th, no package now")


def _row(name: str, action: str, leg, reason: str) -> dict:
    return {"hedge": name, "action": action, "leg": int(leg["leg"]), "right": leg["right"],
            "strike": float(leg["strike"]), "expiry": pd.Timestamp(leg["expiry"]).date().isoformat(),
            "contracts": float(leg["contracts"]), "price": float(leg["price"]),
            "premium": float(leg["premium"]), "reason": reason}

