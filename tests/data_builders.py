"""Writers of small dataset folders for tests: valid ones, and the raw pieces to break them.

Frames are long tables in the layout of data/README.md with dates as pandas
datetimes; the writers store dates as date32 like a real dataset.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from engine.data.calendar import get_sessions

DATE_COLUMNS = ("date", "period_end", "filed")


def to_table(frame: pd.DataFrame) -> pa.Table:
    """Arrow table with date-like columns as date32 (the dataset's canonical date type)."""
    columns = {}
    for name in frame.columns:
        values = frame[name]
        if name in DATE_COLUMNS and pd.api.types.is_datetime64_any_dtype(values):
            columns[name] = pa.array(values.dt.date, pa.date32())
        else:
            columns[name] = pa.array(values.to_numpy(dtype=object) if values.dtype == object else values,
                                     from_pandas=True)
    return pa.table(columns)


def write_table(data_dir: Path, file: str, frame: pd.DataFrame | pa.Table) -> Path:
    """Write one dataset file (e.g. 'market.parquet') into ``data_dir``; returns its path."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / file
    pq.write_table(frame if isinstance(frame, pa.Table) else to_table(frame), path)
    return path


def write_prices(data_dir: Path, frame: pd.DataFrame | pa.Table) -> Path:
    return write_table(data_dir, "prices.parquet", frame)


def write_market(data_dir: Path, frame: pd.DataFrame | pa.Table) -> Path:
    return write_table(data_dir, "market.parquet", frame)


def write_fundamentals(data_dir: Path, frame: pd.DataFrame | pa.Table) -> Path:
    return write_table(data_dir, "fundamentals.parquet", frame)


def write_events(data_dir: Path, frame: pd.DataFrame | pa.Table) -> Path:
    return write_table(data_dir, "events.parquet", frame)


def write_symbols(data_dir: Path, frame: pd.DataFrame | pa.Table) -> Path:
    return write_table(data_dir, "symbols.parquet", frame)


def write_manifest(data_dir: Path, name: str = "test", synthetic: bool = True, description: str = "") -> Path:
    path = Path(data_dir) / "dataset.json"
    path.write_text(json.dumps({"name": name, "synthetic": synthetic, "description": description}))
    return path


def random_prices(symbols: Sequence[str], sessions: pd.DatetimeIndex, seed: int = 0,
                  start_price: float = 100.0, dividend_yield: float = 0.02) -> pd.DataFrame:
    """Long prices table: a geometric random walk per symbol with consistent OHLC and adj_close.

    low <= open, close <= high on every row; adj_close grows by ``dividend_yield``
    a year relative to close (so adj_factor = adj_close / close is not constant).
    """
    rng = np.random.default_rng(seed)
    rows = []
    steps = np.arange(len(sessions))
    for symbol in symbols:
        returns = rng.normal(0.0003, 0.02, len(sessions))
        close = start_price * np.exp(np.cumsum(returns))
        open_ = close * np.exp(rng.normal(0, 0.005, len(sessions)))
        high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, len(sessions)))
        low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, len(sessions)))
        factor = (1 + dividend_yield) ** ((steps - steps[-1]) / 252)
        rows.append(pd.DataFrame({
            "date": sessions, "symbol": symbol, "open": open_, "high": high, "low": low, "close": close,
            "volume": rng.integers(1_000, 1_000_000, len(sessions)).astype("float64"),
            "adj_close": close * factor,
        }))
    return pd.concat(rows, ignore_index=True)


def write_random_dataset(data_dir: Path, symbols: Sequence[str] = ("AAA", "BBB", "CCC"),
                         start="2024-01-01", end="2024-03-29", seed: int = 0, calendar: str = "XNYS") -> pd.DataFrame:
    """A valid prices-only dataset folder (plus dataset.json, synthetic); returns the prices written."""
    prices = random_prices(symbols, get_sessions(start, end, calendar), seed)
    write_prices(data_dir, prices)
    write_manifest(data_dir, synthetic=True)
    return prices


def folder_state(data_dir: Path) -> dict[str, bytes]:
    """Every file under ``data_dir`` with its bytes: compare before/after to prove nothing was written."""
    return {str(path.relative_to(data_dir)): path.read_bytes()
            for path in sorted(Path(data_dir).rglob("*")) if path.is_file()}
