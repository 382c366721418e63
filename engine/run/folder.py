"""The run folder: every file a backtest leaves behind, written atomically.

Analyses and reports read these files only; they never re-run a backtest.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import sys
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path

import pandas as pd

from engine.atomic import write_folder_atomically
from engine.config.run_config import resolved_data_dir, to_yaml
from engine.data.loader import fingerprint
from engine.run.backtest import BacktestResult

PACKAGES = ("rulebook", "vectorbt", "pandas", "numpy", "numba", "pyarrow", "pandas-market-calendars", "pydantic")


REPORTS_DIR = Path("reports")


def default_run_dir(reports_dir: Path, name: str, now: dt.datetime | None = None) -> Path:
    """``reports/<name>-<UTC time>``; the writer appends -2, -3… if another run took it this second."""
    stamp = (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    return Path(reports_dir) / f"{name}-{stamp}"


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
    """config.yaml, manifest.json, metrics.json, equity/weights/trades.parquet (and rules.parquet for a
    rule pipeline, hedges.parquet with hedges) into an existing folder."""
    (folder / "config.yaml").write_text(to_yaml(result.config))
    (folder / "metrics.json").write_text(json.dumps(result.metrics, indent=2) + "\n")
    (folder / "manifest.json").write_text(json.dumps(manifest(result, wall_seconds), indent=2) + "\n")
    _equity_frame(result).to_parquet(folder / "equity.parquet", index=False)
    weights = result.strategy.weights.rename_axis("date").reset_index()
    weights.to_parquet(folder / "weights.parquet", index=False)
    result.strategy.orders.to_parquet(folder / "trades.parquet", index=False)
    if result.activity is not None:
        result.activity.to_parquet(folder / "rules.parquet", index=False)
    if result.hedges is not None:
        result.hedges.legs.to_parquet(folder / "hedges.parquet", index=False)


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


def _equity_frame(result: BacktestResult) -> pd.DataFrame:
    frame = pd.DataFrame({"equity": result.equity, "cash": result.strategy.cash})
    if result.hedges is not None:  # equity is the total: stock book + hedge_cash + hedge_value
        frame["hedge_value"], frame["hedge_cash"] = result.hedges.value, result.hedges.cash
    if result.benchmark is not None:
        frame["benchmark"] = result.benchmark.equity
    return frame.rename_axis("date").reset_index()


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None
