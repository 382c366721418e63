"""The rule pipeline end to end: stage order, decision rows, the activity log, caps and no look-ahead."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.config.run_config import load_config
from engine.run.backtest import load_run_data, run_backtest
from strategies.activity import ActivityLog
from strategies.pipeline import decision_rows, run_pipeline

ROOT = Path(__file__).resolve().parents[1]
CUT = pd.Timestamp("2024-09-13")


@pytest.fixture(scope="module")
def column():
    """The shipped column config over 2023-2025 of the sample (reports and event study off)."""
    config = load_config(ROOT / "configs" / "column.yaml",
                         {"period.start": "2023-01-03", "event_study.enabled": False, "report.enabled": False})
    return config, load_run_data(config)


@pytest.fixture(scope="module")
def column_run(column):
    config, data = column
    return run_backtest(config, data)


def test_decision_rows_full_on_rebalance_and_changed_names_elsewhere() -> None:
    index = pd.date_range("2025-01-06", periods=4, freq="B")
    standing = pd.DataFrame({"A": [np.nan, 0.5, 0.5, 0.25], "B": [np.nan, 0.5, 0.5, 0.5]}, index=index)
    rows = decision_rows(standing, np.array([False, True, False, False]))
    expected = pd.DataFrame({"A": [np.nan, 0.5, np.nan, 0.25], "B": [np.nan, 0.5, np.nan, np.nan]}, index=index)
    pd.testing.assert_frame_equal(rows, expected)


def test_activity_log_keeps_only_explained_moves_on_decided_cells() -> None:
    index = pd.date_range("2025-01-06", periods=3, freq="B")
    before = pd.DataFrame({"A": [0.5, 0.5, 0.5], "B": [0.5, 0.5, 0.5]}, index=index)
    after = pd.DataFrame({"A": [0.25, 0.25, 0.5], "B": [0.5, 0.4, 0.5]}, index=index)
    reasons = pd.DataFrame({"A": ["cap", "cap", "cap"], "B": ["", "", ""]}, index=index)
    decided = pd.DataFrame({"A": [True, False, True], "B": [True, True, True]}, index=index)
    log = ActivityLog()
    log.record("caps", before, after, reasons)
    table = log.table(decided)
    assert table[["symbol", "rule", "before", "after", "reason"]].values.tolist() == [["A", "caps", 0.5, 0.25, "cap"]]
    assert table["session"].tolist() == [index[0]]


def test_decided_targets_respect_every_cap(column_run) -> None:
    config = column_run.config
    targets = column_run.targets.dropna(how="all")
    caps = config.rules.caps
    decided_full = targets[targets.notna().all(axis=1)]
    assert (decided_full.max(axis=1) <= caps.name + 1e-12).all()
    for group, cap in caps.groups.items():
        assert (decided_full[config.universe.groups[group]].sum(axis=1) <= cap + 1e-12).all(), group
    assert (decided_full.sum(axis=1) <= 1 - caps.cash_floor + 1e-12).all()


def test_weights_stay_within_cap_plus_band_at_each_fill(column_run) -> None:
    """Between rebalances the drift rule trims a name once it is more than the band above its cap,
    judged at the decision close; at a close a name may exceed cap + band only by that day's own move."""
    caps = column_run.config.rules.caps
    weights = column_run.strategy.weights
    close = column_run.data.adjusted("close")[weights.columns]
    open_ = column_run.data.adjusted("open")[weights.columns]
    # weight at the next open, before trading = weight at the close re-marked to the open
    at_open = (weights.shift() * open_ / close.shift())
    at_open = at_open.div(at_open.sum(axis=1) + column_run.strategy.cash.shift() / column_run.strategy.equity.shift(),
                          axis=0)
    assert (at_open.max(axis=1).dropna() < 0.30).all()  # sanity of the re-marking
    over = weights.max(axis=1) > caps.name + caps.band + 0.02
    daily_move = (close / close.shift() - 1).abs().max(axis=1)
    assert (daily_move[over] > 0.02).all(), "a name far above its cap at a close must have just jumped"


def test_screen_excludes_the_high_debt_name_and_logs_why(column_run) -> None:
    log = column_run.activity
    orcl = log[(log["symbol"] == "ORCL") & (log["rule"] == "screen")]
    assert len(orcl) > 0
    assert orcl["reason"].str.contains("coverage").all()
    assert (orcl["after"] == 0).all()
    decided = column_run.targets.loc[orcl["session"], "ORCL"]
    assert (decided == 0).all(), "on a session the screen excluded ORCL, its target is 0"
    nvda = log[(log["symbol"] == "NVDA") & (log["rule"] == "screen")]
    assert nvda.empty


def test_regulatory_events_halve_the_named_name(column) -> None:
    config, data = column
    rules = config.rules.model_copy(update={"caps": None, "regime": None, "profit_taking": None,
                                            "staged_entry": None, "selection": None, "screen": None})
    groups = dict(config.universe.groups)
    symbols = config.universe.symbols
    with_events = run_pipeline(rules, data, symbols, groups)
    without = run_pipeline(rules.model_copy(update={"events": []}), data, symbols, groups)
    scaled = with_events.activity[with_events.activity["rule"] == "event"]
    regulatory = scaled[scaled["reason"].str.startswith("regulatory")]
    assert len(regulatory) > 0
    for row in regulatory.itertuples():
        base = without.targets.ffill().loc[row.session, row.symbol]
        assert row.after == pytest.approx(0.5 * base) and row.before == pytest.approx(base)


def test_activity_log_columns_and_kernel_rules_present(column_run) -> None:
    log = column_run.activity
    assert list(log.columns) == ["session", "symbol", "rule", "before", "after", "reason"]
    assert log["session"].is_monotonic_increasing
    assert {"selection", "screen", "caps", "profit_taking", "staged_entry"} <= set(log["rule"])
    assert (log["reason"] != "").all()


def _perturbed_after(data, cut: pd.Timestamp, seed: int = 3):
    """A copy of the dataset where every price, market value, filing and event known after
    ``cut`` is changed (prices scaled randomly, filings halved, a fake regulatory event added)."""
    rng = np.random.default_rng(seed)
    later = data.sessions > cut
    shock = pd.DataFrame(1.0, index=data.sessions, columns=data.close.columns)
    shock.loc[later] = rng.uniform(0.6, 1.4, (later.sum(), len(data.close.columns)))
    prices = {name: getattr(data, name) * shock for name in ("open", "high", "low", "close")}
    market = data.market.copy()
    market.loc[market.index > cut] *= 1.7
    fundamentals = data.fundamentals.copy()
    after = fundamentals["known"] > cut
    fundamentals.loc[after, "operating_income"] = fundamentals.loc[after, "operating_income"] * 0.1
    events = data.events.copy()
    fake = events.iloc[[0]].copy()
    fake["session_date"] = data.sessions[later][5]
    fake["date"] = fake["session_date"]
    fake["kind"], fake["symbols"] = "regulatory", "NVDA;AMD;MSFT"
    events = pd.concat([events, fake], ignore_index=True)
    return dataclasses.replace(data, **prices, market=market, fundamentals=fundamentals, events=events)


def test_changing_the_future_does_not_move_the_past(column, column_run) -> None:
    config, data = column
    changed = run_backtest(config, _perturbed_after(data, CUT))
    up_to = column_run.data.sessions <= CUT
    pd.testing.assert_frame_equal(changed.targets[up_to], column_run.targets[up_to])
    pd.testing.assert_series_equal(changed.strategy.equity[up_to], column_run.strategy.equity[up_to])
    pd.testing.assert_frame_equal(changed.strategy.weights[up_to], column_run.strategy.weights[up_to])
    early = lambda log: log[log["session"] <= CUT].reset_index(drop=True)  # noqa: E731
    pd.testing.assert_frame_equal(early(changed.activity), early(column_run.activity))
    orders = lambda r: r.strategy.orders[r.strategy.orders["session"] <= CUT].reset_index(drop=True)  # noqa: E731
    pd.testing.assert_frame_equal(orders(changed), orders(column_run))
    assert not changed.strategy.equity.equals(column_run.strategy.equity), "the future did change"
