"""strategies.filed_figures (one numpy pass over every name's filing states) against the obvious per-name loop
(tests/filed_figures_reference.py), on random filings: skipped quarters, missing items, restatements,
several filings becoming visible on one session, late filings of old quarters, non-positive denominators,
names without filings, filings before the first and after the last session, assumed filing dates."""

from __future__ import annotations

import numpy as np
import pandas as pd
from filed_figures_reference import reference_filed_figures
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strategies.filed_figures import ITEM_NAMES, MEASURES, filed_figures

SESSIONS = pd.bdate_range("2021-01-04", periods=400)


@st.composite
def filings(draw):
    """A fundamentals table in the loader's layout (``known`` = the first session after ``filed``)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    step = draw(st.sampled_from(["QE", "QE", "ME"]))  # monthly period ends: more than four ends in a year
    blank, restate = draw(st.floats(0, 0.4)), draw(st.floats(0, 0.5))
    rows = []
    for symbol in ("A", "B", "C", "D")[: draw(st.integers(1, 4))]:
        ends = pd.date_range("2019-06-30", "2022-09-30", freq=step)
        ends = ends[rng.random(len(ends)) > draw(st.floats(0, 0.5))]  # skipped quarters
        for end in ends:
            for version in range(1 + (rng.random() < restate) + (rng.random() < restate / 2)):
                known = end + pd.Timedelta(days=int(rng.integers(10, 400 if version else 120)))  # some filed late
                values = {item: float(rng.choice([rng.uniform(-50, 900), 0.0, rng.uniform(1, 50)], p=[0.8, 0.1, 0.1]))
                          for item in ITEM_NAMES}
                values = {k: (np.nan if rng.random() < blank else v) for k, v in values.items()}
                rows.append({"symbol": symbol, "period_end": end, "filed": known - pd.Timedelta(days=1),
                             "known": known, **values,
                             "filed_assumed": rng.choice(np.array([True, False, None], dtype=object))})
    frame = pd.DataFrame(rows, columns=["symbol", "period_end", "filed", "known", *ITEM_NAMES, "filed_assumed"])
    frame["known"] = frame["known"].dt.normalize().where(frame["known"].dt.dayofweek < 5,
                                                        frame["known"] + pd.offsets.BDay(1))  # same session, twice
    if draw(st.booleans()):
        return frame.sort_values(["known", "symbol", "period_end"], ignore_index=True)
    return frame.sample(frac=1.0, random_state=int(rng.integers(0, 2**31))).reset_index(drop=True)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(filings(), st.integers(0, 6), st.sampled_from(["ttm", "quarter"]), st.integers(1, 4),
       st.sampled_from([["A", "B", "C", "D"], ["C", "A", "E"], ["B"]]))
def test_every_figure_source_and_reason_matches_the_per_name_loop(rows, lag, basis, min_quarters, symbols):
    got = filed_figures(rows, SESSIONS, symbols, lag_sessions=lag, basis=basis, min_quarters=min_quarters)
    want = reference_filed_figures(rows, SESSIONS, symbols, lag_sessions=lag, basis=basis, min_quarters=min_quarters)
    for name in MEASURES:
        pd.testing.assert_frame_equal(got.values[name], want.values[name], check_exact=True)
        pd.testing.assert_frame_equal(got.sources[name], want.sources[name].astype(object))
        pd.testing.assert_frame_equal(got.unknown[name], want.unknown[name].astype(object))


def test_no_fundamentals_leaves_every_figure_unknown():
    empty = pd.DataFrame(columns=["symbol", "period_end", "filed", "known", *ITEM_NAMES])
    got = filed_figures(empty, SESSIONS[:5], ["A", "B"])
    want = reference_filed_figures(empty, SESSIONS[:5], ["A", "B"])
    for name in MEASURES:
        pd.testing.assert_frame_equal(got.values[name], want.values[name])
        pd.testing.assert_frame_equal(got.unknown[name], want.unknown[name].astype(object))
        assert (got.unknown[name] == "no filing known yet").all().all()


def test_a_quarter_ending_320_days_before_the_latest_is_in_its_year_and_one_at_321_is_not():
    latest = pd.Timestamp("2021-06-30")
    ends = [latest - pd.Timedelta(days=321), latest - pd.Timedelta(days=320), latest]
    rows = pd.DataFrame({"symbol": "A", "period_end": ends, "filed": pd.Timestamp("2021-07-30"),
                         "known": pd.Timestamp("2021-08-02"), "operating_income": [1000.0, 30.0, 50.0],
                         "interest_expense": 10.0, "capex": 1.0, "revenue": 10.0, "cash": 1.0, "total_debt": 1.0})
    got = filed_figures(rows, SESSIONS, ["A"])
    assert got.values["coverage"].iloc[-1, 0] == 4.0  # (30 + 50) / (10 + 10): the 1000 is out of the year
    assert got.sources["coverage"].iloc[-1, 0] == "2Q to 2021-06-30 annualised, filed 2021-07-30"
    pd.testing.assert_frame_equal(got.values["coverage"], reference_filed_figures(rows, SESSIONS, ["A"]).values["coverage"])
