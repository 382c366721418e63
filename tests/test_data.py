"""Dataset loading: validation errors, session alignment, knowledge times and gap filling."""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data_builders import (folder_state, random_prices, to_table, write_events, write_fundamentals, write_market,
                           write_prices, write_random_dataset, write_symbols)
from engine.data.calendar import get_sessions
from engine.data.loader import dataset_files, fingerprint, load_dataset
from engine.errors import DataError

SYMBOLS = ("AAA", "BBB", "CCC")
START, END = "2024-01-01", "2024-03-29"


@pytest.fixture
def prices(tmp_path) -> pd.DataFrame:
    return write_random_dataset(tmp_path, SYMBOLS, START, END)


def load_error(data_dir: Path, **options) -> DataError:
    """The DataError a load raises; also proves the failed load left the folder untouched."""
    before = folder_state(data_dir)
    with pytest.raises(DataError) as error:
        load_dataset(data_dir, **options)
    assert folder_state(data_dir) == before
    return error.value


def row(frame: pd.DataFrame, symbol: str, day: str) -> pd.Series:
    return (frame["symbol"] == symbol) & (frame["date"] == pd.Timestamp(day))


# --- bad input -----------------------------------------------------------------------------------

def test_garbage_bytes_are_reported_as_unreadable(tmp_path):
    (tmp_path / "prices.parquet").write_bytes(b"date,symbol,close\n2024-01-02,AAA,1\n")
    error = load_error(tmp_path)
    assert error.file.endswith("prices.parquet") and error.field is None
    assert "not a readable Parquet file" in str(error)


def test_truncated_file_is_reported_as_unreadable(tmp_path, prices):
    path = tmp_path / "prices.parquet"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    error = load_error(tmp_path)
    assert error.file.endswith("prices.parquet") and "not a readable Parquet file" in str(error)


def test_missing_prices_file_is_named(tmp_path):
    error = load_error(tmp_path)
    assert error.file.endswith("prices.parquet") and "not found" in str(error)


def test_missing_required_column(tmp_path, prices):
    write_prices(tmp_path, prices.drop(columns=["low"]))
    error = load_error(tmp_path)
    assert error.field == "low" and "missing" in error.problem


@pytest.mark.parametrize("column, values", [("close", lambda s: s.map(str)), ("date", lambda s: s.dt.strftime("%Y-%m-%d")),
                                            ("symbol", lambda s: np.arange(len(s)))])
def test_mistyped_column(tmp_path, prices, column, values):
    write_prices(tmp_path, prices.assign(**{column: values(prices[column])}))
    error = load_error(tmp_path)
    assert error.file.endswith("prices.parquet") and error.field == column
    assert "has type" in error.problem


def test_duplicate_rows_are_named(tmp_path, prices):
    write_prices(tmp_path, pd.concat([prices, prices[row(prices, "BBB", "2024-01-03")]]))
    error = load_error(tmp_path)
    assert error.field == "date" and "2024-01-03 BBB" in error.problem


@pytest.mark.parametrize("column, value", [("close", np.nan), ("open", 0.0), ("low", -1.0), ("adj_close", np.nan)])
def test_bad_prices_name_symbol_and_date(tmp_path, prices, column, value):
    broken = prices.copy()
    broken.loc[row(broken, "BBB", "2024-02-01"), column] = value
    write_prices(tmp_path, broken)
    error = load_error(tmp_path)
    assert error.field == column and "BBB 2024-02-01" in error.problem


def test_high_below_low(tmp_path, prices):
    broken = prices.copy()
    mask = row(broken, "CCC", "2024-03-01")
    broken.loc[mask, ["high", "low"]] = broken.loc[mask, ["low", "high"]].to_numpy()
    write_prices(tmp_path, broken)
    error = load_error(tmp_path)
    assert error.field == "high" and "CCC 2024-03-01" in error.problem


def test_close_outside_range_beyond_tolerance(tmp_path, prices):
    broken = prices.copy()
    mask = row(broken, "AAA", "2024-01-10")
    broken.loc[mask, "close"] = broken.loc[mask, "high"] * 1.001
    write_prices(tmp_path, broken)
    assert "AAA 2024-01-10" in load_error(tmp_path).problem
    # float32 noise (a relative 1e-8 above the high) is accepted
    broken.loc[mask, "close"] = broken.loc[mask, "high"] * (1 + 1e-8)
    write_prices(tmp_path, broken)
    assert load_dataset(tmp_path).close.loc["2024-01-10", "AAA"] > 0


def test_non_session_dates_are_named_with_their_reason(tmp_path):
    good = random_prices(["AAA"], get_sessions("2025-01-02", "2025-01-31"))
    strays = good.iloc[:2].assign(date=pd.to_datetime(["2025-01-09", "2025-01-11"]))
    write_prices(tmp_path, pd.concat([good, strays]))
    error = load_error(tmp_path)
    assert error.field == "date"
    assert "2025-01-09 (Thursday, special closure)" in error.problem and "2025-01-11 (Saturday)" in error.problem


def test_unknown_symbols_are_named_with_suggestions(tmp_path, prices):
    error = load_error(tmp_path, symbols=["AAA", "BBX", "ZZZZ"])
    assert error.field == "symbol"
    assert "BBX (did you mean BBB" in error.problem and "ZZZZ" in error.problem and "AAA" not in error.problem


@pytest.mark.parametrize("options, column", [({"start": "2023-01-01", "end": "2023-06-30"}, "date"),
                                             ({"symbols": []}, "symbol"),
                                             ({"start": "2024-03-01", "end": "2024-02-01"}, "date")])
def test_empty_selection_and_reversed_range(tmp_path, prices, options, column):
    error = load_error(tmp_path, **options)
    assert error.file.endswith("prices.parquet") and error.field == column


def test_symbol_without_rows_in_range_is_named(tmp_path, prices):
    write_prices(tmp_path, prices[~((prices["symbol"] == "CCC") & (prices["date"] < "2024-03-01"))])
    error = load_error(tmp_path, symbols=["AAA", "CCC"], end="2024-02-15")
    assert error.field == "symbol" and "CCC" in error.problem and "AAA" not in error.problem


def test_successful_load_writes_nothing(tmp_path, prices):
    write_market(tmp_path, pd.DataFrame({"date": pd.to_datetime(["2024-01-05"]), "series": ["VIX"], "value": [13.0]}))
    before = folder_state(tmp_path)
    load_dataset(tmp_path)
    assert folder_state(tmp_path) == before


# --- types and alignment -----------------------------------------------------------------------

def test_compatible_physical_types_load_like_canonical_ones(tmp_path, prices):
    window = {"start": "2024-02-01", "end": "2024-02-29", "symbols": ["CCC", "AAA"]}
    canonical = load_dataset(tmp_path, **window)
    table = to_table(prices.assign(volume=prices["volume"].astype("int64")))
    table = table.set_column(0, "date", pa.array(prices["date"], pa.timestamp("ms")))
    table = table.set_column(1, "symbol", table.column("symbol").cast(pa.large_string()).dictionary_encode())
    write_prices(tmp_path, table)
    loaded = load_dataset(tmp_path, **window)
    for name in ("close", "volume", "adj_factor"):
        pd.testing.assert_frame_equal(getattr(loaded, name), getattr(canonical, name))


def test_timestamps_with_a_time_of_day_are_refused(tmp_path, prices):
    table = to_table(prices).set_column(0, "date", pa.array(prices["date"] + pd.Timedelta(hours=21), pa.timestamp("ns")))
    write_prices(tmp_path, table)
    assert load_error(tmp_path).field == "date"


def test_frames_share_the_session_index_and_nan_outside_each_life(tmp_path, prices):
    late_start = (prices["symbol"] == "CCC") & (prices["date"] < "2024-02-01")
    early_end = (prices["symbol"] == "BBB") & (prices["date"] > "2024-03-15")
    write_prices(tmp_path, prices[~late_start & ~early_end])
    ds = load_dataset(tmp_path, symbols=["CCC", "AAA", "BBB"], start="2024-01-10", end="2024-03-31")
    assert ds.sessions.equals(get_sessions("2024-01-10", "2024-03-28"))
    for name in ("open", "high", "low", "close", "volume", "adj_factor"):
        frame = getattr(ds, name)
        assert frame.index.equals(ds.sessions) and list(frame.columns) == ["CCC", "AAA", "BBB"], name
    assert ds.close.loc[:"2024-01-31", "CCC"].isna().all() and ds.close.loc["2024-02-01":, "CCC"].notna().all()
    assert ds.close.loc["2024-03-18":, "BBB"].isna().all() and ds.close.loc[:"2024-03-15", "BBB"].notna().all()
    assert ds.gaps.empty and ds.synthetic is True
    expected = prices[row(prices, "AAA", "2024-02-07")].iloc[0]
    assert ds.close.loc["2024-02-07", "AAA"] == expected["close"]
    assert ds.adj_factor.loc["2024-02-07", "AAA"] == pytest.approx(expected["adj_close"] / expected["close"])
    assert [p.name for p in ds.files] == ["prices.parquet", "dataset.json"]


def test_adj_factor_column_is_used_and_missing_adjustment_is_reported(tmp_path, prices, caplog):
    write_prices(tmp_path, prices.drop(columns=["adj_close"]).assign(adj_factor=0.5))
    assert (load_dataset(tmp_path).adj_factor == 0.5).all().all()
    write_prices(tmp_path, prices.drop(columns=["adj_close"]))
    with caplog.at_level(logging.WARNING, logger="rulebook.data"):
        ds = load_dataset(tmp_path)
    assert (ds.adj_factor == 1.0).all().all()
    assert "no adj_close or adj_factor" in caplog.text


def test_market_series_are_as_of_and_never_early(tmp_path, prices):
    market = pd.DataFrame({
        "date": pd.to_datetime(["2023-12-29", "2024-01-06", "2024-01-15", "2024-01-16", "2024-01-17"]),
        "series": ["VIX", "VIX", "DGS10", "VIX", "DGS10"],
        "value": [12.0, 14.0, 4.1, 15.0, 4.2],
    })
    write_market(tmp_path, market)
    vix, rate = (load_dataset(tmp_path, end="2024-01-31").market[name] for name in ("VIX", "DGS10"))
    # 2023-12-29 is before the first session: visible from it. Saturday 2024-01-06 shows on Monday 01-08.
    assert vix["2024-01-05"] == 12.0 and vix["2024-01-08"] == 14.0
    # MLK day 2024-01-15 is a holiday: the value shows on 01-16, not before
    assert np.isnan(rate["2024-01-12"]) and rate["2024-01-16"] == 4.1 and rate["2024-01-17"] == 4.2
    assert vix["2024-01-17"] == 15.0 and vix["2024-01-31"] == 15.0


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.dates(dt.date(2023, 12, 1), dt.date(2024, 4, 30)), st.sampled_from(["X", "Y"]),
                          st.floats(-5, 5, allow_nan=False)), min_size=1, max_size=20, unique_by=lambda t: t[:2]))
def test_market_as_of_matches_brute_force(observations):
    market = pd.DataFrame(observations, columns=["date", "series", "value"]).assign(
        date=lambda f: pd.to_datetime(f["date"]))
    with tempfile.TemporaryDirectory() as folder:
        write_random_dataset(folder, ["AAA"], "2024-01-01", "2024-02-29")
        write_market(folder, market)
        aligned = load_dataset(Path(folder)).market
    for name, group in market.groupby("series"):
        series = aligned[name] if name in aligned else pd.Series(np.nan, index=aligned.index)
        for session, value in series.items():
            seen = group[group["date"] <= session].sort_values("date")
            expected = seen["value"].iloc[-1] if len(seen) else np.nan
            assert value == pytest.approx(expected, nan_ok=True), (name, session)


def fundamentals_frame(filed: list[str], period_end: list[str]) -> pd.DataFrame:
    n = len(filed)
    return pd.DataFrame({
        "symbol": ["AAA"] * n, "period_end": pd.to_datetime(period_end), "filed": pd.to_datetime(filed),
        "revenue": np.arange(n, dtype=float), "operating_income": 1.0, "interest_expense": 0.5, "cash": 2.0,
        "total_debt": [np.nan] * n, "capex": 0.3,
    })


def test_fundamentals_become_known_strictly_after_filing(tmp_path, prices):
    # Friday 2024-02-02, Tuesday 2024-02-20, Saturday 2024-03-02, a restatement of the first period,
    # and a filing on the last session (known after the data ends, so not part of the dataset)
    filed = ["2024-02-02", "2024-02-20", "2024-03-02", "2024-03-05", "2024-03-28"]
    periods = ["2023-12-31", "2023-12-31", "2024-01-31", "2023-12-31", "2024-02-29"]
    write_fundamentals(tmp_path, fundamentals_frame(filed, periods))
    known = load_dataset(tmp_path).fundamentals.set_index("filed")["known"]
    assert list(known.index.strftime("%Y-%m-%d")) == filed[:4]
    assert list(known.dt.strftime("%Y-%m-%d")) == ["2024-02-05", "2024-02-21", "2024-03-04", "2024-03-06"]
    assert (known > known.index).all()


@pytest.mark.parametrize("filed", [["2023-12-30"], [None]])
def test_fundamentals_filed_must_follow_period_end(tmp_path, prices, filed):
    write_fundamentals(tmp_path, fundamentals_frame(filed, ["2023-12-31"]))
    error = load_error(tmp_path)
    assert error.file.endswith("fundamentals.parquet") and error.field == "filed" and "AAA 2023-12-31" in error.problem


def events_frame(dates: list[str], sessions: list[str]) -> pd.DataFrame:
    n = len(dates)
    return pd.DataFrame({
        "date": pd.to_datetime(dates), "session": sessions, "kind": "deal", "symbols": ["AAA;BBB"] + [None] * (n - 1),
        "title": [f"event {i}" for i in range(n)], "amount_usd_bn": [1.5] + [np.nan] * (n - 1), "source": "test",
        "confidence": "high",
    })


def test_events_map_to_their_first_tradable_session(tmp_path, prices):
    dates = ["2024-01-26", "2024-01-27", "2024-01-30", "2024-01-31", "2024-02-19", "2024-03-05", "2024-03-28"]
    kinds = ["post", "closed", "intraday", "pre", "pre", "unknown", "post"]
    write_events(tmp_path, events_frame(dates, kinds))
    events = load_dataset(tmp_path).events
    mapped = dict(zip(events["date"].dt.strftime("%Y-%m-%d"), events["session_date"].dt.strftime("%Y-%m-%d")))
    assert mapped == {"2024-01-26": "2024-01-29",  # Friday after the close -> Monday
                      "2024-01-27": "2024-01-29",  # Saturday -> Monday
                      "2024-01-30": "2024-01-30",  # intraday stays
                      "2024-01-31": "2024-01-31",  # before the open stays
                      "2024-02-19": "2024-02-20",  # Presidents' Day is closed: next session
                      "2024-03-05": "2024-03-06"}  # unknown time: conservative next session
    assert events["confidence"].eq("high").all()  # extra columns kept
    assert events.loc[0, "symbols"] == "AAA;BBB" and (events.loc[1:, "symbols"] == "").all()


def test_unknown_event_session_is_refused(tmp_path, prices):
    write_events(tmp_path, events_frame(["2024-01-26"], ["after-hours"]))
    error = load_error(tmp_path)
    assert error.file.endswith("events.parquet") and error.field == "session" and "after-hours" in error.problem


def test_symbol_metadata_of_loaded_symbols(tmp_path, prices):
    write_symbols(tmp_path, pd.DataFrame({"symbol": ["AAA", "BBB", "ZZZ"], "name": ["A", "B", "Z"],
                                          "sector": ["Tech", "Tech", "Energy"], "theme": ["ai", "", "grid"]}))
    meta = load_dataset(tmp_path, symbols=["BBB", "AAA"]).symbols_meta
    assert sorted(meta.index) == ["AAA", "BBB"] and meta.loc["AAA", "theme"] == "ai"


def test_broken_manifest_is_named(tmp_path, prices):
    (tmp_path / "dataset.json").write_text('{"synthetic": "yes"}')
    error = load_error(tmp_path)
    assert error.file.endswith("dataset.json") and error.field == "synthetic"


def test_fingerprint_follows_content_not_location(tmp_path, prices):
    other = tmp_path / "copy"
    other.mkdir()
    for path in dataset_files(tmp_path):
        (other / path.name).write_bytes(path.read_bytes())
    assert fingerprint(dataset_files(tmp_path)) == fingerprint(dataset_files(other))
    (other / "dataset.json").write_text('{"synthetic": false}')
    assert fingerprint(dataset_files(tmp_path)) != fingerprint(dataset_files(other))
    assert load_dataset(other).synthetic is False


# --- gaps ----------------------------------------------------------------------------------------

def drop_sessions(prices: pd.DataFrame, symbol: str, days: list[str]) -> pd.DataFrame:
    return prices[~((prices["symbol"] == symbol) & prices["date"].isin(pd.to_datetime(days)))]


def test_short_gap_is_filled_and_reported(tmp_path, prices):
    write_prices(tmp_path, drop_sessions(prices, "BBB", ["2024-02-06", "2024-02-07"]))
    ds = load_dataset(tmp_path)
    assert ds.gaps.to_dict("records") == [{"symbol": "BBB", "first_missing": pd.Timestamp("2024-02-06"),
                                           "last_missing": pd.Timestamp("2024-02-07"), "sessions": 2}]
    before = prices[row(prices, "BBB", "2024-02-05")].iloc[0]
    for day in ("2024-02-06", "2024-02-07"):
        for name in ("open", "high", "low", "close"):
            assert ds.__getattribute__(name).loc[day, "BBB"] == before["close"]
        assert ds.volume.loc[day, "BBB"] == 0
        assert ds.adj_factor.loc[day, "BBB"] == pytest.approx(before["adj_close"] / before["close"])
    assert ds.close["AAA"].notna().all()


def test_long_gap_raises_with_symbol_dates_and_fix(tmp_path, prices):
    days = ["2024-02-06", "2024-02-07", "2024-02-08", "2024-02-09"]
    write_prices(tmp_path, drop_sessions(prices, "CCC", days))
    error = load_error(tmp_path, max_fill_sessions=3)
    assert "CCC 2024-02-06..2024-02-09 (4 sessions)" in error.problem and "max_fill_sessions" in error.fix
    assert load_dataset(tmp_path, max_fill_sessions=4).gaps["sessions"].tolist() == [4]


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 54), st.integers(1, 6), st.integers(0, 4))
def test_gaps_inside_a_life_are_filled_exactly_or_refused(first, length, limit):
    """A gap strictly inside AAA's life (its last session, index 60, stays priced)."""
    sessions = get_sessions(START, END)
    prices = random_prices(["AAA", "BBB"], sessions)
    missing = sessions[first:first + length]
    with tempfile.TemporaryDirectory() as folder:
        write_prices(folder, drop_sessions(prices, "AAA", list(missing)))
        if length > limit:
            with pytest.raises(DataError):
                load_dataset(Path(folder), max_fill_sessions=limit)
            return
        ds = load_dataset(Path(folder), max_fill_sessions=limit)
    assert ds.gaps[["first_missing", "last_missing", "sessions"]].values.tolist() == [[missing[0], missing[-1], length]]
    assert ds.close["AAA"].notna().all()
    assert (ds.close.loc[missing, "AAA"] == ds.close["AAA"].iloc[first - 1]).all()


# --- real data -----------------------------------------------------------------------------------

def test_real_prices_match_the_nyse_calendar(tmp_path, shared_data):
    raw = shared_data / "raw"
    frames = []
    for symbol in ("NVDA", "SPY", "MSFT"):
        ohlcv = pd.read_csv(raw / "prices_ohlcv_yahoo" / f"{symbol}.csv", parse_dates=["Date"])
        adjusted = pd.read_csv(raw / "prices_adjclose_yahoo" / f"{symbol}.csv", parse_dates=["Date"])
        merged = ohlcv.merge(adjusted.rename(columns={"Close": "adj_close"}), on="Date")
        merged = merged[(merged["Date"] >= "2020-01-01") & (merged["Date"] <= "2025-12-31")]
        frames.append(merged.rename(columns=str.lower).assign(symbol=symbol))
    write_prices(tmp_path, pd.concat(frames, ignore_index=True))
    ds = load_dataset(tmp_path, symbols=["NVDA", "SPY", "MSFT"], start="2020-01-01", end="2025-12-31")
    assert ds.sessions.equals(get_sessions("2020-01-01", "2025-12-31"))
    assert ds.gaps.empty and ds.close.notna().all().all()
    assert ds.close.loc["2025-12-24", "NVDA"] == pytest.approx(188.61, abs=0.01)
    assert ds.close.loc["2025-12-24", "SPY"] == pytest.approx(690.38, abs=0.01)
    # SPY pays about 1.3 % a year: its total-return factor rises by roughly 8 % over six years
    assert ds.adj_factor["SPY"].iloc[-1] / ds.adj_factor["SPY"].iloc[0] == pytest.approx(1.09, abs=0.03)


def test_wide_frames_equal_a_plain_pivot_of_shuffled_rows(tmp_path):
    """The loader scatters rows into session x symbol cells (fast at 500 names); it must equal pandas'
    pivot + reindex of the same rows, in any row order, for names listed late or gone early."""
    symbols = [f"N{k:02d}" for k in range(12)]
    sessions = get_sessions("2023-01-01", "2024-06-28")
    rng = np.random.default_rng(3)
    prices = random_prices(symbols, sessions, seed=5)
    first, last = dict(zip(symbols, rng.integers(0, 200, 12))), dict(zip(symbols, rng.integers(250, 375, 12)))
    position = prices["date"].map(dict(zip(sessions, range(len(sessions)))))
    alive = [first[s] <= p <= last[s] for s, p in zip(prices["symbol"], position)]
    prices = prices[alive].sample(frac=1.0, random_state=1).reset_index(drop=True)
    write_prices(tmp_path, prices)
    order = symbols[::-1][:9]  # a subset, in the config's (reversed) order
    ds = load_dataset(tmp_path, symbols=order)
    expected_sessions = get_sessions(prices.loc[prices["symbol"].isin(order), "date"].min(),
                                     prices.loc[prices["symbol"].isin(order), "date"].max())
    reference = prices.assign(adj_factor=prices["adj_close"] / prices["close"])
    for name in ("open", "high", "low", "close", "volume", "adj_factor"):
        wide = reference.pivot(index="date", columns="symbol", values=name).reindex(index=expected_sessions,
                                                                                    columns=order)
        np.testing.assert_array_equal(getattr(ds, name).to_numpy(), wide.to_numpy(), err_msg=name)
        assert list(getattr(ds, name).columns) == order and getattr(ds, name).index.equals(expected_sessions)
