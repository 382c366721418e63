"""`rulebook scenarios`: an outlook applied to a run folder's portfolio, replayed windows, a scorecard.

It reads the run's config, weights, equity and hedges on the chosen session (default the last),
loads the universe, benchmark and hedge underlyings over the whole dataset (betas need the
trailing year, stress windows may predate the run, the scorecard needs the sessions after the
outlook) and writes into the run folder, each file atomically:

- ``scenarios.parquet``: per case × measure (low/mid/high, expected, Monte Carlo mean, loss
  probability, quantiles) × with_hedges, the P&L (``pnl``) and its fraction of equity (``ret``);
- ``stress.parquet``: per historical window × with_hedges (when the set lists windows);
- ``scorecard.parquet``: the outlook scored on what followed it (when the horizon lies in the data,
  ``issued`` = 'outlook') and the set re-issued at every month end of the run ('month_end').
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import pandas as pd
import typer
from rich.table import Table

from engine.atomic import write_file_atomically
from engine.data.calendar import get_sessions
from engine.config.run_config import RunConfig, resolved_data_dir
from engine.data.loader import load_dataset
from engine.data.dataset import Dataset
from engine.data.schema import read_parquet_file
from engine.errors import ConfigError, DataError
from engine.analysis.scenarios import HEDGE_LEG_COLUMNS, ImpactModel, Portfolio, estimate_betas
from engine.config.scenarios import ScenarioSet, load_scenario_set
from engine.analysis.scorecard import realised_moves, score, score_month_ends
from engine.analysis.stress import replay

SCENARIO_FILES = ("scenarios.parquet", "stress.parquet", "scorecard.parquet")


def load_portfolio(folder: Path, config: RunConfig, date: pd.Timestamp | None) -> Portfolio:
    """The run's book at the last session on or before ``date`` (default: the last session)."""
    equity = _read(folder, "equity.parquet").set_index("date")
    weights = _read(folder, "weights.parquet").set_index("date")
    sessions = weights.index[weights.index <= date] if date is not None else weights.index
    if not len(sessions):
        raise DataError(folder / "weights.parquet", "date", f"the run starts after {date.date()}",
                        f"give a --date from {weights.index[0].date()} on")
    as_of = sessions[-1]
    row = equity.loc[as_of]
    book = row["equity"] - row.get("hedge_value", 0.0) - row.get("hedge_cash", 0.0)
    values = (weights.loc[as_of] * book).dropna()
    return Portfolio(as_of, values[values != 0].astype(float), float(row["equity"]),
                     _open_legs(folder, config, as_of), config.benchmark)


def _open_legs(folder: Path, config: RunConfig, as_of: pd.Timestamp) -> pd.DataFrame:
    path = folder / "hedges.parquet"
    if not path.is_file():
        return pd.DataFrame(columns=HEDGE_LEG_COLUMNS)
    legs = read_parquet_file(path)
    legs = legs[(pd.to_datetime(legs["date"]) == as_of) & (legs["contracts"] != 0)]
    by_name = {hedge.name: hedge for hedge in config.hedges}
    legs = legs.assign(multiplier=[by_name[h].costs.multiplier for h in legs["hedge"]],
                       div_yield=[by_name[h].dividend_yield for h in legs["hedge"]])
    return legs[HEDGE_LEG_COLUMNS].reset_index(drop=True)


def _read(folder: Path, name: str) -> pd.DataFrame:
    path = Path(folder) / name
    if not path.is_file():
        raise DataError(path, None, "not found: this is not a run folder", "give a folder written by `rulebook run`")
    frame = read_parquet_file(path)
    return frame.assign(date=pd.to_datetime(frame["date"]))


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


def run_scenarios(folder: Path, config: RunConfig, scenario_set: ScenarioSet, date: pd.Timestamp | None,
                  source: str = "scenarios") -> dict[str, pd.DataFrame]:
    """The three tables (scorecard and stress only when they can be computed), keyed by file name."""
    check_groups(scenario_set, config, source)
    date = date if date is not None else (pd.Timestamp(scenario_set.as_of) if scenario_set.as_of else None)
    portfolio = load_portfolio(folder, config, date)
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


def scenarios_command(
    target: Annotated[Path, typer.Argument(help="run folder (from `rulebook run`) or YAML config (run first)")],
    set_file: Annotated[Optional[Path], typer.Option("--set", help="scenario-set YAML (default: the config's "
                                                     "scenarios block)")] = None,
    date: Annotated[Optional[str], typer.Option("--date", help="portfolio session, YYYY-MM-DD "
                                                "(default: the set's as_of, else the run's last session)")] = None,
) -> None:
    """Scenarios, stress replay and scorecard of a run's portfolio; writes parquet files into the run folder."""
    from engine.cli.main import console, user_errors
    from engine.cli.events import with_run_folder

    with user_errors(), console.status("Scenarios…"):
        folder, tables = with_run_folder(target, lambda source, config, _, into: write_scenarios(
            source, config, into, set_file, _day(date)))
        _print(tables, folder)


def _day(text: str | None) -> pd.Timestamp | None:
    try:
        return pd.Timestamp(text) if text else None
    except ValueError:
        raise ConfigError("command line", "--date", f"'{text}' is not a date", "write it as YYYY-MM-DD") from None


def write_scenarios(folder: Path, config: RunConfig, into: Path, set_file: Path | None,
                    date: pd.Timestamp | None) -> dict[str, pd.DataFrame]:
    """The scenario tables of run folder ``folder`` (set from ``set_file``, else the config's), written into ``into``."""
    if set_file is not None:
        scenario_set, source = load_scenario_set(set_file), str(set_file)
    elif config.scenarios is not None:
        scenario_set, source = config.scenarios, str(folder / "config.yaml")
    else:
        raise ConfigError(folder / "config.yaml", "scenarios", "no scenario set",
                          "give --set configs/scenarios/column_outlook.yaml or add a scenarios: block")
    tables = run_scenarios(folder, config, scenario_set, date, source)
    for name in SCENARIO_FILES:  # the new set replaces the old one whole (a set without stress windows drops stress.parquet)
        (Path(into) / name).unlink(missing_ok=True)
    for name, table in tables.items():
        write_file_atomically(Path(into) / name, lambda tmp, t=table: t.to_parquet(tmp, index=False))
    return tables


def _print(tables: dict[str, pd.DataFrame], folder: Path) -> None:
    from engine.cli.main import console

    impact = tables["scenarios.parquet"]
    cases = impact[impact["measure"].isin(["low", "mid", "high", "expected"])]
    table = Table(title=f"Scenario P&L on {impact['as_of'].iloc[0].date()} (fraction of equity)")
    for name in ("scenario", "p", "measure", "unhedged", "with hedges"):
        table.add_column(name, justify="left" if name in ("scenario", "measure") else "right")
    for (scenario, measure), rows in cases.groupby(["scenario", "measure"], sort=False):
        ret = rows.set_index("with_hedges")["ret"]
        table.add_row(scenario, f"{rows['probability'].iloc[0]:.0%}", measure, f"{ret[False]:+.2%}", f"{ret[True]:+.2%}")
    console.print(table)
    console.print(f"Wrote {', '.join(tables)} into [bold]{folder}[/]")
