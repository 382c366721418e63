"""Forecast scorecard: constructed price paths land in the right case; Brier scores by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.errors import DataError
from engine.config.scenarios import ScenarioSet
from engine.analysis.scorecard import realised_moves, score, score_month_ends

OUTLOOK = ScenarioSet.model_validate({"horizon": 5, "scenarios": {
    "base": {"probability": 0.55, "benchmark": [0.01, 0.03], "groups": {"ai": [-0.12, 0.12]}},
    "optimistic": {"probability": 0.20, "benchmark": [0.04, 0.07], "groups": {"ai": [0.15, 0.35]}},
    "pessimistic": {"probability": 0.25, "benchmark": [-0.06, -0.03], "groups": {"ai": [-0.25, -0.10]}}}})
SESSIONS = pd.bdate_range("2025-12-01", periods=12)


def paths(spy_move: float, ai_moves: tuple[float, float]) -> pd.DataFrame:
    """Flat until the outlook date (session 2), then linear to the moves at session 7, flat after."""
    def path(move: float) -> np.ndarray:
        ramp = np.clip((np.arange(12) - 2) / 5, 0, 1)
        return 100 * (1 + move * ramp)
    return pd.DataFrame({"SPY": path(spy_move), "NVDA": path(ai_moves[0]), "AMD": path(ai_moves[1])},
                        index=SESSIONS)


def test_realised_moves_run_over_the_horizon_and_average_the_group() -> None:
    moves = realised_moves(paths(-0.045, (-0.2, -0.1)), SESSIONS[2], 5, "SPY", {"ai": ["NVDA", "AMD"]})
    assert moves["benchmark"] == pytest.approx(-0.045) and moves["ai"] == pytest.approx(-0.15)
    assert realised_moves(paths(-0.045, (-0.2, -0.1)), SESSIONS[4], 5, "SPY", {})["benchmark"] == pytest.approx(
        100 * (1 - 0.045) / (100 * (1 - 0.045 * 2 / 5)) - 1)


@pytest.mark.parametrize("spy, ai, bench_case, ai_case, inside", [
    (-0.045, (-0.2, -0.1), "pessimistic", "pessimistic", (True, True)),
    (0.05, (0.30, 0.20), "optimistic", "optimistic", (True, True)),
    (0.02, (0.05, -0.03), "base", "base", (True, True)),
    (0.035, (0.13, 0.13), "base", "base", (False, False)),  # nearest: 0.035 is 0.005 above base, 0.005 below opt
    (-0.20, (-0.60, -0.40), "pessimistic", "pessimistic", (False, False)),
])
def test_scorecard_lands_in_the_case_the_paths_were_built_for(spy, ai, bench_case, ai_case, inside) -> None:
    card = score(OUTLOOK, realised_moves(paths(spy, ai), SESSIONS[2], 5, "SPY", {"ai": ["NVDA", "AMD"]}))
    card = card.set_index("factor")
    assert (card.loc["benchmark", "scenario"], card.loc["ai", "scenario"]) == (bench_case, ai_case)
    assert (bool(card.loc["benchmark", "inside"]), bool(card.loc["ai", "inside"])) == inside


def test_brier_score_matches_a_hand_calculation() -> None:
    card = score(OUTLOOK, pd.Series({"benchmark": -0.04, "ai": 0.02})).set_index("factor")
    assert card.loc["benchmark", "brier"] == pytest.approx(0.55 ** 2 + 0.20 ** 2 + 0.75 ** 2)  # 0.905
    assert card.loc["ai", "brier"] == pytest.approx(0.45 ** 2 + 0.20 ** 2 + 0.25 ** 2)  # 0.305


def test_a_group_only_some_cases_list_is_matched_among_those() -> None:
    outlook = ScenarioSet.model_validate({"scenarios": {
        "up": {"probability": 0.6, "benchmark": [0.0, 0.05], "groups": {"hw": [0.1, 0.3]}},
        "down": {"probability": 0.4, "benchmark": [-0.05, 0.0]}}})
    card = score(outlook, pd.Series({"benchmark": -0.01, "hw": -0.2})).set_index("factor")
    assert card.loc["hw", "scenario"] == "up" and not card.loc["hw", "inside"]
    assert card.loc["hw", "brier"] == pytest.approx(0.4 ** 2 + 0.4 ** 2)


def test_outlook_without_a_passed_horizon_is_a_data_error_and_month_ends_are_scored() -> None:
    with pytest.raises(DataError, match="5 sessions after 2025-12-15"):
        realised_moves(paths(0.0, (0.0, 0.0)), SESSIONS[-2], 5, "SPY", {})
    long = pd.DataFrame({"SPY": np.linspace(100, 130, 130)}, index=pd.bdate_range("2025-01-01", periods=130))
    history = score_month_ends(OUTLOOK, long, "SPY", {})
    expected = [d for d in long.index.to_series().groupby(long.index.to_period("M")).last()
                if long.index.get_loc(d) + 5 < len(long)]
    assert list(history["as_of"]) == expected and (history["scenario"] == "base").all()
