"""Historical stress replay: the realised moves of a past window applied to today's portfolio.

A window's move per name is its total return from the close of the session before ``start`` to
the close of the last session on or before ``end``. A name without prices across the window (not
yet listed) is proxied by its beta times the benchmark's move and listed in ``proxied``. Open
option legs are repriced under the underlying's realised move, with implied vols moved by the
vol index's change over the window (when the run has one) and time to expiry shortened by the
window's calendar days.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.errors import DataError
from engine.analysis.scenarios import Portfolio, hedge_pnl
from engine.config.scenarios import StressWindow


def window_bounds(sessions: pd.DatetimeIndex, window: StressWindow, name: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """(close before the window, last close of the window) on ``sessions``."""
    before = sessions.searchsorted(pd.Timestamp(window.start)) - 1
    last = sessions.searchsorted(pd.Timestamp(window.end), side="right") - 1
    if before < 0 or last <= before:
        raise DataError("prices", None, f"stress window '{name}' ({window.start}..{window.end}) is not inside the "
                        f"data ({sessions[0].date()}..{sessions[-1].date()}) with a session before it",
                        "choose a window inside the dataset, or a dataset that covers it")
    return sessions[before], sessions[last]


def replay(portfolio: Portfolio, adjusted_close: pd.DataFrame, windows: dict[str, StressWindow],
           betas: pd.Series, vol_index: pd.Series | None = None) -> pd.DataFrame:
    """stress.parquet: per window and with/without hedges, the P&L of replaying it on ``portfolio``."""
    names = list(dict.fromkeys([*portfolio.values.index, *portfolio.legs["underlying"]]))
    values = portfolio.values.reindex(names, fill_value=0.0).to_numpy(dtype=float)
    rows = []
    for name, window in windows.items():
        before, last = window_bounds(adjusted_close.index, window, name)
        every = adjusted_close.loc[last] / adjusted_close.loc[before] - 1.0
        market = every.get(portfolio.benchmark, np.nan) if portfolio.benchmark else np.nan
        move = every.reindex(names)
        missing = move[move.isna()].index.tolist()
        if missing and pd.isna(market):
            raise DataError("prices", portfolio.benchmark, f"stress window '{name}': no prices for "
                            f"{', '.join(missing)} and no benchmark move to proxy them", "choose another window")
        move[missing] = betas.reindex(missing).fillna(1.0) * market
        shift = 0.0 if vol_index is None else float(vol_index.asof(last) - vol_index.asof(before))
        returns = move.to_numpy(dtype=float)
        stock = float(returns @ values)
        hedge = float(hedge_pnl(portfolio.legs, returns[[names.index(u) for u in portfolio.legs["underlying"]]],
                                shift, (last - before).days))
        for hedged, pnl in ((False, stock), (True, stock + hedge)):
            rows.append({"window": name, "start": before, "end": last, "with_hedges": hedged, "pnl": pnl,
                         "ret": pnl / portfolio.equity, "benchmark_return": market, "vol_shift": shift,
                         "proxied": ",".join(missing)})
    return pd.DataFrame(rows)
