"""An exclusion acts the session it is known, whatever the rebalance calendar; the name comes back at the
next rebalance after it passes again. Freed weight stays in cash; both moves are logged."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.sim.simulate import ExecutionSettings, simulate
from rule_data import event, filing, fundamentals, make_dataset
from strategies.pipeline import run_pipeline
from strategies.registry import rules_model

SESSIONS = pd.bdate_range("2024-04-01", "2024-06-28")  # no holidays in the frame's own calendar
OLD = [f"2023-{m}-{d}" for m, d in (("06", "30"), ("09", "30"), ("12", "31"))]
FAILS_KNOWN = pd.Timestamp("2024-04-17")  # a Wednesday, mid-week and mid-month
PASSES_KNOWN = pd.Timestamp("2024-05-15")


def dataset(**extra):
    """A, B, C at flat prices; B's Q1 filing (known mid-April) gives 4Q coverage (60 + 60 + 60 + 0) / 40 = 4.5x
    < 5x, and a restatement known mid-May lifts it to (60 + 60 + 60 + 140) / 40 = 8x."""
    close = pd.DataFrame(100.0, index=SESSIONS, columns=["A", "B", "C"])
    rows = [filing(s, end, "2024-02-15", operating_income=60.0, interest_expense=10.0) for s in "ABC" for end in OLD]
    rows += [filing("A", "2024-03-31", "2024-04-10", operating_income=60.0, interest_expense=10.0),
             filing("C", "2024-03-31", "2024-04-10", operating_income=60.0, interest_expense=10.0),
             filing("B", "2024-03-31", FAILS_KNOWN, operating_income=0.0, interest_expense=10.0),
             filing("B", "2024-03-31", PASSES_KNOWN, operating_income=140.0, interest_expense=10.0)]
    return make_dataset(close, fundamentals=fundamentals(*rows), **extra)


def rules(rebalance: str, **more):
    return rules_model()(**{"screen": {"min_interest_coverage": 5.0}, "weighting": {"kind": "equal",
                                                                                  "rebalance": rebalance}} | more)


def next_rebalance(rebalance: str, after: pd.Timestamp) -> pd.Timestamp:
    """The first period-end session on or after ``after`` (a hand calendar, not strategies.schedule)."""
    later = SESSIONS[SESSIONS >= after]
    if rebalance == "daily":
        return later[0]
    key = {"weekly": lambda d: d.isocalendar().week, "monthly": lambda d: d.month}[rebalance]
    return next(d for d, e in zip(later, later[1:]) if key(d) != key(e))


@pytest.mark.parametrize("rebalance", ["daily", "weekly", "monthly"])
def test_a_failing_filing_known_mid_period_sells_the_next_session_and_returns_at_the_next_rebalance(rebalance):
    data = dataset()
    out = run_pipeline(rules(rebalance), data, data.symbols, {})
    targets = out.targets
    known = SESSIONS.get_loc(FAILS_KNOWN)
    # up to the session before, B holds its third; on the known session its target is 0
    assert targets["B"].iloc[:known].dropna().eq(1 / 3).all()
    assert targets.loc[FAILS_KNOWN, "B"] == 0.0
    if rebalance != "daily":  # freed weight stays in cash: no other name is asked to move
        assert targets.loc[FAILS_KNOWN, ["A", "C"]].isna().all()
    back = next_rebalance(rebalance, PASSES_KNOWN)
    held = targets.loc[FAILS_KNOWN:back, "B"].iloc[1:-1].dropna()
    assert (held == 0).all(), "no buy-back before the rebalance"
    assert targets.loc[back, "B"] == pytest.approx(1 / 3)
    log = out.activity
    screen = log[(log["symbol"] == "B") & (log["rule"] == "screen")]
    first = screen.iloc[0]
    assert (first["session"], first["before"], first["after"]) == (FAILS_KNOWN, pytest.approx(1 / 3), 0.0)
    assert first["reason"] == "coverage 4.50x (4Q to 2024-03-31, filed 2024-04-16) < 5.00x"
    returned = screen[screen["reason"].str.contains("passes the screen again")]
    assert returned["session"].tolist() == [back] and returned["after"].iloc[0] == pytest.approx(1 / 3)

    sim = simulate(targets, data.open, data.close, ExecutionSettings())
    trades = sim.orders[sim.orders["symbol"] == "B"]
    sells = trades[trades["side"] == "sell"]
    assert sells["session"].iloc[0] == SESSIONS[known + 1] and sells["decided"].iloc[0] == FAILS_KNOWN
    assert sim.cash.loc[SESSIONS[known + 1]] == pytest.approx(1e6 / 3, rel=1e-9) if rebalance != "daily" else True
    buys = trades[(trades["side"] == "buy") & (trades["session"] > FAILS_KNOWN)]
    assert buys["decided"].iloc[0] == back


def test_an_exit_event_sells_at_once_and_the_name_returns_at_the_rebalance_after_the_window():
    data = dataset(events=pd.DataFrame([event("2024-04-09", "2024-04-09", "regulatory", "C")]))
    out = run_pipeline(rules("monthly", events=[{"kinds": ["regulatory"], "action": "exit", "sessions": 3}]),
                       data, data.symbols, {})
    c = out.targets["C"]
    assert c.loc["2024-04-09"] == 0.0 and c.loc["2024-04-10":"2024-04-29"].dropna().eq(0).all()
    assert out.targets.loc["2024-04-09", ["A", "B"]].isna().all()  # freed weight in cash
    assert c.loc["2024-04-30"] == pytest.approx(1 / 2)  # B fails the screen by then
    log = out.activity[out.activity["symbol"] == "C"]
    assert log["session"].tolist() == [pd.Timestamp("2024-04-09"), pd.Timestamp("2024-04-30")]
    assert log["reason"].iloc[1] == "its exit window is over, back at the rebalance"


def test_caps_do_not_hand_the_freed_weight_to_the_others():
    data = dataset()
    config = rules("monthly", caps={"gross": 0.9})
    out = run_pipeline(config, data, data.symbols, {})
    assert out.targets.loc[FAILS_KNOWN, "B"] == 0.0
    assert out.targets.loc[FAILS_KNOWN, ["A", "C"]].isna().all()
    assert np.isclose(out.targets.loc["2024-04-30"].sum(), 0.9)


def test_freed_weight_reweight_makes_the_exclusion_session_a_rebalance():
    data = dataset()
    out = run_pipeline(rules_model()(**{"screen": {"min_interest_coverage": 5.0}, "freed_weight": "reweight",
                                      "weighting": {"kind": "equal", "rebalance": "monthly"}}), data, data.symbols, {})
    row = out.targets.loc[FAILS_KNOWN]
    assert row["B"] == 0.0 and row["A"] == pytest.approx(0.5) and row["C"] == pytest.approx(0.5)
    assert out.targets.loc[SESSIONS[SESSIONS.get_loc(FAILS_KNOWN) + 1]].isna().all()  # and not the day after
    log = out.activity
    assert log[(log["symbol"] == "B") & (log["session"] == FAILS_KNOWN)]["after"].tolist() == [0.0]
