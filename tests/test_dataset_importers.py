"""Importers for market series, fundamentals and events: shapes, dating, merges, errors that change nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from engine.data.events_import import import_events
from engine.data.fundamentals_import import FundamentalsOptions, import_fundamentals
from engine.data.loader import load_dataset
from engine.data.market_import import MarketOptions, import_market
from engine.errors import DataError

ROOT = Path(__file__).resolve().parents[1]
PRICES = pd.DataFrame({"date": pd.to_datetime(["2025-03-03", "2025-03-04", "2025-03-05", "2025-03-06"]),
                       "symbol": "AAA", "open": 10.0, "high": 11.0, "low": 9.0, "close": 10.0, "volume": 1e6})


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_fred_blanks_are_missing_values_and_lag_days_redates_to_when_known(tmp_path):
    fred = write(tmp_path / "DGS10.csv", "date,DGS10\n2025-03-03,4.16\n2025-03-04,.\n2025-03-05,4.28\n2025-03-06,\n")
    (report,) = import_market([fred], tmp_path / "d", MarketOptions(lag_days=1))
    assert (report.series, report.rows, report.missing) == ("DGS10", 2, 2)
    table = pd.read_parquet(tmp_path / "d" / "market.parquet")
    assert table["date"].astype(str).tolist() == ["2025-03-04", "2025-03-06"] and table["value"].tolist() == [4.16, 4.28]


def test_an_ohlc_index_needs_its_value_column_and_a_long_file_holds_many_series(tmp_path):
    vix = write(tmp_path / "vix.csv", "DATE,OPEN,HIGH,LOW,CLOSE\n2025-03-03,19,24,18,22.78\n2025-03-04,23,27,22,23.51\n")
    with pytest.raises(DataError, match="--value-column CLOSE --series VIX"):
        import_market([vix], tmp_path / "d")
    assert not (tmp_path / "d").exists()
    (report,) = import_market([vix], tmp_path / "d", MarketOptions(series="VIX", value_column="CLOSE"))
    assert (report.series, report.rows, report.added) == ("VIX", 2, 2)
    long = write(tmp_path / "long.csv", "date,series,value\n2025-03-04,VIX,30\n2025-03-05,VIX,31\n2025-03-04,HY,3.1\n")
    reports = {r.series: r for r in import_market([long], tmp_path / "d")}
    assert (reports["VIX"].added, reports["VIX"].updated, reports["HY"].added) == (1, 1, 1)
    table = pd.read_parquet(tmp_path / "d" / "market.parquet").set_index(["series", "date"])["value"]
    assert table[("VIX", pd.Timestamp("2025-03-04").date())] == 30.0 and len(table) == 4
    (replaced,) = import_market([vix], tmp_path / "d", MarketOptions(series="VIX", value_column="CLOSE"), mode="replace")
    assert (replaced.rows, replaced.removed) == (2, 3)


def test_a_bad_value_names_file_line_and_column_and_leaves_the_folder_as_it_was(tmp_path):
    out = tmp_path / "d"
    import_market([write(tmp_path / "A.csv", "date,A\n2025-03-03,1\n")], out)
    before = digest(out)
    bad = write(tmp_path / "B.csv", "date,B\n2025-03-03,1\n2025-03-04,n.a.x\n")
    with pytest.raises(DataError) as error:
        import_market([bad], out)
    assert error.value.field == "B" and "line 3 ('n.a.x')" in str(error.value)
    assert digest(out) == before


SHEET = """Ticker,fiscal_period_end,filing_date,released,revenue_usd_k,operating_income_usd_k,interest_expense_usd_k,cash,total_debt,capex
AAA,2024-12-31,2025-02-20,2025-02-10,100000,20000,-5000,50000,10000,-8000
AAA,2025-03-31,,2025-05-01,110000,21000,5000,,,9000
AAA,2025-06-30,2025-08-05,,120000,22000,5000,,,
AAA,2025-09-30,,,130000,23000,5000,,,
"""


def test_knowledge_date_is_the_earlier_of_filing_and_release_and_undated_rows_need_an_assumed_lag(tmp_path):
    sheet = write(tmp_path / "sheet.csv", SHEET)
    with pytest.raises(DataError) as error:
        import_fundamentals(sheet, tmp_path / "d", FundamentalsOptions(units="thousands"))
    assert "1 row(s) have neither a filing nor a release date: line 5 (AAA 2025-09-30)" in str(error.value)
    assert "--assumed-lag" in error.value.fix and not (tmp_path / "d").exists()
    (report,) = import_fundamentals(sheet, tmp_path / "d", FundamentalsOptions(units="thousands", assumed_lag=45))
    assert (report.rows, report.from_release, report.assumed) == (4, 2, 1)
    assert "2 negative" not in " ".join(report.warnings) and len(report.warnings) == 2  # interest and capex signs
    rows = pd.read_parquet(tmp_path / "d" / "fundamentals.parquet")
    assert rows["filed"].astype(str).tolist() == ["2025-02-10", "2025-05-01", "2025-08-05", "2025-11-14"]
    assert rows["filed_assumed"].tolist() == [False, False, False, True]
    assert rows["revenue"].tolist() == [100.0, 110.0, 120.0, 130.0]  # thousands -> USD millions
    assert rows["interest_expense"].iloc[0] == 5.0 and rows["capex"].iloc[0] == 8.0
    # the loader reads it: known = first session strictly after the knowledge date
    pd_prices = PRICES.assign(date=pd.to_datetime(["2025-11-13", "2025-11-14", "2025-11-17", "2025-11-18"]))
    pd_prices.to_parquet(tmp_path / "d" / "prices.parquet")
    data = load_dataset(tmp_path / "d")
    assert data.fundamentals["known"].astype(str).tolist()[-1] == "2025-11-17"
    assert data.fundamentals["filed_assumed"].tolist()[-1]


def test_map_names_the_columns_a_sheet_calls_otherwise_and_append_updates_by_period_and_date(tmp_path):
    sheet = write(tmp_path / "s.csv", "sym,qtr,pub,Sales,OI,Int,Cash,Debt,Capex\nAAA,2025-03-31,2025-05-01,10,2,1,5,1,1\n")
    options = FundamentalsOptions(mapping={"sym": "symbol", "qtr": "period_end", "pub": "filed", "Sales": "revenue",
                                           "OI": "operating_income", "Int": "interest_expense", "Cash": "cash",
                                           "Debt": "total_debt", "Capex": "capex"})
    (first,) = import_fundamentals(sheet, tmp_path / "d", options)
    (again,) = import_fundamentals(sheet, tmp_path / "d", options)
    assert (first.added, again.added, again.updated, again.rows) == (1, 0, 1, 1)
    with pytest.raises(DataError, match="no column for operating_income, interest_expense"):
        import_fundamentals(sheet, tmp_path / "e", FundamentalsOptions(mapping={"sym": "symbol", "qtr": "period_end"}))


def test_events_import_validates_and_appends_only_new_events(tmp_path):
    report = import_events(ROOT / "data" / "events" / "ai_events.csv", tmp_path / "d")
    source = pd.read_csv(ROOT / "data" / "events" / "ai_events.csv")
    assert report.rows == report.added == len(source)
    again = import_events(ROOT / "data" / "events" / "ai_events.csv", tmp_path / "d")
    assert (again.added, again.already_there, again.rows) == (0, len(source), len(source))
    written = pd.read_parquet(tmp_path / "d" / "events.parquet")
    def rows(frame):
        return sorted(zip(frame["date"].astype(str), frame["title"], frame["confidence"],
                          frame["counterparties"].fillna("")))
    assert rows(written) == rows(source)
    before = digest(tmp_path / "d")
    for line, problem in [("2025-03-03,pre,deal,x,nvda,", "symbols"), ("2025-03-03,pre,merger,x,NVDA,", "kind"),
                          ("2025-03-33,pre,deal,x,NVDA,", "date"), ("2025-03-03,pre,deal,x,NVDA,lots", "amount_usd_bn")]:
        bad = write(tmp_path / "bad.csv", "date,session,kind,title,symbols,amount_usd_bn\n" + line + "\n")
        with pytest.raises(DataError) as error:
            import_events(bad, tmp_path / "d")
        assert error.value.field == problem and "row 1" in str(error.value)
    assert digest(tmp_path / "d") == before
