"""A large SYNTHETIC dataset (N names x Y years) and a column config over it, for timing only.

The bundled sample has 26 names; a user's universe may have hundreds. This writes a dataset folder in
the layout of data/README.md with random-walk prices for N names plus SPY, the market series the
column's rules read (VIX, DGS10, HY_OAS), quarterly fundamentals and a few events, fast (vectorised
numpy, one seed), so the benchmarks can time loading and running at that scale. Never used by tests.

    python benchmarks/synthetic_universe.py OUT_DIR --names 300 --years 10
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from engine.data.calendar import get_sessions

ROOT = Path(__file__).resolve().parents[1]
THEMES = ("semis", "hyperscalers", "power", "networking", "servers", "datacenter", "software", "utilities")
END = pd.Timestamp("2025-12-31")


def symbols(n_names: int) -> list[str]:
    return [f"S{k:04d}" for k in range(n_names)]


def write_universe(out: Path, n_names: int, years: int, seed: int = 0) -> Path:
    """Write the dataset folder ``out`` (prices, market, fundamentals, events, symbols, dataset.json)."""
    rng = np.random.default_rng(seed)
    sessions = get_sessions(END - pd.DateOffset(years=years) + pd.Timedelta(days=1), END)
    names = symbols(n_names) + ["SPY"]
    n, t = len(names), len(sessions)
    listed = np.where(rng.random(n) < 0.2, rng.integers(0, t // 2, n), 0)  # a fifth list during the period
    listed[-1] = 0
    market_move = rng.normal(0.0004, 0.011, t)
    beta = rng.uniform(0.6, 1.8, n)
    beta[-1] = 1.0
    returns = beta[:, None] * market_move + rng.standard_t(4, (n, t)) * rng.uniform(0.008, 0.03, (n, 1)) * 0.7
    returns[-1] = market_move
    close = 20 * np.exp(np.cumsum(returns, axis=1)) * rng.uniform(1, 10, (n, 1))
    alive = np.arange(t)[None, :] >= listed[:, None]
    spread = np.abs(rng.normal(0, 0.006, (n, t)))
    open_ = close * np.exp(rng.normal(0, 0.004, (n, t)))
    high = np.maximum(open_, close) * (1 + spread)
    low = np.minimum(open_, close) * (1 - spread)
    volume = rng.lognormal(15, 0.6, (n, t)).round()
    dividend = np.cumprod(np.full((n, t), 1 + 0.015 / 252), axis=1)
    row, col = np.nonzero(alive)
    prices = pd.DataFrame({"date": sessions[col], "symbol": np.array(names)[row], "open": open_[row, col],
                           "high": high[row, col], "low": low[row, col], "close": close[row, col],
                           "volume": volume[row, col], "adj_close": (close * dividend)[row, col]})
    out.mkdir(parents=True, exist_ok=True)
    _write(out / "prices.parquet", prices)
    vix = np.clip(18 + np.cumsum(rng.normal(0, 0.8, t)) * 0.3 + 40 * np.abs(market_move), 9, 80)
    market = pd.concat([pd.DataFrame({"date": sessions, "series": series, "value": values}) for series, values in
                        (("VIX", vix), ("DGS10", 2.5 + np.cumsum(rng.normal(0, 0.03, t)) * 0.2),
                         ("HY_OAS", 4 + np.cumsum(rng.normal(0, 0.02, t)) * 0.1))], ignore_index=True)
    _write(out / "market.parquet", market)
    _write(out / "fundamentals.parquet", _fundamentals(rng, names[:-1], sessions))
    _write(out / "events.parquet", _events(rng, names[:-1], sessions))
    themes = [THEMES[k % len(THEMES)] for k in range(n_names)] + ["index"]
    _write(out / "symbols.parquet", pd.DataFrame({"symbol": names, "name": names, "sector": themes, "theme": themes}))
    (out / "dataset.json").write_text(json.dumps({
        "name": f"synthetic-{n_names}x{years}", "synthetic": True,
        "description": f"SYNTHETIC benchmark data: {n_names} random-walk names x {years} years (benchmarks/)"}))
    return out


def _fundamentals(rng: np.random.Generator, names: list[str], sessions: pd.DatetimeIndex) -> pd.DataFrame:
    quarters = pd.date_range(sessions[0] - pd.DateOffset(years=1), END - pd.DateOffset(months=2), freq="QE")
    frame = pd.MultiIndex.from_product([names, quarters], names=["symbol", "period_end"]).to_frame(index=False)
    size = len(frame)
    revenue = rng.lognormal(7, 1, size)
    frame["filed"] = frame["period_end"] + pd.to_timedelta(rng.integers(25, 60, size), unit="D")
    frame = frame.assign(revenue=revenue, operating_income=revenue * rng.uniform(-0.05, 0.4, size),
                         interest_expense=revenue * rng.uniform(0.001, 0.05, size), cash=revenue * rng.uniform(0.1, 2, size),
                         total_debt=revenue * rng.uniform(0, 3, size), capex=revenue * rng.uniform(0.02, 0.6, size))
    return frame


def _events(rng: np.random.Generator, names: list[str], sessions: pd.DatetimeIndex) -> pd.DataFrame:
    count = max(10, len(names) // 5)
    kinds = rng.choice(["regulatory", "shock", "deal", "earnings"], count)
    return pd.DataFrame({"date": np.sort(rng.choice(sessions, count)), "session": "pre", "kind": kinds,
                         "title": [f"synthetic {kind}" for kind in kinds],
                         "symbols": [";".join(rng.choice(names, 2, replace=False)) for _ in range(count)],
                         "counterparties": "", "amount_usd_bn": np.nan, "source": "synthetic", "confidence": "high"})


def _write(path: Path, frame: pd.DataFrame) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    dates = [pa.field(f.name, pa.date32()) if pa.types.is_timestamp(f.type) else f for f in table.schema]
    pq.write_table(table.cast(pa.schema(dates)), path)


def column_config(data_dir: Path, folder: Path, n_names: int, years: int, **overrides) -> Path:
    """configs/column.yaml over the synthetic names (groups by theme), event study and reports off."""
    raw = yaml.safe_load((ROOT / "configs" / "column.yaml").read_text())
    names = symbols(n_names)
    groups = {theme: [name for k, name in enumerate(names) if THEMES[k % len(THEMES)] == theme] for theme in THEMES}
    raw["data"]["dir"] = str(data_dir)
    raw["universe"] = {"symbols": names, "groups": {g: m for g, m in groups.items() if m}}
    raw["period"] = {"start": str((END - pd.DateOffset(years=years) + pd.Timedelta(days=1)).date()), "end": str(END.date())}
    raw["rules"]["caps"]["name"] = max(0.02, round(2.0 / n_names, 4))
    raw["rules"]["caps"]["groups"] = {"semis": 0.35, "hyperscalers": 0.30}
    raw.update(event_study={"enabled": False}, report={"enabled": False}, **overrides)
    raw.pop("variants", None)
    path = folder / f"column-{n_names}x{years}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--names", type=int, default=300)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    write_universe(args.out, args.names, args.years, args.seed)
    print(column_config(args.out, args.out, args.names, args.years))


if __name__ == "__main__":
    main()
