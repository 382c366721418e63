"""Weighting: equal, inverse volatility, fixed and momentum-score weights against hand computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from engine.errors import ConfigError
from rule_data import SYMBOLS, context, make_dataset, perturbed_after, random_dataset
from strategies.registry import weighting_union

SESSIONS = pd.bdate_range("2024-01-29", periods=8)  # Jan 29 .. Feb 7: month end on row 2
WEIGHTING = TypeAdapter(weighting_union())


def weigher(**config):
    return WEIGHTING.validate_python(config).build().weigh


def test_equal_weights_share_equity_among_eligible_names_on_rebalance_rows_only():
    close = pd.DataFrame(100.0, index=SESSIONS, columns=SYMBOLS)
    eligible = pd.DataFrame(True, index=SESSIONS, columns=SYMBOLS)
    eligible.loc[SESSIONS[2], "B"] = False
    weights = weigher(kind="equal")(context(make_dataset(close), rebalance="monthly"), eligible)
    assert list(weights.dropna(how="all").index) == [SESSIONS[0], SESSIONS[2], SESSIONS[-1]]
    assert weights.loc[SESSIONS[0]].tolist() == [1 / 3] * 3
    assert weights.loc[SESSIONS[2]].tolist() == [0.5, 0.0, 0.5]
    assert weights.iloc[[1, 3, 4, 5, 6]].isna().all().all()


def test_inverse_volatility_uses_total_return_prices_of_the_last_lookback_returns():
    rng = np.random.default_rng(4)
    close = pd.DataFrame(100 * np.exp(np.cumsum(rng.normal(0, [0.01, 0.02, 0.04], (8, 3)), axis=0)),
                         index=SESSIONS, columns=SYMBOLS)
    adj = pd.DataFrame(np.where(np.arange(8)[:, None] < 5, [0.95, 0.9, 1.0], 1.0), index=SESSIONS, columns=SYMBOLS)
    eligible = pd.DataFrame(True, index=SESSIONS, columns=SYMBOLS)
    eligible.loc[SESSIONS[7], "A"] = False
    weights = weigher(kind="inverse_volatility", lookback=3)(context(make_dataset(close, adj_factor=adj)), eligible)
    total_return = (close * adj).to_numpy()
    for t in (3, 5, 7):
        sigma = np.std(np.diff(np.log(total_return[t - 3: t + 1]), axis=0), axis=0, ddof=1)
        inverse = np.where(eligible.iloc[t], 1 / sigma, 0.0)
        np.testing.assert_allclose(weights.iloc[t], inverse / inverse.sum(), rtol=1e-12)
    assert (weights.iloc[:3] == 0).all().all()  # three returns are needed: none until row 3


def test_fixed_weights_are_renormalised_over_eligible_names():
    close = pd.DataFrame(100.0, index=SESSIONS, columns=SYMBOLS)
    eligible = pd.DataFrame(True, index=SESSIONS, columns=SYMBOLS)
    eligible.loc[SESSIONS[1]:, "C"] = False
    eligible.loc[SESSIONS[4]:, ["A", "B"]] = False
    weights = weigher(kind="fixed", weights={"A": 0.5, "B": 0.3, "C": 0.2})(context(make_dataset(close)), eligible)
    np.testing.assert_allclose(weights.iloc[0], [0.5, 0.3, 0.2])
    np.testing.assert_allclose(weights.iloc[1], [0.625, 0.375, 0.0])
    np.testing.assert_allclose(weights.iloc[4], [0.0, 0.0, 0.0])  # nobody weighted is eligible: all cash


def test_fixed_weights_must_name_universe_symbols_and_be_long_only():
    close = pd.DataFrame(100.0, index=SESSIONS, columns=SYMBOLS)
    with pytest.raises(ConfigError, match=r"rules.weighting.weights.*\['ZZZ'\]"):
        weigher(kind="fixed", weights={"A": 1, "ZZZ": 1})(context(make_dataset(close)), close.notna())
    with pytest.raises(ValidationError, match="negative for B"):
        weigher(kind="fixed", weights={"A": 1, "B": -0.5})


def test_score_weights_follow_skipped_momentum_over_the_top_n():
    # Total-return prices; lookback 2, skip 1: the score at row t is P[t-1] / P[t-3] - 1.
    close = pd.DataFrame({"A": [100, 100, 110, 120, 999, 50, 50, 50],
                          "B": [100, 100, 105, 130, 1, 50, 50, 50],
                          "C": [100, 100, 90, 100, 1, 50, 50, 50]}, index=SESSIONS, dtype=float)
    eligible = pd.DataFrame(True, index=SESSIONS, columns=SYMBOLS)
    rule = weigher(kind="score", lookback=2, skip=1, top_n=2, power=2)
    weights = rule(context(make_dataset(close)), eligible)
    # Row 4: scores A 0.20, B 0.30, C 0.00 -> top 2 B, A -> 0.3^2 : 0.2^2 (row 4's own prices are skipped).
    np.testing.assert_allclose(weights.iloc[4], [0.04 / 0.13, 0.09 / 0.13, 0.0])
    assert (weights.iloc[:3] == 0).all().all()  # no score before row 3
    # Row 7: scores A 50/999-1, B 50/1-1, C 50/1-1 -> B and C tie at 49 (B first), both positive.
    np.testing.assert_allclose(weights.iloc[7], [0.0, 0.5, 0.5])


def test_score_weights_fall_back_to_equal_among_the_top_n_when_no_score_is_positive():
    close = pd.DataFrame({"A": [100, 95, 90, 80], "B": [100, 99, 98, 97], "C": [100, 90, 80, 70]},
                         index=SESSIONS[:4], dtype=float)
    eligible = pd.DataFrame(True, index=close.index, columns=SYMBOLS)
    eligible.loc[close.index[3], "B"] = False
    weights = weigher(kind="score", lookback=2, skip=0, top_n=2)(context(make_dataset(close)), eligible)
    assert weights.iloc[2].tolist() == [0.5, 0.5, 0.0]  # B -0.02 and A -0.10 are the least bad
    assert weights.iloc[3].tolist() == [0.5, 0.0, 0.5]  # B ineligible: A and C


def test_weighting_kinds_are_a_discriminated_union_with_a_rebalance_frequency():
    assert WEIGHTING.validate_python({"kind": "score"}).rebalance == "monthly"
    with pytest.raises(ValidationError, match="'buy_and_hold', 'equal', 'equal_weight', 'inverse_volatility', 'fixed', 'score'"):
        WEIGHTING.validate_python({"kind": "momentum"})
    with pytest.raises(ValidationError, match="lookback"):
        WEIGHTING.validate_python({"kind": "equal", "lookback": 5})


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(20, 60), cutoff_fraction=st.floats(0, 0.95),
       offsets=st.lists(st.integers(0, 15), min_size=3, max_size=3),
       config=st.sampled_from([{"kind": "equal"}, {"kind": "inverse_volatility", "lookback": 5},
                               {"kind": "fixed", "weights": {"A": 2, "C": 1}},
                               {"kind": "score", "lookback": 6, "skip": 2, "top_n": 2, "power": 0.5}]))
def test_data_after_a_session_never_changes_earlier_weights(seed, n, cutoff_fraction, offsets, config):
    data = random_dataset(seed, n, offsets)
    cutoff = int(cutoff_fraction * (n - 1))
    rule = weigher(**config, rebalance="weekly")
    changed = perturbed_after(data, cutoff, seed)
    before, after = rule(context(data, rebalance="weekly"), data.close.notna()), rule(
        context(changed, rebalance="weekly"), changed.close.notna())
    assert before.iloc[: cutoff + 1].equals(after.iloc[: cutoff + 1])
    decided = before.dropna(how="all")
    assert np.all(np.isclose(decided.sum(axis=1), 1.0) | (decided.sum(axis=1) == 0))
