"""Scenarios of one run (`rulebook scenarios`): an outlook applied to its portfolio, replayed windows, a scorecard.

It reads the run's config, weights, equity and hedges on the chosen session (default the last),
loads the universe, benchmark and hedge underlyings over the whole dataset (betas need the
trailing year, stress windows may predate the run, the scorecard needs the sessions after the
outlook) and returns the tables written into the run folder:

- ``scenarios.parquet``: per case × measure (low/mid/high, expected, Monte Carlo mean, loss
  probability, quantiles) × with_hedges, the P&L (``pnl``) and its fraction of equity (``ret``);
- ``stress.parquet``: per historical window × with_hedges (when the set lists windows);
- ``scorecard.parquet``: the outlook scored on what followed it (when the horizon lies in the data,
  ``issued`` = 'outlook') and the set re-issued at every month end of the run ('month_end').
"""

from __future__ import annotations

from typing import Protocol

import pandas as pd

from engine.data.calendar import get_sessions
from engine.config.run_config import RunConfig, resolved_data_dir
from engine.data.loader import load_dataset
from engine.data.dataset import Dataset
from engine.errors import ConfigError, DataError
from engine.analysis.scenarios import HEDGE_LEG_COLUMNS, ImpactModel, Portfolio, estimate_betas
from engine.config.scenarios import ScenarioSet
from engine.analysis.scorecard import realised_moves, score, score_month_ends
from engine.analysis.stress import replay


class RunTables(Protocol):
    """What the scenarios read of a run: a rulebook.Result or an engine.run.folder.RunFolder view."""

    config: RunConfig
    equity: pd.DataFrame  # indexed by date: equity[, hedge_value, hedge_cash]
    weights: pd.DataFrame  # date × symbol
    hedges: pd.DataFrame | None  # hedges.parquet rows


def load_portfolio(run: RunTables, date: pd.Timestamp | None) -> Portfolio:
    """The run's book at the last session on or before ``date`` (default: the last session)."""
    equity, weights = run.equity, run.weights
    sessions = weights.index[weights.index <= date] if date is not None else weights.index
    if not len(sessions):
        raise DataError("weights.parquet", "date", f"the run starts after {date.date()}",
                        f"give a --date from {weights.index[0].date()} on")
    as_of = sessions[-1]
    row = equity.loc[as_of]
    book = row["equity"] - row.get("hedge_value", 0.0) - row.get("hedge_cash", 0.0)
    values = (weights.loc[as_of] * book).dropna()
    return Portfolio(as_of, values[values != 0].astype(float), float(row["equity"]),
                     _open_legs(run.hedges, run.config, as_of), run.config.benchmark)


def _open_legs(legs: pd.DataFrame | None, config: RunConfig, as_of: pd.Timestamp) -> pd.DataFrame:
    if legs is None:
        return pd.DataFrame(columns=HEDGE_LEG_COLUMNS)
    legs = legs[(pd.to_datetime(legs["date"]) == as_of) & (legs["contracts"] != 0)]
    by_name = {hedge.name: hedge for hedge in config.hedges}
    legs = legs.assign(multiplier=[by_name[h].costs.multiplier for h in legs["hedge"]],
                       div_yield=[by_name[h].dividend_yield for h in legs["hedge"]])
    return legs[HEDGE_LEG_COLUMNS].reset_index(drop=True)


def check_groups(scenario_set: ScenarioSet, config: RunConfig, source: str) -> None:
    """Every group a case lists must be one of the run's universe.groups."""
    for key, case in scenario_set.scenarios.items():
        for group in case.groups:
            if group not in config.universe.groups:
                raise ConfigError(source, f"scenarios.{key}.groups.{group}", "not a group of the run's universe",
                                  f"use one of: {', '.join(config.universe.groups) or '(none: add universe.groups)'}")


def horizon_days(as_of: pd.Timestamp, horizon: int, calendar: str) -> float:
    """Calendar days from ``as_of`` to the session ``horizon`` sessions later (options age by these)."""
    ahead = get_sessions(as_of + pd.Timedelta(days=1), as_of + pd.Timedelta(days=3 * horizon + 14), calendar)
    return float((ahead[horizon - 1] - as_of).days)


def _vol_index(config: RunConfig, data: Dataset) -> pd.Series | None:
    sources = [h.vol.source for h in config.hedges if h.vol.source in data.market.columns]
    return data.market[sources[0]].astype(float) if sources else None


def run_scenarios(run: RunTables, scenario_set: ScenarioSet, date: pd.Timestamp | None,
                  source: str = "scenarios") -> dict[str, pd.DataFrame]:
    """The three tables (scorecard and stress only when they can be computed), keyed by file name."""
    config = run.config
    check_groups(scenario_set, config, source)
    date = date if date is not None else (pd.Timestamp(scenario_set.as_of) if scenario_set.as_of else None)
    portfolio = load_portfolio(run, date)
    symbols = [*config.universe.symbols, *([config.benchmark] if config.benchmark else []),
               *(s for h in config.hedges for s in h.symbols)]
    data = load_dataset(resolved_data_dir(config), symbols=list(dict.fromkeys(symbols)), calendar=config.data.calendar,
                        max_fill_sessions=config.data.max_fill_sessions)
    close = data.adjusted("close")
    if config.benchmark:
        betas = estimate_betas(close, config.benchmark, portfolio.as_of, scenario_set.beta_window)
    else:
        betas = pd.Series(1.0, index=close.columns)
    members = config.universe.groups
    days = horizon_days(portfolio.as_of, scenario_set.horizon, config.data.calendar)
    tables = {"scenarios.parquet": ImpactModel(portfolio, scenario_set, members, betas, days).table()}
    if scenario_set.stress:
        tables["stress.parquet"] = replay(portfolio, close, scenario_set.stress, betas, _vol_index(config, data))
    if config.benchmark:
        tables["scorecard.parquet"] = _scorecard(scenario_set, close, config, portfolio.as_of)
    return tables


def _scorecard(scenario_set: ScenarioSet, close: pd.DataFrame, config: RunConfig, as_of: pd.Timestamp) -> pd.DataFrame:
    members, benchmark = config.universe.groups, config.benchmark
    frames = []
    if close.index.searchsorted(as_of, side="right") - 1 + scenario_set.horizon < len(close.index):
        moves = realised_moves(close, as_of, scenario_set.horizon, benchmark, members)
        frames.append(score(scenario_set, moves).assign(as_of=as_of, issued="outlook"))
    period = close.loc[config.period.start or close.index[0]:config.period.end or close.index[-1]]
    history = score_month_ends(scenario_set, period, benchmark, members)
    frames.append(history.assign(issued="month_end") if len(history) else history)
    return pd.concat(frames, ignore_index=True)
