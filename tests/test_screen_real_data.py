"""The screen on the real fundamentals sheet (../shared/data/fundamentals), imported with rulebook's own
importer: each measure computed by hand from the CSV, and what the screen decides around each filing."""

from __future__ import annotations

import pandas as pd
import pytest

from engine.data.fundamentals_import import FundamentalsOptions, import_fundamentals
from engine.data.importers import ImportSources, import_prices
from engine.data.loader import load_dataset
from engine.data.price_files import ReadOptions
from rule_data import context
from strategies.screens import HealthScreenConfig


@pytest.fixture(scope="module")
def real(shared_data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("real")
    raw = shared_data / "raw" / "prices_ohlcv_yahoo"
    import_prices(ImportSources(tuple(raw / f"{s}.csv" for s in ("ORCL", "CRWV", "NVDA")),
                                adj_close=(shared_data / "raw" / "prices_adjclose_yahoo",)),
                  folder, ReadOptions(start=pd.Timestamp("2023-01-03")))
    import_fundamentals(shared_data / "fundamentals" / "fundamentals_q.csv", folder, FundamentalsOptions(assumed_lag=45))
    sheet = pd.read_csv(shared_data / "fundamentals" / "fundamentals_q.csv", parse_dates=["fiscal_period_end"])
    return load_dataset(folder), sheet.set_index(["symbol", "fiscal_period_end"])


def decide(data, **config):
    out = HealthScreenConfig(**config).build().apply(context(data))
    return lambda symbol, day: (out.values.loc[day, symbol], out.reasons.loc[day, symbol])


def figures(sheet, symbol, ends, top, bottom):
    rows = sheet.loc[[(symbol, pd.Timestamp(end)) for end in ends]]
    return rows[top].sum() / rows[bottom].sum()


OI, INT = "operating_income_usd_m", "interest_expense_usd_m"


def test_orcl_coverage_is_judged_on_four_quarters_and_passes_from_the_session_after_the_march_2024_release(real):
    data, sheet = real
    screen = decide(data, min_interest_coverage=4.0)
    before = figures(sheet, "ORCL", ["2023-02-28", "2023-05-31", "2023-08-31", "2023-11-30"], OI, INT)
    after = figures(sheet, "ORCL", ["2023-05-31", "2023-08-31", "2023-11-30", "2024-02-29"], OI, INT)
    assert round(before, 2) == 3.95 and round(after, 2) == 4.12  # (3260+4140+3296+3622)/(908+955+872+888), ...
    # FY24Q3: released 2024-03-11 after the close, 10-Q filed 2024-03-12: known on the session after the release
    assert screen("ORCL", "2024-03-11") == (0.0, f"coverage {before:.2f}x (4Q to 2023-11-30, filed 2023-12-11) < 4.00x")
    assert screen("ORCL", "2024-03-12") == (1.0, "")


def test_crwv_is_unknown_on_one_quarter_and_fails_from_the_session_after_its_second_release(real):
    data, sheet = real
    screen = decide(data, min_interest_coverage=4.0)
    assert screen("CRWV", "2025-08-12") == (0.0, "coverage unknown (1 of the last 4 quarters filed with operating "
                                                 "income and interest expense, min_quarters is 2)")
    two = figures(sheet, "CRWV", ["2025-03-31", "2025-06-30"], OI, INT)
    assert screen("CRWV", "2025-08-13") == (0.0, f"coverage {two:.2f}x (2Q to 2025-06-30 annualised, "
                                                 "filed 2025-08-12) < 4.00x")
    latest = decide(data, min_interest_coverage=2.0, basis="quarter")
    q3 = sheet.loc[("CRWV", pd.Timestamp("2025-09-30"))]
    assert round(q3[OI] / q3[INT], 2) == 0.17
    q2 = sheet.loc[("CRWV", pd.Timestamp("2025-06-30"))]
    assert latest("CRWV", "2025-11-10") == (0.0, f"coverage {q2[OI] / q2[INT]:.2f}x (latest quarter, filed 2025-08-12) "
                                                 "< 2.00x")
    assert latest("CRWV", "2025-11-11") == (0.0, "coverage 0.17x (latest quarter, filed 2025-11-10) < 2.00x")


def test_orcl_capex_intensity_annualises_the_quarters_that_report_capex(real):
    data, sheet = real
    screen = decide(data, max_capex_intensity=0.45, missing="keep")
    # the trailing year of 2025-11-30 holds capex for 2025-02-28, 2025-08-31 and 2025-11-30 (none for 2025-05-31)
    three = figures(sheet, "ORCL", ["2025-02-28", "2025-08-31", "2025-11-30"], "capex_usd_m", "revenue_usd_m")
    assert round(three, 3) == 0.585
    assert screen("ORCL", "2025-12-11") == (0.0, f"capex/revenue {three:.0%} (3Q to 2025-11-30 annualised, "
                                                 "filed 2025-12-10) > 45%")
    two = figures(sheet, "ORCL", ["2025-08-31", "2025-11-30"], "capex_usd_m", "revenue_usd_m")
    # 2025-02-28 leaves the trailing year once the 2026-02-28 quarter (no capex) is known on 2026-03-11
    assert screen("ORCL", "2026-03-11") == (0.0, f"capex/revenue {two:.0%} (2Q to 2025-11-30 annualised, "
                                                 "filed 2025-12-10) > 45%")


def test_nvda_net_cash_is_the_latest_balance_sheet_with_cash_and_debt(real):
    data, sheet = real
    screen = decide(data, min_net_cash=5000.0)
    row = sheet.loc[("NVDA", pd.Timestamp("2025-10-26"))]
    net = row["cash_and_equivalents_usd_m"] - row["total_debt_usd_m"]
    assert screen("NVDA", "2025-11-20") == (0.0, f"net cash {net / 1000:.1f}B (balance sheet 2025-10-26, filed "
                                                 "2025-11-19) < 5.0B")
    # the next two quarters have no balance sheet in the sheet: the screen keeps reading 2025-10-26's
    assert screen("NVDA", "2026-05-21")[1].startswith(f"net cash {net / 1000:.1f}B (balance sheet 2025-10-26")
