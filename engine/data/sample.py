"""The bundled SYNTHETIC sample dataset: a seeded imitation of the US AI-infrastructure market.

`rulebook run configs/column.yaml` must work without market data, so the project generates its own
sample. It is synthetic (dataset.json says so), deterministic (numpy ``default_rng(seed)`` only)
and realistic: betas, vols, clustering, tails, jumps, gaps and volumes are the real market's,
estimated into engine/data/sample_params.py. The AI-event calendar is real (data/events/ai_events.csv);
prices, market series and fundamentals are made up.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pandas_market_calendars as mcal
import pyarrow as pa
import pyarrow.parquet as pq

from engine.data import sample_model as M
from engine.atomic import write_folder_atomically
from engine.data import sample_params as P

DEFAULT_SEED = 20251231
START, END = "2016-01-04", "2025-12-31"
FIRST_PERIOD_END = "2015-12-31"
ROOT = Path(__file__).resolve().parents[2]
EVENTS_CSV = ROOT / "data" / "events" / "ai_events.csv"
SAMPLE_DIR = ROOT / "data" / "sample"
NEXT_SESSION_AFTER = ("post", "closed")  # news after the close or on a closed day trades next session
FUNDAMENTAL_COLUMNS = ["revenue", "operating_income", "interest_expense", "cash", "total_debt", "capex"]


def sample_sessions() -> pd.DatetimeIndex:
    days = mcal.get_calendar("XNYS").valid_days(START, END)
    return pd.DatetimeIndex(days.tz_localize(None).normalize().as_unit("ns"))


def first_rows(sessions: pd.DatetimeIndex) -> dict[str, int]:
    """Row index of each symbol's first session (its listing, or the sample start)."""
    return {s: int(sessions.searchsorted(pd.Timestamp(P.LISTING.get(s, START)))) for s in M.SYMBOLS}


def read_events() -> pd.DataFrame:
    """The real AI-event calendar rows dated up to the sample's end, typed as events.parquet wants."""
    events = pd.read_csv(EVENTS_CSV, dtype=str, keep_default_na=False)
    events["date"] = pd.to_datetime(events["date"])
    events = events[events["date"] <= pd.Timestamp(END)].reset_index(drop=True)
    events["amount_usd_bn"] = pd.to_numeric(events["amount_usd_bn"].replace("", np.nan))
    return events


def event_days(events: pd.DataFrame, sessions: pd.DatetimeIndex, first: dict[str, int]) -> dict[str, list[int]]:
    """Row of each listed symbol's first tradable session after each event."""
    days: dict[str, set[int]] = {}
    for row in events.itertuples():
        side = "right" if row.session in NEXT_SESSION_AFTER else "left"
        day = int(sessions.searchsorted(row.date, side=side))
        for symbol in filter(None, row.symbols.split(";")):
            if symbol in P.STOCKS and first[symbol] < day < len(sessions):
                days.setdefault(symbol, set()).add(day)
    return {s: sorted(d) for s, d in sorted(days.items())}


def earnings_calendar(rng: np.random.Generator, sessions: pd.DatetimeIndex, first: dict[str, int]) -> pd.DataFrame:
    """Quarterly (calendar-quarter) release and filing dates of every stock, filed by the sample's end."""
    rows = []
    quarter_ends = pd.date_range(FIRST_PERIOD_END, END, freq="QE")
    for symbol in P.STOCKS:
        release_lag = int(rng.integers(P.RELEASE_LAG_DAYS[0], P.RELEASE_LAG_DAYS[1] + 1))
        listed = sessions[first[symbol]]
        for period_end in quarter_ends[quarter_ends >= listed] if symbol in P.LISTING else quarter_ends:
            released = period_end + pd.Timedelta(days=release_lag)
            if period_end.month == 12:
                filed = period_end + pd.Timedelta(days=int(rng.integers(P.TEN_K_LAG_DAYS[0], P.TEN_K_LAG_DAYS[1] + 1)))
            else:
                filed = released + pd.Timedelta(days=int(rng.integers(P.TEN_Q_EXTRA_DAYS[0], P.TEN_Q_EXTRA_DAYS[1] + 1)))
            if filed <= pd.Timestamp(END):
                rows.append((symbol, period_end, released, filed))
    return pd.DataFrame(rows, columns=["symbol", "period_end", "released", "filed"])


def earnings_days(calendar: pd.DataFrame, sessions: pd.DatetimeIndex, first: dict[str, int]) -> dict[str, list[int]]:
    """Releases come after the close: the reaction is the next session."""
    days = sessions.searchsorted(pd.DatetimeIndex(calendar["released"]), side="right")
    out: dict[str, list[int]] = {}
    for symbol, day in zip(calendar["symbol"], days):
        if first[symbol] < day < len(sessions):
            out.setdefault(symbol, []).append(int(day))
    return out


def profile(symbol: str, period_end: pd.Timestamp) -> np.ndarray:
    """(growth, margin, debt/revenue, cash/revenue, capex/revenue, coupon) of a name at a date."""
    if symbol == P.STRESSED_NAME:
        start, end = (pd.Timestamp(d) for d in P.STRESS_WINDOW)
        weight = float(np.clip((period_end - start) / (end - start), 0.0, 1.0))
        return (1 - weight) * np.array(P.STRESS_CALM) + weight * np.array(P.STRESS_STRESSED)
    return np.array(P.PROFILE_OVERRIDES.get(symbol, P.FUNDAMENTAL_PROFILE[P.STOCKS[symbol][2]]))


def fundamentals(rng: np.random.Generator, calendar: pd.DataFrame) -> pd.DataFrame:
    """Quarterly statements (USD millions) following each name's profile; revenue grows smoothly."""
    anchor = pd.Timestamp("2025-09-30")
    rows = []
    for row in calendar.itertuples():
        growth, margin, debt, cash, capex, coupon = profile(row.symbol, row.period_end)
        years = (row.period_end - anchor).days / 365.25
        scale = P.REVENUE_PER_DOLLAR_VOLUME * P.DOLLAR_VOLUME_END[row.symbol] * np.exp(growth * years)
        revenue = scale * (1.0 + P.REVENUE_NOISE * rng.standard_normal())
        total_debt = debt * 4.0 * scale
        rows.append((row.symbol, row.period_end, row.filed, revenue,
                     margin * revenue * (1.0 + P.REVENUE_NOISE * rng.standard_normal()),
                     total_debt * coupon / 4.0, cash * 4.0 * scale * (1.0 + P.REVENUE_NOISE * rng.standard_normal()),
                     total_debt, capex * revenue))
    return pd.DataFrame(rows, columns=["symbol", "period_end", "filed", *FUNDAMENTAL_COLUMNS])


def symbols_table() -> pd.DataFrame:
    meta = {**P.STOCKS, **P.ETFS}
    return pd.DataFrame([(s, *meta[s]) for s in M.SYMBOLS], columns=["symbol", "name", "sector", "theme"])


def _as_date32(frame: pd.DataFrame, *columns: str) -> pa.Table:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for name in columns:
        i = table.schema.get_field_index(name)
        table = table.set_column(i, name, table.column(name).cast(pa.timestamp("ns")).cast(pa.date32()))
    strings = [(i, f.name) for i, f in enumerate(table.schema) if pa.types.is_large_string(f.type)]
    for i, name in strings:
        table = table.set_column(i, name, table.column(name).cast(pa.string()))
    return table.replace_schema_metadata(None)


def build_tables(seed: int) -> dict[str, pd.DataFrame]:
    """Every table of the sample, as DataFrames (the same seed gives identical frames)."""
    rng = np.random.default_rng(seed)
    sessions = sample_sessions()
    first = first_rows(sessions)
    events = read_events()
    calendar = earnings_calendar(rng, sessions, first)
    paths = M.simulate_returns(rng, sessions, first, event_days(events, sessions, first), earnings_days(calendar, sessions, first))
    return {
        "prices": M.price_bars(rng, paths, first),
        "market": M.market_series(rng, paths),
        "fundamentals": fundamentals(rng, calendar),
        "events": events,
        "symbols": symbols_table(),
    }


DATE_COLUMNS = {"prices": ("date",), "market": ("date",), "fundamentals": ("period_end", "filed"), "events": ("date",)}


def generate_sample(out_dir: Path, seed: int = DEFAULT_SEED) -> None:
    """Write the sample folder atomically (built beside it, then renamed; an old one is replaced)."""
    out_dir = Path(out_dir)
    readme = out_dir / "README.md"
    kept_readme = readme.read_text() if readme.exists() else None  # the committed README documents the folder
    tables = build_tables(seed)

    def fill(folder: Path) -> None:
        for name, frame in tables.items():
            pq.write_table(_as_date32(frame, *DATE_COLUMNS.get(name, ())), folder / f"{name}.parquet", compression="zstd")
        manifest = {
            "name": "rulebook-sample",
            "synthetic": True,
            "description": f"SYNTHETIC sample data generated by engine/data/sample.py (seed {seed}); not real prices",
            "seed": seed,
            "generator": "engine.data.sample.generate_sample",
        }
        (folder / "dataset.json").write_text(json.dumps(manifest, indent=2) + "\n")
        if kept_readme is not None:
            (folder / "README.md").write_text(kept_readme)

    write_folder_atomically(out_dir, fill, replace=True)


if __name__ == "__main__":
    generate_sample(SAMPLE_DIR)
