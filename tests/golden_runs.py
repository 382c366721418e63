"""Golden runs: the pinned results of the shipped configs, and how a run is compared with them.

A golden file (tests/golden/<case>.json) holds every key of the run's metrics.json and a
digest of its trades.parquet and rules.parquet (row count, a few totals a reader can
compare, and a SHA-256 of the content). tests/test_golden.py checks each case against
its file; scripts/update_golden.py rewrites them when a change is meant to move results.

Cases: configs/column.yaml and configs/minimal.yaml on the bundled sample; where ../shared/data
exists, configs/minimal.yaml on its prices imported with rulebook's price importer
(``shared_minimal``) and configs/column_real.yaml on the dataset the README's "Your own data,
end to end" commands import (prices, VIX, DGS10, fundamentals, events: ``shared_column``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import shlex
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from test_real_data_path import expand_braces, readme_commands
from typer.testing import CliRunner

from engine.cli.main import app

from engine.config.run_config import load_config
from engine.data.importers import ImportSources, import_prices
from engine.data.price_files import ReadOptions
from engine.run.backtest import run_backtest

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
RTOL = 1e-12
SHARED_SYMBOLS = ("NVDA", "MSFT", "AVGO", "SPY")
UPDATE = "python scripts/update_golden.py"


def frame_digest(frame: pd.DataFrame | None) -> dict | None:
    """Rows, totals of the numeric columns and a SHA-256 of the content (column names and values)."""
    if frame is None:
        return None
    content = hashlib.sha256(",".join(map(str, frame.columns)).encode())
    content.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    totals = {column: float(frame[column].sum()) for column in frame.columns
              if pd.api.types.is_float_dtype(frame[column])}
    return {"rows": len(frame), "totals": totals, "sha256": content.hexdigest()}


def snapshot(config_path: Path, data_dir: Path | None = None) -> dict:
    """What a golden file pins for one run of ``config_path`` (on ``data_dir`` if given)."""
    overrides = {"data.dir": str(data_dir)} if data_dir is not None else None
    result = run_backtest(load_config(config_path, overrides))
    return {
        "config": str(Path(config_path).relative_to(ROOT)),
        "metrics": json.loads(json.dumps(result.metrics)),  # exactly what metrics.json holds
        "trades.parquet": frame_digest(result.strategy.orders),
        "rules.parquet": frame_digest(result.activity),
    }


def shared_dataset(shared: Path, out: Path) -> Path:
    """A dataset folder built from the real price files with rulebook's importer (prices only)."""
    raw = shared / "raw"
    files = tuple(raw / "prices_ohlcv_yahoo" / f"{symbol}.csv" for symbol in SHARED_SYMBOLS)
    import_prices(ImportSources(files, adj_close=(raw / "prices_adjclose_yahoo",)), out,
                  ReadOptions(start=pd.Timestamp("2016-01-04"), end=pd.Timestamp("2025-12-31")))
    return out


def readme_dataset(shared: Path, out: Path) -> Path:
    """The dataset the README's own-data walk-through builds, by running its `rulebook data import` lines."""
    with contextlib.chdir(ROOT):
        for line in readme_commands():
            if not line.startswith("rulebook data import"):
                continue
            command = expand_braces(line.replace("$S", str(shared))).replace("data/mine", str(out))
            result = CliRunner().invoke(app, shlex.split(command)[1:])
            if result.exit_code != 0:
                raise RuntimeError(f"{line}\n{result.output}")
    return out


def cases(shared: Path | None) -> dict[str, Callable[[], dict]]:
    """Golden case name -> a function computing its snapshot now."""
    found = {
        "column": lambda: snapshot(ROOT / "configs" / "column.yaml"),
        "minimal": lambda: snapshot(ROOT / "configs" / "minimal.yaml"),
    }
    if shared is not None and (shared / "raw" / "prices_ohlcv_yahoo").is_dir():
        def on_shared() -> dict:
            with tempfile.TemporaryDirectory() as tmp:
                return snapshot(ROOT / "configs" / "minimal.yaml", shared_dataset(shared, Path(tmp) / "shared"))
        found["shared_minimal"] = on_shared

        def column_on_shared() -> dict:
            with tempfile.TemporaryDirectory() as tmp:
                return snapshot(ROOT / "configs" / "column_real.yaml", readme_dataset(shared, Path(tmp) / "mine"))
        found["shared_column"] = column_on_shared
    return found


def golden_path(case: str) -> Path:
    return GOLDEN / f"{case}.json"


def differences(golden: dict, now: dict) -> list[str]:
    """One line per metric that moved past RTOL (golden → now, relative change) and per table whose
    digest changed; empty when the run reproduces its golden file."""
    lines = []
    was, is_ = golden["metrics"], now["metrics"]
    for key in sorted(set(was) | set(is_)):
        a, b = was.get(key, "<absent>"), is_.get(key, "<absent>")
        if _same(a, b):
            continue
        if _number(a) and _number(b):
            change = (b - a) / abs(a) if a else math.inf
            lines.append(f"metrics.{key}: {a!r} → {b!r} ({change:+.2e} relative)")
        else:
            lines.append(f"metrics.{key}: {a!r} → {b!r}")
    for table in ("trades.parquet", "rules.parquet"):
        a, b = golden.get(table), now.get(table)
        if a == b:
            continue
        if a is None or b is None:
            lines.append(f"{table}: {'absent' if a is None else 'present'} → {'absent' if b is None else 'present'}")
            continue
        moved = [f"{column} total {a['totals'][column]!r} → {b['totals'].get(column)!r}"
                 for column in a["totals"] if not _same(a["totals"][column], b["totals"].get(column))]
        lines.append(f"{table}: {a['rows']} → {b['rows']} rows, content digest changed"
                     + (f" ({'; '.join(moved)})" if moved else ""))
    return lines


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _same(a, b) -> bool:
    if _number(a) and _number(b):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b or abs(b - a) <= RTOL * max(abs(a), abs(b))
    return a == b
