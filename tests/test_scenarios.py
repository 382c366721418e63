"""Scenario sets: validation, hand-computed impacts of two-name books, hedges repriced under the shock."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.errors import ConfigError
from engine.hedges.options import bsm_price
from engine.analysis.scenarios import HEDGE_LEG_COLUMNS, ImpactModel, Portfolio, estimate_betas
from engine.config.scenarios import ScenarioSet, load_scenario_set

ROOT = Path(__file__).resolve().parents[1]
AS_OF = pd.Timestamp("2025-06-30")


def two_case_set(**overrides) -> ScenarioSet:
    raw = {"horizon": 15, "idiosyncratic": 0.0, "simulations": 20_000, "seed": 1, "scenarios": {
        "base": {"probability": 0.55, "benchmark": [0.01, 0.03], "groups": {"ai": [-0.10, 0.20]}},
        "pessimistic": {"probability": 0.45, "benchmark": [-0.06, -0.02], "groups": {"ai": [-0.30, -0.10]},
                        "vol_shift": 10.0}}}
    return ScenarioSet.model_validate(raw | overrides)


def book(values: dict[str, float], legs: pd.DataFrame | None = None, equity: float = 1000.0) -> Portfolio:
    legs = legs if legs is not None else pd.DataFrame(columns=HEDGE_LEG_COLUMNS)
    return Portfolio(AS_OF, pd.Series(values, dtype=float), equity, legs, "SPY")


def table_of(model: ImpactModel) -> pd.DataFrame:
    return pd.DataFrame(model.case_rows()).set_index(["scenario", "measure", "with_hedges"])


def test_column_outlook_file_loads_with_the_columns_numbers() -> None:
    outlook = load_scenario_set(ROOT / "configs/scenarios/column_outlook.yaml")
    assert {k: s.probability for k, s in outlook.scenarios.items()} == {"base": 0.55, "optimistic": 0.20,
                                                                       "pessimistic": 0.25}
    assert (outlook.scenarios["optimistic"].groups["semis"].low, outlook.scenarios["optimistic"].groups["semis"].high) == (0.15, 0.35)
    assert outlook.scenarios["pessimistic"].benchmark.low == -0.06 and outlook.horizon == 15


def test_probabilities_not_summing_to_one_name_the_key(tmp_path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("scenarios:\n  base: {probability: 0.5, benchmark: [0.0, 0.01]}\n"
                    "  bear: {probability: 0.3, benchmark: [-0.05, -0.01]}\n")
    with pytest.raises(ConfigError) as caught:
        load_scenario_set(path)
    assert caught.value.path == "scenarios.bear.probability"
    assert "sum to 0.8" in str(caught.value) and "0.5 would make them sum to 1" in str(caught.value)


def test_reversed_range_and_unknown_key_are_rejected_with_their_path(tmp_path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("scenarios:\n  base: {probability: 1, benchmark: [0.03, 0.01]}\n")
    with pytest.raises(ConfigError, match="above high") as caught:
        load_scenario_set(path)
    assert caught.value.path == "scenarios.base.benchmark"
    path.write_text("scenarios:\n  base: {probability: 1, benchmark: [0.0, 0.01], volshift: 3}\n")
    with pytest.raises(ConfigError) as caught:
        load_scenario_set(path)
    assert caught.value.path == "scenarios.base.volshift"


def test_two_name_impacts_match_a_hand_calculation() -> None:
    # A in group ai (600), B outside every group with beta 0.5 (400)
    model = ImpactModel(book({"A": 600.0, "B": 400.0}), two_case_set(), {"ai": ["A"]},
                        pd.Series({"A": 1.7, "B": 0.5}), horizon_days=21)
    table = table_of(model)
    pnl = lambda scenario, measure: table.loc[(scenario, measure, False), "pnl"]  # noqa: E731
    assert pnl("base", "low") == pytest.approx(600 * -0.10 + 400 * 0.5 * 0.01)
    assert pnl("base", "high") == pytest.approx(600 * 0.20 + 400 * 0.5 * 0.03)
    assert pnl("base", "mid") == pytest.approx(34.0)
    assert pnl("pessimistic", "mid") == pytest.approx(600 * -0.20 + 400 * 0.5 * -0.04)
    assert pnl("all", "expected") == pytest.approx(0.55 * 34.0 + 0.45 * -128.0)
    assert table.loc[("all", "expected", False), "ret"] == pytest.approx((0.55 * 34.0 + 0.45 * -128.0) / 1000)


def test_a_name_in_no_listed_group_moves_with_the_benchmark() -> None:
    scenarios = two_case_set(scenarios={"only": {"probability": 1.0, "benchmark": [-0.04, -0.02]}})
    model = ImpactModel(book({"A": 600.0, "SPY": 400.0}), scenarios, {"ai": ["A"]},
                        pd.Series({"A": 2.0}), horizon_days=21)
    assert table_of(model).loc[("only", "low", False), "pnl"] == pytest.approx(600 * 2.0 * -0.04 + 400 * -0.04)


def test_monte_carlo_is_seeded_stays_in_each_cases_range_and_averages_to_the_expectation() -> None:
    model = ImpactModel(book({"A": 600.0, "B": 400.0}), two_case_set(), {"ai": ["A"]},
                        pd.Series({"B": 0.5}), horizon_days=21)
    drawn, stock, _ = model.monte_carlo()
    again = model.monte_carlo()[1]
    np.testing.assert_array_equal(stock, again)
    assert abs((drawn == 0).mean() - 0.55) < 0.02
    assert stock[drawn == 0].min() >= -58 - 1e-9 and stock[drawn == 0].max() <= 126 + 1e-9
    assert stock.mean() == pytest.approx(0.55 * 34.0 + 0.45 * -128.0, abs=2.0)


def test_idiosyncratic_moves_spread_group_names_but_not_the_benchmark() -> None:
    quiet = ImpactModel(book({"A": 500.0, "C": -500.0}), two_case_set(), {"ai": ["A", "C"]},
                        pd.Series(dtype=float), horizon_days=21).monte_carlo()[1]
    assert np.allclose(quiet, 0.0)  # long and short the same group: the group draw cancels
    noisy = ImpactModel(book({"A": 500.0, "C": -500.0}), two_case_set(idiosyncratic=0.02), {"ai": ["A", "C"]},
                        pd.Series(dtype=float), horizon_days=21).monte_carlo()[1]
    assert noisy.std() == pytest.approx(np.sqrt(2) * 500 * 0.02, rel=0.05)
    spy = ImpactModel(book({"SPY": 1000.0}), two_case_set(idiosyncratic=0.02), {},
                      pd.Series(dtype=float), horizon_days=21)
    drawn, stock, _ = spy.monte_carlo()
    assert stock[drawn == 1].max() <= 1000 * -0.02 + 1e-9


def test_a_put_cuts_the_pessimistic_loss_by_exactly_its_repricing() -> None:
    spot, strike, tau, vol, rate, contracts = 500.0, 480.0, 0.25, 0.20, 0.03, 2.0
    price = float(bsm_price(spot, strike, tau, vol, rate, 0.0, False))
    legs = pd.DataFrame([{"underlying": "SPY", "right": "put", "strike": strike, "contracts": contracts,
                          "spot": spot, "vol": vol, "rate": rate, "tau": tau, "price": price,
                          "multiplier": 100.0, "div_yield": 0.0}])
    model = ImpactModel(book({"SPY": 100_000.0}, legs, equity=100_000.0), two_case_set(), {}, pd.Series(dtype=float),
                        horizon_days=21)
    table = table_of(model)
    for measure, move in (("low", -0.06), ("high", -0.02), ("mid", -0.04)):
        repriced = float(bsm_price(spot * (1 + move), strike, tau - 21 / 365, vol + 0.10, rate, 0.0, False))
        gain = contracts * 100 * (repriced - price)
        hedged, unhedged = table.loc[("pessimistic", measure, True), "pnl"], table.loc[("pessimistic", measure, False), "pnl"]
        assert unhedged == pytest.approx(100_000 * move)
        assert hedged - unhedged == pytest.approx(gain) and gain > 0


def test_betas_use_only_returns_up_to_the_as_of_date() -> None:
    sessions = pd.bdate_range("2025-01-01", periods=120)
    market = np.random.default_rng(3).normal(0, 0.01, 120)
    close = pd.DataFrame({"SPY": 100 * np.cumprod(1 + market), "B": 50 * np.cumprod(1 + 0.5 * market)}, index=sessions)
    as_of = sessions[80]
    betas = estimate_betas(close, "SPY", as_of, window=60)
    assert betas["B"] == pytest.approx(0.5) and betas["SPY"] == 1.0
    later = close.copy()
    later.loc[sessions[81]:, "B"] *= np.linspace(1, 3, 39)
    assert estimate_betas(later, "SPY", as_of, window=60)["B"] == pytest.approx(0.5)
    assert estimate_betas(later, "SPY", sessions[-1], window=60)["B"] != pytest.approx(0.5)


def test_column_outlook_names_only_groups_of_the_column_config() -> None:
    from engine.config.run_config import load_config
    from engine.analysis.scenario_run import check_groups

    column = load_config(ROOT / "configs/column.yaml")
    outlook = load_scenario_set(ROOT / "configs/scenarios/column_outlook.yaml")
    check_groups(outlook, column, "column_outlook.yaml")  # raises ConfigError on a group the run lacks
    listed = {g for case in outlook.scenarios.values() for g in case.groups}
    assert listed == set(column.universe.groups)
