"""One drawdown implementation (engine.analysis.drawdowns): its series, episodes, top-N table and
durations equal quantstats' and empyrical's, every place that reports a drawdown agrees with it,
and no other module computes one itself."""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import empyrical
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.analysis.drawdowns import (drawdown_episodes, drawdown_series, drawdown_table, max_drawdown,
                                       recovery_after, worst_episode)
from engine.analysis.event_study import Windows, window_metrics
from engine.analysis.metrics import compute_metrics

qs = pytest.importorskip("quantstats")
ROOT = Path(__file__).resolve().parents[1]

# a price path: steps of ±1..5% (quantstats reads values this large as prices, not returns)
paths = st.lists(st.sampled_from([-0.05, -0.03, -0.01, 0.0, 0.01, 0.02, 0.04]), min_size=3, max_size=60).map(
    lambda steps: pd.Series(1e5 * np.cumprod(np.r_[1.0, 1.0 + np.array(steps)]),
                            index=pd.bdate_range("2024-01-02", periods=len(steps) + 1)))


def quantstats_episodes(equity: pd.Series) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return qs.stats.drawdown_details(qs.stats.to_drawdown_series(equity))


@given(paths)
@settings(max_examples=150, deadline=None)
def test_series_and_max_drawdown_equal_quantstats_and_empyrical(equity):
    np.testing.assert_allclose(drawdown_series(equity), qs.stats.to_drawdown_series(equity), atol=1e-12)
    returns = equity.pct_change().iloc[1:]
    assert max_drawdown(equity.to_numpy()) == pytest.approx(min(empyrical.max_drawdown(returns), 0.0), abs=1e-12)
    m = compute_metrics(equity, periods_per_year=252)
    assert m["max_drawdown"] == max_drawdown(equity.to_numpy())


@given(paths, st.integers(1, 6))
@settings(max_examples=150, deadline=None)
def test_episodes_top_n_and_durations_equal_quantstats(equity, top):
    """quantstats names an episode by its first and last session under water; this table by the
    peak (the session before) and the recovery (the session after, NaT while still under water)."""
    theirs = quantstats_episodes(equity)
    ours = drawdown_table(equity, top=10_000)
    assert len(ours) == len(theirs) == len(drawdown_episodes(equity.to_numpy()))
    if not len(ours):
        return
    index, last = equity.index, len(equity) - 1
    theirs = theirs.assign(first=[index.get_loc(pd.Timestamp(d)) for d in theirs["start"]],
                           final=[index.get_loc(pd.Timestamp(d)) for d in theirs["end"]])
    ours = ours.assign(first=[index.get_loc(p) + 1 for p in ours["peak"]]).sort_values("first", ignore_index=True)
    theirs = theirs.sort_values("first", ignore_index=True)
    np.testing.assert_array_equal(ours["first"], theirs["first"])
    np.testing.assert_allclose(ours["depth"], theirs["max drawdown"] / 100, rtol=1e-9)
    assert list(ours["trough"]) == [pd.Timestamp(d) for d in theirs["valley"]]
    recovered = ours["recovery"].notna().to_numpy()
    assert (~recovered).sum() <= 1 and (recovered | (theirs["final"] == last)).all()
    expected_recovery = [index[f + 1] if r else pd.NaT for f, r in zip(theirs["final"], recovered)]
    assert list(ours["recovery"]) == expected_recovery
    # length: peak to recovery (or to the last session); recovery: trough to recovery
    expected_length = theirs["final"] - theirs["first"] + np.where(recovered, 2, 1)
    np.testing.assert_array_equal(ours["length_sessions"], expected_length)
    # the top N are the N deepest, deepest first, earliest on ties
    table = drawdown_table(equity, top=top)
    order = ours.sort_values(["depth", "first"], kind="stable").head(top)
    assert list(table["peak"]) == list(order["peak"]) and list(table["depth"]) == list(order["depth"])
    worst = worst_episode(equity.to_numpy())
    assert index[worst.peak] == table["peak"].iloc[0] and worst.depth == table["depth"].iloc[0]


def test_the_places_that_report_a_drawdown_agree_with_it():
    """metrics.json's max drawdown and its dates, the report's tables and charts, the hedge paragraph
    and an event window's drawdown are this module's numbers on the same curve."""
    from engine.report.optional_sections import _drawdown_effect

    rng = np.random.default_rng(11)
    index = pd.bdate_range("2023-01-02", periods=400)
    equity = pd.Series(1e6 * np.cumprod(1 + rng.normal(2e-4, 0.012, 400)), index=index)
    m, top = compute_metrics(equity, periods_per_year=252), drawdown_table(equity, top=1).iloc[0]
    assert (m["max_drawdown"], m["max_drawdown_peak"], m["max_drawdown_trough"]) == \
        (top["depth"], f"{top['peak']:%Y-%m-%d}", f"{top['trough']:%Y-%m-%d}")
    assert m["max_drawdown_sessions"] == top["length_sessions"]
    hedge_value = pd.Series(np.linspace(0, 3e4, 400), index=index)
    frame = pd.DataFrame({"equity": equity + hedge_value, "hedge_value": hedge_value, "hedge_cash": 0.0})
    paragraph = _drawdown_effect(frame)[0].text
    assert f"{100 * max_drawdown(frame['equity'].to_numpy()):.2f}%" in paragraph
    assert f"{100 * m['max_drawdown']:.2f}%" in paragraph  # without the hedges: the stock book is `equity`
    # an event window: the deepest fall from the pre-event peak, recovery searched past the window
    values = equity.to_numpy()
    row = window_metrics(values, 200, Windows(-5, 20, (-60, -6)), index)
    path = np.r_[values[195:200].max(), values[200:221]]
    assert row["drawdown"] == pytest.approx(min(max_drawdown(path), 0.0), abs=1e-15)
    if row["drawdown"] < 0:
        trough = index.get_loc(row["trough_date"])
        assert row["recovery_date"] is pd.NaT or \
            index.get_loc(row["recovery_date"]) == recovery_after(values, trough, values[index.get_loc(row["peak_date"])])


def test_recovery_after_is_the_first_session_back_at_the_level():
    values = np.array([10.0, 8.0, 9.0, 10.0, 7.0, 11.0])
    assert recovery_after(values, 1, 10.0) == 3 and recovery_after(values, 3, 10.0) == 5
    assert recovery_after(values, 5, 10.0) is None


# running highs outside the drawdown module that are not drawdowns (block starts, listing spans, states)
NOT_DRAWDOWNS = {"engine/analysis/stationary_bootstrap.py", "engine/data/loader.py", "strategies/filed_figures.py",
                 "strategies/pipeline.py"}


def running_highs(sources: dict[str, str]) -> list[str]:
    """Modules that take a running maximum (np.maximum.accumulate, .cummax(), .expanding().max())."""
    found = []
    for module, source in sources.items():
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            func = node.func
            accumulate = func.attr == "accumulate" and isinstance(func.value, ast.Attribute) \
                and func.value.attr == "maximum"
            expanding = func.attr == "max" and isinstance(func.value, ast.Call) \
                and isinstance(func.value.func, ast.Attribute) and func.value.func.attr == "expanding"
            if accumulate or expanding or func.attr == "cummax":
                found.append(f"{module}:{node.lineno}")
    return found


def test_no_other_module_computes_a_drawdown():
    sources = {str(p.relative_to(ROOT)): p.read_text() for package in ("engine", "rulebook", "strategies")
               for p in (ROOT / package).rglob("*.py")}
    sources = {m: s for m, s in sources.items() if m != "engine/analysis/drawdowns.py" and m not in NOT_DRAWDOWNS}
    assert len(sources) > 100 and running_highs(sources) == []


def test_the_drawdown_guard_catches_a_second_implementation():
    sneaky = {"engine/report/x.py": "dd = equity / equity.cummax() - 1\n",
              "engine/sweep/y.py": "high = np.maximum.accumulate(values)\nlow = curve.expanding().max()\n"}
    assert running_highs(sneaky) == ["engine/report/x.py:1", "engine/sweep/y.py:1", "engine/sweep/y.py:2"]
    assert running_highs({"engine/report/z.py": "np.maximum(a, b).max()\nframe.max()\n"}) == []
