"""The event study of one run, written next to the backtest it measures (`rulebook events`).

It takes the run's resolved config and equity curve, loads the prices of the universe, the
benchmark and every other ticker the events name that the dataset holds, and returns the tables
it writes into the run folder (each file atomically):

- ``events.parquet``: one row per event x symbol (engine.analysis.event_study), with overlap flags;
- ``event_summary.parquet``: aggregates (engine.analysis.event_stats) by ``subject`` ('symbols' or a
  book: 'strategy', 'holding', 'benchmark'), grouping ``by`` ('all', 'kind', 'group') and ``metric``;
- ``event_car.parquet``: mean CAR and cumulative-return paths by offset with bootstrap bands;
- ``event_strategy.parquet``: the same windows on the backtest equity ('strategy'), on an
  equal-weight buy-and-hold of the universe simulated with the run's execution settings
  ('holding') and on the benchmark: did the rules cut the drawdown, what did they cost?
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from pydantic import ValidationError

from engine.config.run_config import RunConfig, resolved_data_dir
from engine.data.loader import load_dataset
from engine.data.dataset import Dataset
from engine.errors import ConfigError, DataError
from engine.analysis.event_stats import (BOOK_METRICS, PATH_MEASURES, SUMMARY_METRICS, car_table, flag_overlaps,
                                         one_blas_thread, summarise)
from engine.analysis.event_study import BENCHMARK_GROUP, StudyTables, Windows, study_books, study_symbols
from engine.config.event_study import EventStudyConfig
from engine.data.schema import EVENTS
from engine.data.events import absent_symbol_warnings, check_kinds, event_symbols, read_events_file


@dataclass(frozen=True)
class EventStudyResult:
    events: pd.DataFrame  # per event x symbol
    strategy: pd.DataFrame  # per event x book
    summary: pd.DataFrame
    car: pd.DataFrame
    warnings: list[str]

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The study's run-folder files by name (written by engine.run.files.write_tables)."""
        return {"events.parquet": self.events, "event_summary.parquet": self.summary,
                "event_car.parquet": self.car, "event_strategy.parquet": self.strategy}


def study_settings(config: RunConfig, window: str | None = None) -> EventStudyConfig:
    """The config's event_study section, with the --window override validated like the config."""
    settings = config.event_study
    if window is None:
        return settings
    parts = window.split(":")
    try:
        pair = tuple(int(part) for part in parts)
        if len(pair) != 2:
            raise ValueError
        return EventStudyConfig.model_validate(settings.model_dump() | {"window": pair})
    except ValueError as error:  # ValidationError is a ValueError
        problem = (error.errors()[0]["msg"].removeprefix("Value error, ") if isinstance(error, ValidationError)
                   else f"'{window}' is not BEFORE:AFTER")
        raise ConfigError("--window", "event_study.window", problem, "write it like -10:20") from None


def run_event_study(config: RunConfig, equity: pd.DataFrame, data: Dataset | None = None, *,
                    events_file: Path | None = None, window: str | None = None) -> EventStudyResult:
    """Measure every event on prices and on the run's equity (``equity``: date, equity[, benchmark])."""
    settings = study_settings(config, window)
    data = data if data is not None else _load(config, config.universe.symbols + _benchmark(config))
    events = _events(config, data, events_file or settings.file, settings.kinds)
    windows = Windows(settings.window[0], settings.window[1], tuple(settings.estimation))
    prices, warnings = _prices(config, data, events, windows.post)
    market = prices[config.benchmark] if config.benchmark else None
    symbols = study_symbols(prices, market, events, _groups(config, data), windows)
    books = study_books(_books(config, data, equity), events, windows)
    warnings += symbols.warnings + books.warnings
    if symbols.rows.empty and books.rows.empty:
        raise DataError("events", "session_date", f"none of the {len(events)} event(s) could be measured: "
                        f"{'; '.join(warnings[:3])}", "widen period.start/period.end around the events")
    if config.benchmark is None:
        warnings.append("benchmark is null: no market model, so car is empty")
    span = windows.post - windows.pre
    rows = _flagged(symbols, prices.index, span, "symbol")
    book_rows = _flagged(books, equity.index, span, "book")
    n_boot, seed = settings.bootstrap, settings.seed
    involved = rows[rows["role"] == "involved"] if len(rows) else rows
    symbol_groups = {"all": involved, "kind": involved, "group": rows}
    with one_blas_thread():
        summary = [summarise(rows, symbol_groups, SUMMARY_METRICS, n_boot, seed).assign(subject="symbols")]
        car = [car_table(rows, symbols.paths, symbol_groups, PATH_MEASURES, n_boot, seed).assign(subject="symbols")]
        for book, members in book_rows.groupby("book", sort=False) if len(book_rows) else []:
            summary.append(summarise(members, {"all": members, "kind": members}, BOOK_METRICS, n_boot,
                                     seed).assign(subject=book))
            car.append(car_table(members, books.paths, {"all": members, "kind": members}, ("cum_return",),
                                 n_boot, seed).assign(subject=book))
    return EventStudyResult(rows, book_rows, _subject_first(summary), _subject_first(car), warnings)


def _benchmark(config: RunConfig) -> list[str]:
    return [config.benchmark] if config.benchmark else []


def _load(config: RunConfig, symbols: list[str], start=None, end=None) -> Dataset:
    return load_dataset(resolved_data_dir(config), symbols=list(dict.fromkeys(symbols)),
                        start=start or config.period.start, end=end or config.period.end,
                        calendar=config.data.calendar, max_fill_sessions=config.data.max_fill_sessions)


def _events(config: RunConfig, data: Dataset, file: Path | None, kinds: list[str] | None) -> pd.DataFrame:
    if file is not None:
        events = read_events_file(file, config.data.calendar)
    else:
        source = resolved_data_dir(config) / EVENTS.file
        if data.events.empty:
            raise DataError(source, None, "the dataset has no events",
                            "set event_study.file in the config (or --events) to an events CSV/Parquet")
        events = data.events
        check_kinds(source, events)
    if kinds:
        events = events[events["kind"].isin(kinds)]
    events = events[events["session_date"].between(data.sessions[0], data.sessions[-1])]
    if events.empty:
        raise DataError(file or "events", "session_date", f"no event{' of kind ' + '|'.join(kinds) if kinds else ''} "
                        f"falls between {data.sessions[0]:%Y-%m-%d} and {data.sessions[-1]:%Y-%m-%d}",
                        "widen period.start/period.end or check event_study.kinds")
    return events.reset_index(drop=True).rename_axis("event_id").reset_index()


def _prices(config: RunConfig, data: Dataset, events: pd.DataFrame, post: int) -> tuple[pd.DataFrame, list[str]]:
    """Total-return closes of the loaded symbols plus the other event tickers the dataset holds, on the run's
    sessions and on as many after its end as the dataset has (up to the window's ``post`` sessions), so an
    event near the end gets its full window where the data allows it."""
    in_file = set(pq.read_table(data.files[0], columns=["symbol"]).column("symbol").unique().to_pylist())
    named = {s for cell in events["symbols"] for s in event_symbols(cell)}
    warnings = absent_symbol_warnings(events, set(data.symbols) | in_file)
    beyond = data.sessions[-1] + pd.Timedelta(days=2 * post + 10)  # calendar days covering post sessions
    wanted = list(dict.fromkeys(data.symbols + sorted((named & in_file) - set(data.symbols))))
    for symbols, what in ((wanted, "event tickers outside the universe not loaded"),
                          (data.symbols, "sessions after the run's end not loaded")):
        try:
            return _load(config, symbols, data.sessions[0], beyond).adjusted("close"), warnings
        except DataError as error:
            warnings.append(f"{what}: {error}")
    return data.adjusted("close"), warnings


def _groups(config: RunConfig, data: Dataset) -> dict[str, str]:
    """Group of a ticker: its first universe.groups entry, else its theme in symbols.parquet."""
    groups = {}
    if "theme" in data.symbols_meta:
        groups.update(data.symbols_meta["theme"].dropna().astype(str).to_dict())
    for name, members in reversed(list(config.universe.groups.items())):
        groups.update({symbol: name for symbol in members})
    return groups | ({config.benchmark: BENCHMARK_GROUP} if config.benchmark else {})


def _books(config: RunConfig, data: Dataset, equity: pd.DataFrame) -> pd.DataFrame:
    """strategy, holding (equal-weight buy-and-hold, same execution) and benchmark equity on one index."""
    from engine.sim.held_book import simulate_held  # numba: imported when a study runs, not by --help
    from engine.sim.simulate import ExecutionSettings
    from strategies.pipeline import baseline_targets

    symbols = config.universe.symbols
    targets = baseline_targets({"kind": "buy_and_hold"}, data, symbols)
    held = simulate_held(targets, data.adjusted("open")[symbols], data.adjusted("close")[symbols],
                         ExecutionSettings(**config.execution.model_dump()))
    books = pd.DataFrame({"strategy": equity["equity"], "holding": held.equity.reindex(equity.index)})
    if "benchmark" in equity:
        books["benchmark"] = equity["benchmark"]
    return books


def _flagged(tables: StudyTables, sessions: pd.DatetimeIndex, span: int, key: str) -> pd.DataFrame:
    return flag_overlaps(tables.rows, sessions, span, key) if len(tables.rows) else tables.rows


def _subject_first(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frame = pd.concat(frames, ignore_index=True)
    return frame[["subject"] + [c for c in frame.columns if c != "subject"]]
