"""Financial-health screen: point-in-time filings, restatements, each criterion, missing data, the sample."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from engine.config.run_config import SAMPLE_DATA_DIR
from engine.data.loader import load_dataset
from engine.errors import DataError
from rule_data import context, filing, fundamentals, make_dataset, perturbed_after, random_dataset
from strategies.screens import HealthScreenConfig

SESSIONS = pd.bdate_range("2024-04-01", periods=30)


def screen(data, **config):
    return HealthScreenConfig(**config).build().apply(context(data))


@pytest.fixture
def filed_in_window():
    """A's first three quarters are old news; its fourth is known on row 5 and restated on row 15.

    4Q coverage: (100 + 100 + 100 + 160) / (20 + 20 + 20 + 40) = 4.6x, then with the restated fourth
    quarter (operating income 40) (100 + 100 + 100 + 40) / 100 = 3.4x.
    """
    old = [filing("A", end, "2024-02-15", operating_income=100.0, interest_expense=20.0)
           for end in ("2023-06-30", "2023-09-30", "2023-12-31")]
    rows = fundamentals(*old, filing("A", "2024-03-31", SESSIONS[5], operating_income=160.0, interest_expense=40.0),
                        filing("A", "2024-03-31", SESSIONS[15], operating_income=40.0, interest_expense=40.0))
    return make_dataset(pd.DataFrame(10.0, index=SESSIONS, columns=["A"]), fundamentals=rows)


def test_a_filing_counts_from_known_plus_lag_and_a_restatement_from_its_own_known(filed_in_window):
    out = screen(filed_in_window, min_interest_coverage=4.0, lag_sessions=2, missing="keep")
    expected = [1.0] * 17 + [0.0] * 13  # rows 0-6 unknown (kept), 7-16 4.6x, 17- 3.4x
    assert out.values["A"].tolist() == expected
    assert out.reasons["A"].iloc[17] == "coverage 3.40x (4Q to 2024-03-31, filed 2024-04-21) < 4.00x"
    assert (out.reasons["A"].iloc[:17] == "").all()
    no_lag = screen(filed_in_window, min_interest_coverage=4.0, missing="keep")
    assert no_lag.values["A"].tolist() == [1.0] * 15 + [0.0] * 15


def test_fewer_than_min_quarters_is_missing_and_each_missing_mode_applies(filed_in_window):
    unknown_rows = slice(0, 5)  # before the fourth quarter is known
    for missing, action, multiplier in [("exclude", "exclude", 0.0), ("exclude", "scale", 0.25),
                                        ("neutral", "exclude", 0.25), ("keep", "scale", 1.0)]:
        out = screen(filed_in_window, min_interest_coverage=4.0, missing=missing, action=action, scale=0.25,
                     min_quarters=4)
        assert (out.values["A"].iloc[unknown_rows] == multiplier).all(), (missing, action)
        assert (out.values["A"].iloc[5:15] == 1.0).all()
        assert (out.values["A"].iloc[15:] == (0.0 if action == "exclude" else 0.25)).all()
    assert out.reasons["A"].iloc[0] == ""  # kept: the rule did nothing
    assert screen(filed_in_window, min_interest_coverage=4.0, min_quarters=4).reasons["A"].iloc[0] == (
        "coverage unknown (3 of the last 4 quarters filed with operating income and interest expense, "
        "min_quarters is 4)")
    # the default (min_quarters 2) judges the three old quarters, annualised: 300 / 60 = 5.0x passes
    default = screen(filed_in_window, min_interest_coverage=5.5)
    assert default.reasons["A"].iloc[0] == "coverage 5.00x (3Q to 2023-12-31 annualised, filed 2024-02-14) < 5.50x"


def test_net_cash_capex_intensity_and_credit_spread_each_fail_with_their_numbers():
    old = "2024-02-15"
    rows = fundamentals(*[filing("C", end, old, capex=capex, cash=500.0, total_debt=2500.0)
                          for end, capex in [("2023-06-30", 100.0), ("2023-09-30", 100.0), ("2023-12-31", 100.0),
                                             ("2024-03-31", 500.0)]],
                        *[filing("A", end, old) for end in ("2023-06-30", "2023-09-30", "2023-12-31", "2024-03-31")])
    cds = pd.Series(100.0, index=SESSIONS).mask(SESSIONS.isin(SESSIONS[10:13]), 250.0)
    data = make_dataset(pd.DataFrame(10.0, index=SESSIONS, columns=["A", "C"]), fundamentals=rows,
                        market=pd.DataFrame({"CDS_C": cds, "CDS_Z": 999.0}))
    out = screen(data, min_net_cash=-1000.0, max_capex_intensity=0.15, max_credit_spread=200.0, action="scale")
    # C: net cash 500 - 2500 = -2,000M; capex 800 / revenue 4000 = 20%. A: healthy, and has no CDS series.
    assert (out.values["A"] == 1.0).all() and (out.values["C"] == 0.5).all()
    both = ("net cash -2.0B (balance sheet 2024-03-31, filed 2024-02-14) < -1.0B; "
            "capex/revenue 20% (4Q to 2024-03-31, filed 2024-02-14) > 15%")
    assert out.reasons["C"].iloc[0] == both
    assert out.reasons["C"].iloc[10] == both + "; CDS_C 250.0 > 200.0"
    credit_only = screen(data, max_credit_spread=200.0)
    assert credit_only.values["C"].tolist() == [1.0] * 10 + [0.0] * 3 + [1.0] * 17
    assert (credit_only.values["A"] == 1.0).all()


def test_a_skipped_quarter_leaves_coverage_unknown_and_no_interest_passes():
    ends = ("2023-03-31", "2023-06-30", "2023-09-30", "2024-03-31")  # 2023-12-31 never filed
    rows = fundamentals(*[filing("A", end, "2024-02-15", operating_income=-5.0) for end in ends],
                        *[filing("B", end, "2024-02-15", operating_income=-5.0, interest_expense=0.0)
                          for end in ("2023-06-30", "2023-09-30", "2023-12-31", "2024-03-31")])
    data = make_dataset(pd.DataFrame(10.0, index=SESSIONS, columns=["A", "B"]), fundamentals=rows)
    out = screen(data, min_interest_coverage=2.0, min_quarters=4)
    assert (out.reasons["A"] == "coverage unknown (3 of the last 4 quarters filed with operating income and "
            "interest expense, min_quarters is 4)").all() and (out.values["A"] == 0.0).all()
    assert (out.values["B"] == 1.0).all()
    # with the default min_quarters 2, A's three quarters of the last year (2023-03-31 is > 320 days back) count
    default = screen(data, min_interest_coverage=2.0)
    assert (default.reasons["A"] == "coverage -0.50x (3Q to 2024-03-31 annualised, filed 2024-02-14) < 2.00x").all()


def test_a_fundamentals_screen_on_data_without_fundamentals_says_what_to_add():
    data = make_dataset(pd.DataFrame(10.0, index=SESSIONS, columns=["A"]))
    with pytest.raises(DataError, match="fundamentals.parquet: the health screen reads fundamentals"):
        screen(data, min_net_cash=0.0)
    assert (screen(data, max_credit_spread=100.0).values == 1.0).all().all()  # credit alone needs no filings


def test_a_screen_must_check_something():
    with pytest.raises(ValidationError, match="set at least one of min_interest_coverage"):
        HealthScreenConfig(action="scale")


def test_the_sample_screen_excludes_orcl_as_its_coverage_falls_while_nvda_passes():
    # Sample ORCL 4Q coverage by filing: 4.9x known 2024-07-22, 3.9x known 2024-10-21, ... 2.0x known 2025-10-23.
    data = load_dataset(SAMPLE_DATA_DIR, symbols=["ORCL", "NVDA"], start="2023-01-01")
    out = screen(data, min_interest_coverage=4.0)
    orcl, nvda = out.values["ORCL"], out.values["NVDA"]
    assert (orcl.loc["2024-01-01":"2024-10-18"] == 1.0).all()
    assert (orcl.loc["2024-10-21":] == 0.0).all()
    assert out.reasons.loc["2024-10-21", "ORCL"] == "coverage 3.88x (4Q to 2024-09-30, filed 2024-10-20) < 4.00x"
    assert out.reasons["ORCL"].iloc[-1].startswith("coverage 2.0")
    assert (nvda.loc["2024-01-01":] == 1.0).all()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(20, 60), cutoff_fraction=st.floats(0, 0.95),
       coverage=st.floats(0.5, 8), net_cash=st.floats(-500, 500), capex=st.floats(0.05, 0.5),
       spread=st.floats(50, 300), lag=st.integers(0, 5), action=st.sampled_from(["exclude", "scale"]),
       missing=st.sampled_from(["exclude", "keep", "neutral"]))
def test_data_after_a_session_never_changes_earlier_screen_rows(seed, n, cutoff_fraction, coverage, net_cash,
                                                                capex, spread, lag, action, missing):
    data = random_dataset(seed, n)
    cutoff = int(cutoff_fraction * (n - 1))
    config = dict(min_interest_coverage=coverage, min_net_cash=net_cash, max_capex_intensity=capex,
                  max_credit_spread=spread, lag_sessions=lag, action=action, missing=missing)
    before, after = screen(data, **config), screen(perturbed_after(data, cutoff, seed), **config)
    assert before.values.iloc[: cutoff + 1].equals(after.values.iloc[: cutoff + 1])
    assert before.reasons.iloc[: cutoff + 1].equals(after.reasons.iloc[: cutoff + 1])
    assert np.isin(before.values.to_numpy(), [0.0, 0.5, 1.0]).all()
