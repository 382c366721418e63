"""The backtest's own decision at the close of one session, for a book given from outside.

Nothing here re-implements a rule: the dataset is loaded up to the decision session D (nothing
after it is read), the exchange calendar's next sessions are appended with no data (so "is D the
last session of its month / of December" is answered as in the backtest: the calendar is known in
advance), the rule pipeline runs as in ``rulebook run``, and the compiled simulation loop starts
from the given book (shares, cash, rule state) at the close of D and runs the one session after
it. Orders are fixed at the decision (execution.size_at: decision), so their share counts come
from the close of D alone; the session after D is given D's closes as its fill prices, which only
the estimated fills (and the exit/tranche prices the state remembers) read.

The simulator trades total-return prices (close x adj_factor); a real share is worth the as-traded
close, so real shares = simulated shares x adj_factor at D.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.config.run_config import RunConfig, resolved_data_dir
from engine.data.calendar import get_sessions
from engine.data.dataset import PRICE_FIELDS, Dataset
from engine.errors import DataError
from engine.run.backtest import combined_activity
from engine.run.run_data import load_run_data, rule_groups
from engine.sim.result import SimResult
from engine.sim.simulate import BookStart, ExecutionSettings, simulate
from strategies.pipeline import PipelineResult, run_pipeline

SESSIONS_AHEAD = 30  # calendar sessions appended after D: enough for monthly, quarterly and year-end windows


@dataclass(frozen=True)
class Decision:
    """What the rules decided at the close of ``as_of`` for the given book."""

    data: Dataset  # loaded up to as_of, plus SESSIONS_AHEAD empty calendar sessions
    at: int  # row of as_of in data.sessions
    pipeline: PipelineResult | None  # None for a baseline strategy
    targets: pd.DataFrame  # decision rows (rows <= at are the backtest's)
    result: SimResult  # the simulation of the session after as_of, started from the book
    price_scale: pd.Series  # adj_factor at as_of per symbol: real shares = simulated shares x this

    @property
    def as_of(self) -> pd.Timestamp:
        return self.data.sessions[self.at]

    @property
    def orders(self) -> pd.DataFrame:
        """symbol, side, shares (real, as ordered at the close, before any cut for cash at the fill)."""
        orders = self.result.orders.assign(shares=self.result.ordered_shares)
        orders = orders[orders["decided"] == self.as_of]
        return orders.assign(shares=orders["shares"].to_numpy() * self.price_scale[orders["symbol"]].to_numpy())

    @property
    def activity(self) -> pd.DataFrame:
        """The rules' log for the decision: the pipeline's rows at as_of and the compiled rules' rows
        for the session after it (the kernel logs an action on the session it trades)."""
        if self.pipeline is None:
            return pd.DataFrame(columns=["session", "symbol", "rule", "before", "after", "reason"])
        log = combined_activity(self.pipeline.activity, self.result.kernel_log)
        return log[log["session"].isin(self.data.sessions[self.at:self.at + 2])]


def load_decision_data(config: RunConfig, as_of: pd.Timestamp | None) -> tuple[Dataset, int]:
    """The config's dataset up to ``as_of`` (default: its last session; a day that is not a session
    means the last session before it; nothing after it is kept) with the calendar's next sessions
    appended, and as_of's row."""
    data = load_run_data(config.model_copy(update={"period": config.period.model_copy(update={"end": None})}))
    at = len(data.sessions) - 1 if as_of is None else int(data.sessions.searchsorted(pd.Timestamp(as_of), "right")) - 1
    if at < 0:
        raise DataError(resolved_data_dir(config), "date", f"--date {pd.Timestamp(as_of).date()} is before the data's "
                        f"first session {data.sessions[0].date()}", "give a later --date")
    last = data.sessions[at]
    ahead = get_sessions(last + pd.Timedelta(days=1), last + pd.Timedelta(days=2 * SESSIONS_AHEAD + 14),
                         config.data.calendar)
    known = dataclasses.replace(
        data, fundamentals=data.fundamentals[data.fundamentals["known"] <= last] if len(data.fundamentals)
        else data.fundamentals,
        events=data.events[data.events["session_date"] <= last] if len(data.events) else data.events)
    return with_sessions(known, data.sessions[:at + 1].append(ahead[:SESSIONS_AHEAD])), at


def with_sessions(data: Dataset, sessions: pd.DatetimeIndex) -> Dataset:
    """``data`` on another session index: sessions it did not have get no prices and no market data."""
    frames = {name: getattr(data, name).reindex(sessions) for name in (*PRICE_FIELDS, "adj_factor")}
    market = data.market.reindex(sessions) if len(data.market) else data.market
    return dataclasses.replace(data, sessions=sessions, market=market, **frames)


def decide(config: RunConfig, data: Dataset, at: int, shares: pd.Series, cash: float,
           state: np.ndarray | None) -> Decision:
    """Run the config's rules on ``data`` and the simulation from the book at the close of row ``at``:
    ``shares`` real shares per universe symbol, ``cash``, ``state`` kernel state rows (None: empty)."""
    symbols = config.universe.symbols
    pipeline = run_pipeline(config.pipeline, data, symbols, rule_groups(config, data))
    targets, kernel = pipeline.targets, pipeline.kernel_rules
    rows = data.sessions[:at + 2]
    close = data.adjusted("close")[symbols].loc[rows].copy()
    open_ = data.adjusted("open")[symbols].loc[rows].copy()
    close.iloc[-1] = open_.iloc[-1] = close.iloc[-2]  # the next session fills at D's closes
    decided = targets.loc[rows].copy()
    decided.iloc[-1] = np.nan  # a decision on the next session would fill after the simulated window
    if kernel is not None:
        kernel = dataclasses.replace(
            kernel, gross_limit=None if kernel.gross_limit is None else kernel.gross_limit.loc[rows],
            no_buy=None if kernel.no_buy is None else kernel.no_buy.loc[rows])
    scale = data.adj_factor[symbols].iloc[at].astype(float).fillna(1.0)  # 1 where a name has no price at D
    start = BookStart(session=at, shares=(shares.reindex(symbols).fillna(0.0) / scale).to_numpy(float),
                      cash=float(cash), state=state)
    settings = ExecutionSettings(**{**config.execution.model_dump(), "size_at": "decision"})
    result = simulate(decided, open_, close, settings, kernel, start=start)
    return Decision(data, at, pipeline if config.rules is not None else None, targets, result, scale)
