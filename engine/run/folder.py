"""A run folder: what a backtest writes into one, and the whole folder read back.

A backtest leaves a run folder behind; analyses and reports read these files only, they never
re-run a backtest. ``run_tables`` gives the frames a backtest writes (also what ``rulebook.Result``
shows), ``write_run_files`` writes them, and ``RunFolder.read`` reads every file back, indexed the
same way, so a notebook, the CLI and a report see the same tables. Each file's name, columns and
dtypes, and the one writer and reader of a single file, are in engine.run.files.
"""

from __future__ import annotations

import datetime as dt
import platform
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from engine.atomic import write_folder_atomically
from engine.config.run_config import resolved_data_dir, to_yaml
from engine.data.loader import fingerprint
from engine.errors import DataError
from engine.run import files
from engine.run.files import HEDGES, RULES, read_file, write_file

if TYPE_CHECKING:  # the writer's input; importing it here would load the simulator into every reader
    from engine.run.backtest import BacktestResult

PACKAGES = ("rulebook", "vectorbt", "pandas", "numpy", "numba", "pyarrow", "pandas-market-calendars", "pydantic")
# the tables a reader loads when present, by file stem (rules, hedges, events, variants, ...)
OPTIONAL = tuple(name for name, spec in files.FILES.items()
                 if isinstance(spec, files.TableFile) and name not in files.RUN_TABLES)


REPORTS_DIR = Path("reports")


def default_run_dir(reports_dir: Path, name: str, now: dt.datetime | None = None) -> Path:
    """``reports/<name>-<UTC time>``; the writer appends -2, -3… if another run took it this second."""
    stamp = (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    return Path(reports_dir) / f"{name}-{stamp}"


# ---- writer -------------------------------------------------------------------------------------

def run_tables(result: BacktestResult) -> dict[str, pd.DataFrame]:
    """The tables of a backtest by file name, as held in memory (equity and weights indexed by date)."""
    equity = pd.DataFrame({"equity": result.equity, "cash": result.strategy.cash})
    if result.hedges is not None:  # equity is the total: stock book + hedge_cash + hedge_value
        equity["hedge_value"], equity["hedge_cash"] = result.hedges.value, result.hedges.cash
    if result.benchmark is not None:
        equity["benchmark"] = result.benchmark.equity
    tables = {"equity.parquet": equity.rename_axis("date"),
              "weights.parquet": result.strategy.weights.rename_axis("date"),
              "trades.parquet": result.strategy.orders}
    if result.activity is not None:
        tables[RULES] = result.activity
    if result.hedges is not None:
        tables[HEDGES] = result.hedges.legs
    return tables


def save_run(result: BacktestResult, out_dir: Path | None, *, wall_seconds: float,
             extras: Sequence[Callable[[Path], object]] = (), kind: str = "") -> Path:
    """Write a run folder (see write_run_files) and return where it is.

    ``extras`` add the rest of what the command writes (a sweep's tables, event study, reports)
    to the folder before it appears: the folder is complete or absent, whatever fails or is
    interrupted. ``out_dir`` None means a fresh ``reports/<name>[-kind]-<UTC time>``; an existing
    ``out_dir`` is refused.
    """
    def fill(folder: Path) -> None:
        write_run_files(result, folder, wall_seconds=wall_seconds)
        for extra in extras:
            extra(folder)

    target = out_dir if out_dir is not None else default_run_dir(REPORTS_DIR, result.config.name + kind)
    return write_folder_atomically(target, fill, unique=out_dir is None)


def write_run_files(result: BacktestResult, folder: Path, *, wall_seconds: float) -> None:
    """config.yaml, manifest.json, metrics.json and the tables of ``run_tables`` into an existing folder."""
    write_file(folder, "config.yaml", to_yaml(result.config))
    write_file(folder, "metrics.json", result.metrics)
    write_file(folder, "manifest.json", manifest(result, wall_seconds))
    for name, table in run_tables(result).items():
        write_file(folder, name, table)


def manifest(result: BacktestResult, wall_seconds: float) -> dict:
    """Provenance: what ran, on which data (fingerprint), with which packages, how long."""
    data = result.data
    return {
        "run": result.config.name,
        "created_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": sys.argv,
        "start": data.sessions[0].date().isoformat(),
        "end": data.sessions[-1].date().isoformat(),
        "sessions": len(data.sessions),
        "data": {
            "dir": str(resolved_data_dir(result.config)),
            "synthetic": data.synthetic,
            "files": [str(path) for path in data.files],
            "fingerprint": fingerprint(data.files),
            "gaps_filled": data.gaps.astype(str).to_dict(orient="records"),
            "fundamentals_rows": len(data.fundamentals),
            "fundamentals_assumed_dates": _assumed_dates(data.fundamentals),
        },
        "wall_seconds": round(wall_seconds, 3),
        "python": platform.python_version(),
        "packages": {name: _version(name) for name in PACKAGES},
    }


def _assumed_dates(fundamentals: pd.DataFrame) -> int:
    """Filings whose date was assumed at import (period end + --assumed-lag), not found."""
    if "filed_assumed" not in fundamentals:
        return 0
    return int(fundamentals["filed_assumed"].fillna(False).astype(bool).sum())


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


# ---- reader -------------------------------------------------------------------------------------

def is_run_folder(path: Path) -> bool:
    """Whether ``path`` holds a run folder's files (its manifest, at least)."""
    return files.present(path, "manifest.json")


class _OptionalTables(Mapping):
    """The optional tables a folder holds, by file stem, each read on first use and kept: a report
    reads the sections it draws, not every table (a sweep's per-variant equity is large)."""

    def __init__(self, path: Path):
        self._path = path
        self._names = {name.rpartition(".")[0]: name for name in OPTIONAL if files.present(path, name)}
        self._read: dict[str, pd.DataFrame] = {}

    def __getitem__(self, stem: str) -> pd.DataFrame:
        if stem not in self._read:
            self._read[stem] = read_file(self._path, self._names[stem])
        return self._read[stem]

    def __iter__(self):
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


@dataclass(frozen=True)
class RunFolder:
    """The files of one run folder, read once (optional tables are absent from ``optional``)."""

    path: Path
    config: dict  # config.yaml as written (engine.config.run_config.load_config validates it)
    manifest: dict
    metrics: dict
    equity: pd.DataFrame  # indexed by date: equity, cash[, hedge_value, hedge_cash][, benchmark]
    weights: pd.DataFrame  # date × symbol
    trades: pd.DataFrame
    optional: Mapping[str, pd.DataFrame]  # by file stem: rules, hedges, events, ... (OPTIONAL), read on first use
    statistics: dict | None = None  # a comparison's statistics.json

    @classmethod
    def read(cls, path: Path) -> "RunFolder":
        """Read a run folder; a missing file or column is a DataError naming it."""
        path = Path(path)
        missing = [name for name in (*files.DOCUMENTS, *files.RUN_TABLES) if not files.present(path, name)]
        if missing:
            raise DataError(path / missing[0], None, "not found: this is not a complete run folder",
                            "pass the folder `rulebook run` wrote (reports/<name>-<time>)")
        return cls(
            path=path,
            config=read_file(path, "config.yaml"),
            manifest=read_file(path, "manifest.json"),
            metrics=read_file(path, "metrics.json"),
            equity=read_file(path, "equity.parquet"),
            weights=read_file(path, "weights.parquet"),
            trades=read_file(path, "trades.parquet"),
            optional=_OptionalTables(path),
            statistics=read_file(path, "statistics.json") if files.present(path, "statistics.json") else None,
        )

    @property
    def event_window(self) -> tuple[int, int] | None:
        """(first, last) session offset of the event study files' windows (None without them): the window
        `rulebook events` used, which --window may have set apart from the config's event_study.window."""
        car = self.optional.get("event_car")
        if car is None or car.empty:
            return None
        return int(car["offset"].min()), int(car["offset"].max())

    @property
    def has_benchmark(self) -> bool:
        return "benchmark" in self.equity.columns and self.equity["benchmark"].notna().any()

    @property
    def hedges(self) -> pd.DataFrame | None:
        """hedges.parquet, or None for a run without hedges."""
        return self.optional.get("hedges")
