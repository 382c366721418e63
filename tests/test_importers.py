"""Price importers: shapes, mapping, dedupe, append/replace, adjustments, split detection, errors leave no trace."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from engine.data import adjust
from engine.data.calendar import get_sessions
from engine.cli.main import app
from engine.data.loader import load_dataset
from engine.errors import DataError
from engine.data.importers import ImportSources, import_prices
from engine.data.price_files import ReadOptions
from data_builders import folder_state, random_prices

runner = CliRunner()
YAHOO_HEADER = {"date": "Date", "open": "Open", "high": "High", "low": "Low", "close": "Close",
                "adj_close": "Adj Close", "volume": "Volume"}
SESSIONS = get_sessions("2024-01-02", "2024-03-28")


def yahoo_csvs(folder: Path, prices: pd.DataFrame) -> list[Path]:
    """One Yahoo-style CSV per symbol (Date, Open, ..., Adj Close, Volume; no symbol column)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for symbol, rows in prices.groupby("symbol"):
        path = folder / f"{symbol}.csv"
        rows.drop(columns="symbol").rename(columns=YAHOO_HEADER).to_csv(path, index=False, date_format="%Y-%m-%d")
        paths.append(path)
    return paths


def written(folder: Path) -> pd.DataFrame:
    """The prices.parquet an import wrote, dates as datetimes."""
    frame = pd.read_parquet(folder / "prices.parquet")
    return frame.assign(date=pd.to_datetime(frame["date"]))


@pytest.fixture
def prices() -> pd.DataFrame:
    return random_prices(["AAA", "BBB"], SESSIONS, seed=3)


def test_per_symbol_yahoo_csvs_round_trip_through_the_loader(tmp_path, prices):
    files = yahoo_csvs(tmp_path / "in", prices)
    reports = import_prices(ImportSources(tuple(files)), tmp_path / "ds")
    assert {r.symbol: (r.rows, r.added) for r in reports} == {"AAA": (len(SESSIONS),) * 2, "BBB": (len(SESSIONS),) * 2}
    data = load_dataset(tmp_path / "ds")
    wide = prices.pivot(index="date", columns="symbol", values="close")
    np.testing.assert_allclose(data.close.to_numpy(), wide.to_numpy(), rtol=1e-12)
    adj = prices.pivot(index="date", columns="symbol", values="adj_close")
    np.testing.assert_allclose((data.close * data.adj_factor).to_numpy(), adj.to_numpy(), rtol=1e-12)


def test_long_parquet_with_mapping_and_wide_adjusted_file(tmp_path, prices):
    long = prices.drop(columns="adj_close").rename(columns={"symbol": "Ticker", "close": "Px Last", "date": "Day"})
    long.to_parquet(tmp_path / "long.parquet")
    wide = prices.pivot(index="date", columns="symbol", values="adj_close").rename_axis("Date").reset_index()
    wide.to_csv(tmp_path / "adjusted.csv", index=False, date_format="%Y-%m-%d")
    import_prices(ImportSources((tmp_path / "long.parquet",), adj_close=(tmp_path / "adjusted.csv",)), tmp_path / "ds",
                  ReadOptions(mapping={"Px Last": "close"}))
    merged = written(tmp_path / "ds").merge(prices, on=["date", "symbol"], suffixes=("", "_in"))
    assert len(merged) == len(prices)
    np.testing.assert_allclose(merged["adj_close"], merged["adj_close_in"], rtol=1e-12)
    np.testing.assert_allclose(merged["close"], merged["close_in"], rtol=1e-12)


def test_repeated_rows_are_dropped_and_counted_conflicts_are_refused(tmp_path, prices):
    files = yahoo_csvs(tmp_path / "in", prices[prices["symbol"] == "AAA"])
    copy = tmp_path / "copy" / "AAA.csv"
    copy.parent.mkdir()
    copy.write_bytes(files[0].read_bytes())
    reports = import_prices(ImportSources((files[0], copy)), tmp_path / "ds")
    assert reports[0].duplicates == len(SESSIONS) and reports[0].rows == len(SESSIONS)
    text = copy.read_text().splitlines()
    fields = text[5].split(",")
    fields[4] = str(float(fields[4]) * 1.001)  # Close of the 5th data row differs
    copy.write_text("\n".join(text[:5] + [",".join(fields)] + text[6:]) + "\n")
    before = folder_state(tmp_path / "ds")
    with pytest.raises(DataError) as error:
        import_prices(ImportSources((files[0], copy)), tmp_path / "ds")
    assert "close" in str(error.value) and "line 6" in str(error.value) and "AAA.csv" in str(error.value)
    assert folder_state(tmp_path / "ds") == before


def test_append_updates_overlap_and_replace_drops_old_rows(tmp_path, prices):
    aaa = prices[prices["symbol"] == "AAA"]
    first, second = aaa[aaa["date"] < "2024-02-15"], aaa[aaa["date"] >= "2024-02-01"].copy()
    second[["open", "high", "low", "close", "adj_close"]] *= 1.5  # a vendor correction on the overlap
    import_prices(ImportSources(tuple(yahoo_csvs(tmp_path / "a", first))), tmp_path / "ds")
    report, = import_prices(ImportSources(tuple(yahoo_csvs(tmp_path / "b", second))), tmp_path / "ds", mode="append")
    overlap = int(((aaa["date"] >= "2024-02-01") & (aaa["date"] < "2024-02-15")).sum())
    assert (report.updated, report.added, report.rows) == (overlap, len(second) - overlap, len(aaa))
    closes = written(tmp_path / "ds").set_index("date")["close"]
    assert closes.loc["2024-02-05"] == pytest.approx(1.5 * aaa.set_index("date")["close"].loc["2024-02-05"])
    report, = import_prices(ImportSources(tuple(yahoo_csvs(tmp_path / "b", second))), tmp_path / "ds", mode="replace")
    assert (report.removed, report.rows) == (len(aaa), len(second))
    assert written(tmp_path / "ds")["date"].min() == pd.Timestamp("2024-02-01")


MALFORMED = {  # name: (edit of the CSV text, words the error must contain)
    "bad date": (lambda lines: lines[:3] + ["2024-13-45" + lines[3][10:]] + lines[4:], ["'date'", "line 4", "2024-13-45"]),
    "not a number": (lambda lines: lines[:2] + [lines[2].replace(lines[2].split(",")[2], "abc", 1)] + lines[3:],
                     ["'high'", "line 3", "abc"]),
    "ragged line": (lambda lines: lines[:4] + [lines[4] + ",1,2"] + lines[5:], ["line 5", "CSV"]),
    "no date column": (lambda lines: ["When" + lines[0][4:]] + lines[1:], ["'date'", "When"]),
    "negative price": (lambda lines: lines[:6] + [lines[6].replace(lines[6].split(",")[4], "-1", 1)] + lines[7:],
                       ["'close'", "BBB (line 7) 2024-01-09"]),
    "not a session": (lambda lines: lines[:2] + ["2024-01-06" + lines[2][10:]] + lines[3:], ["'date'", "Saturday"]),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_csv_names_file_row_column_and_leaves_target_unchanged(tmp_path, prices, case):
    aaa = prices[prices["symbol"] == "AAA"]
    import_prices(ImportSources(tuple(yahoo_csvs(tmp_path / "good", aaa))), tmp_path / "ds")
    path = yahoo_csvs(tmp_path / "bad", prices[prices["symbol"] == "BBB"])[0]
    edit, words = MALFORMED[case]
    path.write_text("\n".join(edit(path.read_text().splitlines())) + "\n")
    before = folder_state(tmp_path / "ds")
    result = runner.invoke(app, ["data", "import", "prices", str(path), "--out", str(tmp_path / "ds")])
    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    assert str(path.name) in message
    for word in words:
        assert word in message, (word, message)
    assert folder_state(tmp_path / "ds") == before


def test_dividend_adjustment_matches_dividend_arithmetic():
    dates = pd.Series(pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"]))
    close = pd.Series([100.0, 50.0, 40.0, 20.0])
    dividends = pd.Series([1.0, 2.0], index=pd.to_datetime(["2024-01-03", "2024-01-05"]))
    adjusted = adjust.dividend_adj_close(dates, close, dividends)
    by_hand = [100 * (1 - 1 / 100) * (1 - 2 / 40), 50 * (1 - 2 / 40), 40 * (1 - 2 / 40), 20]
    np.testing.assert_allclose(adjusted, by_hand, rtol=1e-14)


@settings(max_examples=40, deadline=None)
@given(ratio=st.sampled_from([2, 3, 4, 5, 10, 20]), at=st.integers(5, 50), seed=st.integers(0, 10_000))
def test_splits_undo_an_unadjusted_split_and_are_flagged_without_them(ratio, at, seed):
    adjusted = random_prices(["S"], SESSIONS, seed=seed, dividend_yield=0.0).drop(columns="adj_close")
    # a split on a day whose own move exceeds the detection tolerance cannot look split-like: out of scope
    genuine = adjusted["close"].iloc[at] / adjusted["close"].iloc[at - 1]
    assume(abs(genuine - 1) < adjust.SPLIT_TOLERANCE - 0.005)
    raw = adjusted.copy()
    before = raw.index < at
    raw.loc[before, ["open", "high", "low", "close"]] *= ratio
    raw.loc[before, "volume"] /= ratio
    repaired = adjust.apply_splits(raw, pd.Series([float(ratio)], index=[SESSIONS[at]]))
    np.testing.assert_allclose(repaired[["open", "close", "volume"]], adjusted[["open", "close", "volume"]], rtol=1e-12)
    jumps = adjust.split_jumps(raw.set_index("date")["close"])
    assert SESSIONS[at] in set(jumps["date"])
    assert jumps.set_index("date").loc[SESSIONS[at], "ratio"] == ratio


def test_split_file_import_gives_continuous_prices(tmp_path, prices):
    raw = prices[prices["symbol"] == "AAA"].drop(columns="adj_close").reset_index(drop=True)
    raw.loc[raw.index < 20, ["open", "high", "low", "close"]] *= 4
    raw.loc[raw.index < 20, "volume"] /= 4
    files = yahoo_csvs(tmp_path / "in", raw)
    pd.DataFrame({"Date": [SESSIONS[20].strftime("%Y-%m-%d")], "Stock Splits": [4]}).to_csv(
        tmp_path / "in" / "AAA_splits.csv", index=False)
    unrepaired, = import_prices(ImportSources(tuple(files)), tmp_path / "plain")
    assert any("4:1 split" in w and f"{SESSIONS[20]:%Y-%m-%d}" in w for w in unrepaired.warnings)
    repaired, = import_prices(ImportSources(tuple(files), splits=(tmp_path / "in",)), tmp_path / "fixed")
    assert repaired.warnings == []
    np.testing.assert_allclose(written(tmp_path / "fixed")["close"], prices[prices["symbol"] == "AAA"]["close"], rtol=1e-12)


# --- real files ---------------------------------------------------------------------------------

REAL = ["NVDA", "MSFT", "AVGO", "SPY", "KLAC"]


@pytest.fixture(scope="module")
def real_dataset(shared_data, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("real") / "ds"
    raw = shared_data / "raw"
    result = runner.invoke(app, ["data", "import", "prices", *[str(raw / "prices_ohlcv_yahoo" / f"{s}.csv") for s in REAL],
                                 "--adj-close", str(raw / "prices_adjclose_yahoo"), "--start", "2016-01-01",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_real_import_check_finds_full_nyse_coverage_and_the_klac_split_basis(real_dataset):
    result = runner.invoke(app, ["data", "check", str(real_dataset)])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "0 error(s), 1 warning(s)" in out
    assert "KLAC: adj_close / close is 0.100" in out and "10:1 split" in out
    from engine.data.check import check_dataset
    coverage = check_dataset(real_dataset).coverage.set_index("symbol")
    nvda = coverage.loc["NVDA"]
    assert (nvda["first"], nvda["last"]) == (pd.Timestamp("2016-01-04"), pd.Timestamp("2026-05-29"))
    assert nvda["missing"] == 0 and nvda["rows"] == len(get_sessions("2016-01-04", "2026-05-29"))


def test_real_dividends_reproduce_yahoo_adjusted_close(shared_data, tmp_path):
    raw = shared_data / "raw" / "prices_ohlcv_yahoo"
    import_prices(ImportSources((raw / "NVDA.csv", raw / "MSFT.csv", raw / "SPY.csv"), dividends=(raw,)), tmp_path,
                  ReadOptions(start=pd.Timestamp("2016-01-01")))
    ours = written(tmp_path)
    for symbol in ("NVDA", "MSFT", "SPY"):
        mine = ours[ours["symbol"] == symbol].set_index("date")["adj_close"]
        yahoo = pd.read_csv(shared_data / "raw" / "prices_adjclose_yahoo" / f"{symbol}.csv", index_col="Date",
                            parse_dates=True)["Close"].reindex(mine.index)
        ratio = yahoo / mine  # constant: Yahoo's file also holds dividends paid after 2026-05-29
        assert ratio.max() / ratio.min() - 1 < 2e-5, symbol


def test_backtest_on_imported_real_data_matches_buy_and_hold_from_the_raw_csv(real_dataset, shared_data, tmp_path):
    config = {"name": "imported", "data": {"dir": str(real_dataset)}, "universe": {"symbols": ["NVDA"]},
              "period": {"start": "2016-01-04", "end": "2026-05-29"}, "strategy": {"kind": "buy_and_hold"},
              "execution": {"fill": "next_close", "fees_bps": 0, "slippage_bps": 0}, "report": {"enabled": False}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
    result = runner.invoke(app, ["run", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "run"), "--no-report"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    adjusted = pd.read_csv(shared_data / "raw" / "prices_adjclose_yahoo" / "NVDA.csv", index_col="Date")["Close"]
    expected = adjusted.loc["2026-05-29"] / adjusted.loc["2016-01-05"] - 1  # decided 01-04, filled at the next close
    assert metrics["total_return"] == pytest.approx(expected, rel=1e-9)
