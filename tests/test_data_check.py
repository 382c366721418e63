"""`rulebook data check`: each planted problem is found with its symbol and dates; exit code by severity."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from data_builders import random_prices, write_fundamentals, write_prices
from engine.data.calendar import get_sessions
from engine.cli.main import app
from engine.data.check import check_dataset

runner = CliRunner()
SESSIONS = get_sessions("2024-01-02", "2024-06-28")


def findings(report, check: str, symbol: str) -> list[str]:
    return [f"{f.severity}: {f.message}" for f in report.findings if f.check == check and f.symbol == symbol]


@pytest.fixture
def prices() -> pd.DataFrame:
    return random_prices(["AAA", "BBB", "CCC", "DDD"], SESSIONS, seed=7)


def test_clean_dataset_has_full_coverage_and_no_findings(tmp_path, prices):
    write_prices(tmp_path, prices)
    report = check_dataset(tmp_path)
    assert report.findings == []
    assert (report.coverage["missing"] == 0).all() and (report.coverage["coverage"] == 1.0).all()
    assert runner.invoke(app, ["data", "check", str(tmp_path)]).exit_code == 0


def test_warnings_only_exit_zero(tmp_path, prices):
    drop = prices["symbol"].eq("AAA") & prices["date"].isin(SESSIONS[10:12])  # a 2-session hole: filled on load
    stale = prices["symbol"].eq("BBB") & prices["date"].isin(SESSIONS[30:36])  # 6 equal closes
    frozen = prices.loc[stale].iloc[0]
    prices.loc[stale, ["open", "high", "low", "close"]] = frozen["close"]
    prices.loc[stale, "adj_close"] = frozen["adj_close"]
    split = prices["symbol"].eq("CCC") & (prices["date"] < SESSIONS[60])  # 10:1 split not adjusted
    prices.loc[split, ["open", "high", "low", "close", "adj_close"]] *= 10
    prices = prices[~drop & ~(prices["symbol"].eq("DDD") & (prices["date"] > SESSIONS[-8]))]
    write_prices(tmp_path, prices)
    report = check_dataset(tmp_path)
    assert report.errors == []
    assert findings(report, "gaps", "AAA") == [
        f"warning: AAA: missing {SESSIONS[10]:%Y-%m-%d}..{SESSIONS[11]:%Y-%m-%d} (2 session(s)): the load fills it by carrying the close"]
    assert findings(report, "stale", "BBB") == [
        f"warning: BBB: close stays {frozen['close']:g} for 6 sessions {SESSIONS[30]:%Y-%m-%d}..{SESSIONS[35]:%Y-%m-%d}"]
    split_notes = findings(report, "split", "CCC")
    assert len(split_notes) == 1 and "10:1 split" in split_notes[0] and f"{SESSIONS[60]:%Y-%m-%d}" in split_notes[0]
    assert findings(report, "coverage", "DDD") == [
        f"warning: DDD: ends {SESSIONS[-8]:%Y-%m-%d}, 7 session(s) before the dataset's last session {SESSIONS[-1]:%Y-%m-%d} "
        "(delisted, or a stale file?)"]
    assert report.coverage.set_index("symbol").loc["AAA", "missing"] == 2
    result = runner.invoke(app, ["data", "check", str(tmp_path)])
    assert result.exit_code == 0 and "0 error(s), 4 warning(s)" in result.output


def test_errors_exit_nonzero(tmp_path, prices):
    long_hole = prices["symbol"].eq("AAA") & prices["date"].isin(SESSIONS[20:25])
    doubled = prices[prices["symbol"].eq("BBB")].iloc[[3]]
    write_prices(tmp_path, pd.concat([prices[~long_hole], doubled], ignore_index=True))
    write_fundamentals(tmp_path, pd.DataFrame({
        "symbol": ["AAA", "AAA"], "period_end": pd.to_datetime(["2024-03-31", "2024-06-30"]),
        "filed": pd.to_datetime(["2024-04-25", "2024-06-20"]), "revenue": [1.0, 2.0], "operating_income": [1.0, 1.0],
        "interest_expense": [0.1, 0.1], "cash": [1.0, 1.0], "total_debt": [1.0, 1.0], "capex": [0.1, 0.1]}))
    report = check_dataset(tmp_path)
    assert findings(report, "gaps", "AAA") == [f"error: AAA: missing {SESSIONS[20]:%Y-%m-%d}..{SESSIONS[24]:%Y-%m-%d} "
                                               "(5 session(s)), longer than max_fill_sessions=3: the load refuses it"]
    assert findings(report, "duplicates", "BBB") == [f"error: BBB: 1 duplicate (date, symbol) row(s): {SESSIONS[3]:%Y-%m-%d}"]
    assert findings(report, "fundamentals", "AAA") == [
        "error: AAA: filed before the period ended: period_end 2024-06-30 filed 2024-06-20"]
    assert len(report.errors) == 3
    result = runner.invoke(app, ["data", "check", str(tmp_path)])
    assert result.exit_code == 1 and "3 error(s)" in result.output
    assert runner.invoke(app, ["data", "check", str(tmp_path), "--max-fill-sessions", "5"]).exit_code == 1  # still 2


def test_unreadable_prices_is_an_error_not_a_crash(tmp_path):
    (tmp_path / "prices.parquet").write_bytes(b"PAR1 not really")
    report = check_dataset(tmp_path)
    assert len(report.errors) == 1 and "not a readable Parquet file" in report.errors[0].message


def test_market_fundamentals_and_events_are_checked_and_every_warning_names_its_symbol(tmp_path, prices):
    write_prices(tmp_path, prices)
    market = pd.DataFrame({"date": list(SESSIONS[:40]) + list(SESSIONS[:100]), "series": ["OLD"] * 40 + ["VIX"] * 100,
                           "value": [1.0] * 40 + [15.0 + (i % 7) for i in range(100)]})
    market.assign(date=market["date"].dt.date).to_parquet(tmp_path / "market.parquet")
    write_fundamentals(tmp_path, pd.DataFrame({
        "symbol": ["AAA", "AAA"], "period_end": pd.to_datetime(["2024-03-31", "2024-05-31"]),
        "filed": pd.to_datetime(["2024-05-15", "2024-06-28"]), "revenue": [1.0, 2.0], "operating_income": [1.0, 1.0],
        "interest_expense": [0.1, None], "cash": [1.0, 1.0], "total_debt": [None, None], "capex": [0.1, 0.1],
        "filed_assumed": [True, False]}))
    pd.DataFrame({"date": [pd.Timestamp("2024-02-01").date(), pd.Timestamp("2024-12-02").date()],
                  "session": ["pre", "post"], "kind": ["deal", "shock"], "symbols": ["AAA;ZZZ", "BBB"], "title": "x",
                  "amount_usd_bn": [None, 1.0], "source": ""}).to_parquet(tmp_path / "events.parquet")
    report = check_dataset(tmp_path)
    assert report.errors == []
    assert findings(report, "market", "OLD")[0].startswith("warning: OLD: ends 2024-02-28, ")
    assert findings(report, "market", "OLD")[1] == "warning: OLD: value stays 1 for 40 values 2024-01-02..2024-02-28"
    assert findings(report, "market", "VIX")[0].startswith("warning: VIX: ends ")
    assert findings(report, "fundamentals", "AAA") == [
        "warning: AAA: quarters without interest_expense 1/2, total_debt 2/2: the screen judges those measures on "
        "fewer quarters (or not at all)",
        "warning: AAA: 1 of 2 quarter(s) rest on assumed filing dates (period end + --assumed-lag): 2024-03-31"]
    assert findings(report, "events", "ZZZ") == [
        "warning: ZZZ: named by 1 event(s) (2024-02-01) but not in the prices: event rules and the event study skip "
        "it there"]
    assert any("1 event(s) after the prices' last date 2024-06-28" in f.message for f in report.warnings)
    assert all(f.message.startswith(f"{f.symbol}: ") for f in report.findings if f.symbol)
