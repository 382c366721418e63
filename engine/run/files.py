"""The run folder's files: every one's name, columns and dtypes, and the one writer and one reader.

A run, compare or attribute folder (and the files `rulebook events` and `scenarios` add to one) is
the hand-off between the backtest and everything downstream, so what it holds is declared once,
here (``FILES``). ``write_file`` is the only code that writes one of these files and refuses a
table its declaration does not describe (a bug in rulebook, caught by the tests); ``read_file`` is
the only code that reads one back and names the file and column of a damaged or foreign one
(a DataError). engine.run.folder assembles a run's files on these two; tests/test_run_files.py
fails if any other module writes or reads a table itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import yaml
from pandas.api import types

from engine.data.schema import RERUN_FIX
from engine.errors import DataError

# column kinds: what a column's dtype may be
FLOAT, INT, NUMBER, BOOL, TIME, TEXT, ANY = "float", "int", "number", "bool", "time", "text", "any"
_KIND_CHECKS = {
    FLOAT: types.is_float_dtype,
    INT: types.is_integer_dtype,
    NUMBER: lambda d: types.is_numeric_dtype(d) and not types.is_bool_dtype(d),
    BOOL: types.is_bool_dtype,
    TIME: types.is_datetime64_any_dtype,
    TEXT: lambda d: types.is_string_dtype(d) or types.is_object_dtype(d),
    ANY: lambda d: True,
}
_EMPTY_DTYPES = {FLOAT: "float64", INT: "int64", NUMBER: "float64", BOOL: "bool", TIME: "datetime64[ns]"}


@dataclass(frozen=True)
class TableFile:
    """A table of the run folder: ``columns`` every copy has, ``maybe`` columns some runs add (hedges,
    a benchmark), and the kind of any ``others`` (one per symbol, variant or swept parameter; None:
    no other column). ``index``: the column a frame is indexed by in memory (written as a column)."""

    name: str
    columns: Mapping[str, str]
    maybe: Mapping[str, str] = field(default_factory=dict)
    others: str | None = None
    index: str | None = None

    def kind(self, column: str) -> str | None:
        return self.columns.get(column) or self.maybe.get(column) or self.others


@dataclass(frozen=True)
class DocumentFile:
    """A document of the run folder: YAML text (config.yaml) or a JSON mapping."""

    name: str


_EVENT_KEYS = {"event_id": INT, "date": TIME, "session": TEXT, "session_date": TIME, "kind": TEXT, "title": TEXT}
_EVENT_PATH = {"complete": BOOL, "peak_date": TIME, "trough_date": TIME, "recovery_date": TIME,
               "sessions_to_recover": INT, "recovered_in_window": BOOL, "overlap": BOOL, "cluster": TEXT,
               "symbols": TEXT}  # symbols: the tickers the event names (folders before it lack it)
_TABLES = (
    # a run (engine.run.folder.run_tables)
    TableFile("equity.parquet", {"date": TIME, "equity": FLOAT, "cash": FLOAT},
              maybe={"hedge_value": FLOAT, "hedge_cash": FLOAT, "benchmark": FLOAT}, index="date"),
    TableFile("weights.parquet", {"date": TIME}, others=FLOAT, index="date"),  # + one column per symbol
    TableFile("trades.parquet", {"session": TIME, "decided": TIME, "symbol": TEXT, "side": TEXT, "shares": FLOAT,
                                 "price": FLOAT, "notional": FLOAT, "fees": FLOAT}),
    TableFile("rules.parquet", {"session": TIME, "symbol": TEXT, "rule": TEXT, "before": FLOAT, "after": FLOAT,
                                "reason": TEXT}),  # with a rule pipeline
    # with hedges: per leg and session (engine.hedges.book.HEDGE_COLUMNS); + spot, vol, value, cash_flow, ...
    TableFile("hedges.parquet", {"date": TIME, "hedge": TEXT},
              maybe={"package": INT, "leg": INT, "decided": TIME, "underlying": TEXT, "right": TEXT, "expiry": TIME},
              others=FLOAT),
    # the event study (engine.analysis.event_run): per event × symbol, per event × book, aggregates, CAR paths
    TableFile("events.parquet", _EVENT_KEYS | {"symbol": TEXT},
              maybe={"role": TEXT, "group": TEXT, "estimation_n": NUMBER} | _EVENT_PATH, others=FLOAT),
    TableFile("event_strategy.parquet", _EVENT_KEYS | {"book": TEXT}, maybe=_EVENT_PATH, others=FLOAT),
    TableFile("event_summary.parquet", {"subject": TEXT, "by": TEXT, "key": TEXT, "metric": TEXT, "n_events": INT,
                                        "mean": FLOAT}, maybe={"n": NUMBER, "n_clusters": NUMBER}, others=FLOAT),
    TableFile("event_car.parquet", {"subject": TEXT, "by": TEXT, "key": TEXT, "measure": TEXT, "offset": INT,
                                    "n": INT, "mean": FLOAT, "lower": FLOAT, "upper": FLOAT}, maybe={"median": FLOAT}),
    # scenarios (engine.analysis.scenario_run)
    TableFile("scenarios.parquet", {"scenario": TEXT, "probability": FLOAT, "measure": TEXT, "with_hedges": BOOL,
                                    "pnl": FLOAT, "ret": FLOAT, "as_of": TIME, "set": TEXT, "horizon": INT}),
    TableFile("stress.parquet", {"window": TEXT, "start": TIME, "end": TIME, "with_hedges": BOOL, "pnl": FLOAT,
                                 "ret": FLOAT, "benchmark_return": FLOAT, "vol_shift": FLOAT, "proxied": TEXT}),
    TableFile("scorecard.parquet", {"factor": TEXT, "realised": FLOAT, "scenario": TEXT, "inside": BOOL,
                                    "brier": FLOAT, "as_of": TIME, "issued": TEXT}),
    # a comparison (engine.sweep.compare): + every swept parameter, metric and statistic
    TableFile("variants.parquet", {"variant": TEXT, "sharpe": FLOAT, "cagr": FLOAT, "max_drawdown": FLOAT},
              maybe={"rank": INT, "beats_base": BOOL, "verdict": TEXT}, others=ANY),
    TableFile("variant_equity.parquet", {"date": TIME}, others=FLOAT, index="date"),  # + one column per variant
    TableFile("ranking.csv", {"rank": INT, "variant": TEXT, "sharpe": FLOAT, "cagr": FLOAT, "max_drawdown": FLOAT},
              maybe={"sharpe_diff": FLOAT, "diff_lower": FLOAT, "diff_upper": FLOAT, "dsr": FLOAT, "verdict": TEXT}),
    # an attribution (engine.sweep.attribution): + loo_<metric>, sharpe_lower/upper, loo_sharpe_lower/upper
    TableFile("attribution.parquet", {"step": TEXT, "kind": TEXT, "cagr": FLOAT, "sharpe": FLOAT,
                                      "max_drawdown": FLOAT}, others=FLOAT),
    TableFile("attribution_equity.parquet", {"date": TIME}, others=FLOAT, index="date"),  # + one column per variant
)
_DOCUMENTS = (DocumentFile("config.yaml"), DocumentFile("manifest.json"), DocumentFile("metrics.json"),
              DocumentFile("statistics.json"))
FILES: dict[str, TableFile | DocumentFile] = {f.name: f for f in (*_TABLES, *_DOCUMENTS)}
REPORTS = ("report.html", "report.pdf")  # written by engine.report from the files above

# the files of each kind of folder
RUN_TABLES = ("equity.parquet", "weights.parquet", "trades.parquet")
DOCUMENTS = ("config.yaml", "manifest.json", "metrics.json")
RULES = "rules.parquet"
HEDGES = "hedges.parquet"
EVENT_FILES = ("events.parquet", "event_summary.parquet", "event_car.parquet", "event_strategy.parquet")
SCENARIO_FILES = ("scenarios.parquet", "stress.parquet", "scorecard.parquet")
COMPARE_FILES = ("variants.parquet", "variant_equity.parquet", "ranking.csv", "statistics.json")
ATTRIBUTION_FILES = ("attribution.parquet", "attribution_equity.parquet")
FILE_SETS = (EVENT_FILES, SCENARIO_FILES)  # written together: a new set replaces the old one whole


def write_file(folder: Path, name: str, content: pd.DataFrame | Mapping | str) -> Path:
    """Write one declared file into ``folder``: a table (checked against its declaration; an indexed
    frame gets its index back as a column), a JSON mapping, or config.yaml's text. ``folder`` is one
    being built (engine.atomic's folder writers make it appear, or change, as a whole)."""
    spec = FILES.get(name)
    if spec is None:
        raise ValueError(f"{name} is not a file of the run-folder contract (engine.run.files.FILES)")
    path = Path(folder) / name
    if isinstance(spec, TableFile):
        frame = conform(spec, content)
        if name.endswith(".csv"):
            frame.to_csv(path, index=False)
        else:
            frame.to_parquet(path, index=False)
    else:
        path.write_text(content if name.endswith(".yaml") else json.dumps(content, indent=2) + "\n")
    return path


def write_tables(folder: Path, tables: Mapping[str, pd.DataFrame]) -> list[Path]:
    """Add tables to ``folder`` (write_file each); a set they belong to (FILE_SETS) replaces its earlier
    files whole, so scenarios without stress windows leave no old stress.parquet behind."""
    for group in FILE_SETS:
        if set(group) & set(tables):
            for name in set(group) - set(tables):
                (Path(folder) / name).unlink(missing_ok=True)
    return [write_file(folder, name, table) for name, table in tables.items()]


def conform(spec: TableFile, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as written: its index a column if the file is indexed, every column as declared
    (a column without a value, as in an empty table, cast to its kind); a column the declaration
    lacks or a dtype it forbids raises TypeError."""
    if spec.index is not None and frame.index.name == spec.index:
        frame = frame.reset_index()
    absent = [c for c in spec.columns if c not in frame.columns]
    if absent:
        raise TypeError(f"run-folder contract: {spec.name} has no column {absent[0]!r}")
    # dtypes read once and the column scanned last: a sweep's equity has a column per variant
    dtypes = frame.dtypes
    frame = frame.astype({c: _EMPTY_DTYPES[spec.kind(c)] for c in frame.columns  # no value: pandas guessed
                          if spec.kind(c) in _EMPTY_DTYPES and not _fits(spec.kind(c), dtypes[c])
                          and frame[c].isna().all()})
    dtypes = frame.dtypes
    wrong = next((c for c in frame.columns if spec.kind(c) is None or not _fits(spec.kind(c), dtypes[c])), None)
    if wrong is not None:
        raise TypeError(f"run-folder contract: {spec.name} column {wrong!r} is {frame[wrong].dtype}, "
                        f"declared {spec.kind(wrong) or 'nothing (not a column of the file)'}")
    return frame


def read_file(folder: Path, name: str) -> pd.DataFrame | dict:
    """Read one declared file of ``folder``: a table (checked against its declaration, indexed as in
    memory) or a document's mapping; a missing, damaged or foreign file is a DataError naming it."""
    spec, path = FILES[name], Path(folder) / name
    if isinstance(spec, DocumentFile):
        parse = yaml.safe_load if name.endswith(".yaml") else json.loads
        try:
            value = parse(path.read_text())
        except FileNotFoundError:
            raise DataError(path, None, "not found", RERUN_FIX) from None
        except (ValueError, UnicodeDecodeError, yaml.YAMLError) as error:
            raise DataError(path, None, f"not readable ({str(error).splitlines()[0][:120]})", RERUN_FIX) from None
        if not isinstance(value, dict):
            raise DataError(path, None, "not a mapping", RERUN_FIX)
        return value
    frame = _read_table(path)
    absent = [c for c in spec.columns if c not in frame.columns]
    if absent:
        raise DataError(path, absent[0], "column missing", RERUN_FIX)
    wrong = next((c for c in frame.columns if spec.kind(c) is not None and frame[c].notna().any()
                  and not _fits(spec.kind(c), frame[c].dtype)), None)
    if wrong is not None:
        raise DataError(path, wrong, f"is {frame[wrong].dtype}, not {spec.kind(wrong)}", RERUN_FIX)
    if spec.index is not None:
        frame = frame.set_index(pd.DatetimeIndex(frame.pop(spec.index), name=spec.index))
    return frame


def path_of(folder: Path, name: str) -> Path:
    """Where the declared file ``name`` lives in ``folder`` (for a message naming it)."""
    return Path(folder) / FILES[name].name


def present(folder: Path, name: str) -> bool:
    """Whether ``folder`` holds the declared file ``name``."""
    return path_of(folder, name).is_file()


def _fits(kind: str, dtype) -> bool:
    return _KIND_CHECKS[kind](dtype)


def _read_table(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)
    except FileNotFoundError:
        raise DataError(path, None, "not found", RERUN_FIX) from None
    except (pa.ArrowException, OSError, ValueError) as error:
        raise DataError(path, None, f"not readable ({str(error).splitlines()[0][:120]})", RERUN_FIX) from None
