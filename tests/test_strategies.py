"""Baseline strategies (a weighting rule alone, run through the pipeline) and their rebalance
calendars: dates, weights, eligibility, no look-ahead."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pandas_market_calendars as mcal
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.data.dataset import Dataset
from strategies.pipeline import run_pipeline
from strategies.registry import rules_model
from strategies.schedule import rebalance_sessions

BASELINES = ("buy_and_hold", "equal_weight", "inverse_volatility")


@dataclass(frozen=True)
class Baseline:
    """A baseline strategy as a config writes it (``strategy: {kind: ..., ...}``): its weighting alone."""

    kind: str
    params: tuple = ()

    def __post_init__(self) -> None:
        self.rules  # validated on construction, as a config is

    @property
    def rules(self):
        return rules_model()(weighting={"kind": self.kind, **dict(self.params)})

    def target_weights(self, data: Dataset, symbols) -> pd.DataFrame:
        return run_pipeline(self.rules, data, list(symbols), {}).targets


def BuyAndHold() -> Baseline:
    return Baseline("buy_and_hold")


def EqualWeight(**params) -> Baseline:
    return Baseline("equal_weight", tuple(params.items()))


def InverseVolatility(**params) -> Baseline:
    return Baseline("inverse_volatility", tuple(params.items()))


def make_dataset(close: pd.DataFrame, adj_factor: pd.DataFrame | None = None) -> Dataset:
    """A Dataset whose every price field is ``close`` (enough for close-based strategies)."""
    if adj_factor is None:
        adj_factor = pd.DataFrame(1.0, index=close.index, columns=close.columns)
    return Dataset(
        sessions=close.index, open=close, high=close, low=close, close=close,
        volume=close.notna().astype(float), adj_factor=adj_factor,
    )


def random_prices(
    rng: np.random.Generator, sessions: pd.DatetimeIndex, symbols: list[str]
) -> pd.DataFrame:
    log_returns = rng.normal(0.0, 0.02, size=(len(sessions), len(symbols)))
    return pd.DataFrame(100 * np.exp(np.cumsum(log_returns, axis=0)), index=sessions, columns=symbols)


def decided_rows(targets: pd.DataFrame) -> pd.DataFrame:
    return targets[targets.notna().any(axis=1)]


@pytest.fixture(scope="module")
def nyse_2025() -> pd.DatetimeIndex:
    days = mcal.get_calendar("XNYS").valid_days("2025-01-01", "2025-12-31")
    return days.tz_localize(None)


def decision_dates(sessions: pd.DatetimeIndex, frequency: str) -> list[str]:
    return list(sessions[rebalance_sessions(sessions, frequency)].strftime("%Y-%m-%d"))


# --- schedule ---------------------------------------------------------------------------------


def test_monthly_decides_on_last_session_of_each_month_and_first_session(nyse_2025):
    # Hand-checked: May 31 and Aug 30-31 2025 fall on weekends, Nov 29-30 too.
    assert decision_dates(nyse_2025, "monthly") == [
        "2025-01-02", "2025-01-31", "2025-02-28", "2025-03-31", "2025-04-30", "2025-05-30",
        "2025-06-30", "2025-07-31", "2025-08-29", "2025-09-30", "2025-10-31", "2025-11-28",
        "2025-12-31",
    ]


def test_quarterly_decides_on_quarter_ends(nyse_2025):
    assert decision_dates(nyse_2025, "quarterly") == [
        "2025-01-02", "2025-03-31", "2025-06-30", "2025-09-30", "2025-12-31",
    ]


def test_weekly_decides_on_last_session_of_each_iso_week(nyse_2025):
    dates = decision_dates(nyse_2025, "weekly")
    assert "2025-04-17" in dates and "2025-04-18" not in dates  # Good Friday is a holiday
    assert "2025-07-03" in dates and "2025-07-02" not in dates  # July 4th is a Friday
    iso = nyse_2025.isocalendar()
    last_of_week = pd.Series(nyse_2025, index=nyse_2025).groupby([iso.year, iso.week]).max()
    expected = sorted({nyse_2025[0], *last_of_week})
    assert dates == [d.strftime("%Y-%m-%d") for d in expected]


def test_daily_decides_every_session_and_timezone_does_not_matter(nyse_2025):
    assert rebalance_sessions(nyse_2025, "daily").all()
    aware = nyse_2025.tz_localize("America/New_York")
    np.testing.assert_array_equal(
        rebalance_sessions(aware, "monthly"), rebalance_sessions(nyse_2025, "monthly")
    )


def test_unknown_frequency_is_rejected_with_the_choices(nyse_2025):
    with pytest.raises(ValueError, match="daily, weekly, monthly, quarterly"):
        rebalance_sessions(nyse_2025, "yearly")
    with pytest.raises(ValueError, match="'biweekly'"):
        EqualWeight(rebalance="biweekly")


# --- equal weight and buy-and-hold ------------------------------------------------------------


@pytest.fixture
def listing_and_delisting() -> pd.DataFrame:
    """A, B, C over Jan-Apr 2024; C lists on 2024-02-14, B's last close is 2024-03-08."""
    sessions = pd.bdate_range("2024-01-02", "2024-04-30")
    close = random_prices(np.random.default_rng(1), sessions, ["A", "B", "C"])
    close.loc[:"2024-02-13", "C"] = np.nan
    close.loc["2024-03-11":, "B"] = np.nan
    return close


def test_equal_weight_shares_equity_among_priced_names_on_month_ends(listing_and_delisting):
    close = listing_and_delisting
    targets = EqualWeight(rebalance="monthly").target_weights(make_dataset(close), ["A", "B", "C"])
    decided = decided_rows(targets)
    assert list(decided.index.strftime("%m-%d")) == ["01-02", "01-31", "02-29", "03-29", "04-30"]
    np.testing.assert_allclose(decided.sum(axis=1), 1.0)
    expected = pd.DataFrame(
        [
            [1 / 2, 1 / 2, 0], [1 / 2, 1 / 2, 0], [1 / 3, 1 / 3, 1 / 3],
            [1 / 2, 0, 1 / 2], [1 / 2, 0, 1 / 2],
        ],
        index=decided.index, columns=["A", "B", "C"],
    )
    pd.testing.assert_frame_equal(decided, expected)


def test_equal_weight_gives_a_new_listing_weight_from_its_first_priced_session(listing_and_delisting):
    close = listing_and_delisting
    targets = EqualWeight(rebalance="daily").target_weights(make_dataset(close), ["A", "B", "C"])
    first_weighted = targets.index[targets["C"] > 0][0]
    assert first_weighted == close["C"].first_valid_index() == pd.Timestamp("2024-02-14")
    assert (targets.loc[:"2024-02-13", "C"] == 0).all()


def test_decision_day_without_any_priced_name_is_all_zeros(listing_and_delisting):
    close = listing_and_delisting.copy()
    close.loc["2024-01-31"] = np.nan
    targets = EqualWeight(rebalance="monthly").target_weights(make_dataset(close), ["A", "B", "C"])
    assert (targets.loc["2024-01-31"] == 0).all()


def test_buy_and_hold_decides_once_among_names_priced_on_the_first_session(listing_and_delisting):
    close = listing_and_delisting
    targets = BuyAndHold().target_weights(make_dataset(close), ["A", "B", "C"])
    decided = decided_rows(targets)
    assert list(decided.index) == [close.index[0]]
    assert decided.iloc[0].to_dict() == {"A": 0.5, "B": 0.5, "C": 0.0}


def test_unknown_or_repeated_symbols_are_rejected(listing_and_delisting):
    data = make_dataset(listing_and_delisting)
    with pytest.raises(ValueError, match=r"\['ZZZ'\] are not in the dataset"):
        EqualWeight().target_weights(data, ["A", "ZZZ"])
    with pytest.raises(ValueError, match=r"\['A'\] are listed more than once"):
        BuyAndHold().target_weights(data, ["A", "B", "A"])  # the config refuses them first (test_config)


# --- inverse volatility -----------------------------------------------------------------------


def test_inverse_volatility_matches_a_hand_computation_on_total_return_prices():
    rng = np.random.default_rng(7)
    sessions = pd.bdate_range("2024-01-02", periods=40)
    close = random_prices(rng, sessions, ["A", "B", "C"])
    close.loc[: sessions[11], "C"] = np.nan  # C's first close is session 12
    # Dividends: the adjustment factor steps, so as-traded and total-return returns differ.
    adj = pd.DataFrame(np.where(np.arange(40)[:, None] < 20, 0.9, 1.0) * [1.0, 0.8, 1.0],
                       index=sessions, columns=close.columns)
    lookback = 10
    targets = InverseVolatility(rebalance="daily", lookback=lookback).target_weights(
        make_dataset(close, adj), ["A", "B", "C"]
    )
    total_return = (close * adj).to_numpy()
    for t in (10, 15, 21, 22, 30, 39):
        window = total_return[t - lookback : t + 1]
        sigma = np.array([np.std(np.diff(np.log(window[:, j])), ddof=1) for j in range(3)])
        inverse = np.where(np.isnan(sigma), 0.0, 1.0 / sigma)
        np.testing.assert_allclose(targets.iloc[t].to_numpy(), inverse / inverse.sum(), rtol=1e-10)
    # C needs `lookback` returns: first return on session 13, tenth on session 22.
    assert targets["C"].iloc[21] == 0 and targets["C"].iloc[22] > 0
    assert (decided_rows(targets.iloc[:lookback]) == 0).all().all()  # nobody has history yet


def test_twice_the_volatility_gets_half_the_weight():
    sessions = pd.bdate_range("2024-01-02", periods=80)
    log_returns = np.random.default_rng(3).normal(0, 0.01, size=80)
    close = pd.DataFrame(
        {"CALM": 50 * np.exp(np.cumsum(log_returns)), "WILD": 20 * np.exp(np.cumsum(2 * log_returns))},
        index=sessions,
    )
    targets = InverseVolatility(rebalance="monthly", lookback=21).target_weights(
        make_dataset(close), ["CALM", "WILD"]
    )
    month_ends = decided_rows(targets).iloc[1:]  # Jan-Mar month ends and the final session
    assert len(month_ends) == 4
    np.testing.assert_allclose(month_ends["CALM"], 2 / 3, rtol=1e-9)
    np.testing.assert_allclose(month_ends["WILD"], 1 / 3, rtol=1e-9)


def test_constant_price_is_not_given_an_infinite_weight():
    sessions = pd.bdate_range("2024-01-02", periods=30)
    close = random_prices(np.random.default_rng(5), sessions, ["A"])
    close["FLAT"] = 10.0
    targets = InverseVolatility(rebalance="daily", lookback=5).target_weights(
        make_dataset(close), ["A", "FLAT"]
    )
    assert (targets.iloc[5:]["A"] == 1.0).all() and (targets.iloc[5:]["FLAT"] == 0.0).all()


def test_lookback_below_two_is_rejected():
    with pytest.raises(ValueError, match="greater than or equal to 2"):
        InverseVolatility(lookback=1)


# --- contract shared by every registered strategy ---------------------------------------------


@pytest.mark.parametrize("name", BASELINES)
def test_registered_strategy_returns_long_only_weights_on_the_dataset_grid(name, listing_and_delisting):
    close = listing_and_delisting
    targets = Baseline(name).target_weights(make_dataset(close), ["C", "A"])
    assert targets.index.equals(close.index) and list(targets.columns) == ["C", "A"]
    decided = decided_rows(targets)
    assert decided.notna().all().all() and (decided >= 0).all().all()
    row_sums = decided.sum(axis=1)
    assert np.all(np.isclose(row_sums, 1.0) | (row_sums == 0))


# --- no look-ahead ----------------------------------------------------------------------------

SYMBOLS = ["A", "B", "C"]
strategies_under_test = st.one_of(
    st.just(BuyAndHold()),
    st.builds(lambda rebalance: EqualWeight(rebalance=rebalance), st.sampled_from(["daily", "weekly", "monthly"])),
    st.builds(
        lambda rebalance, lookback: InverseVolatility(rebalance=rebalance, lookback=lookback),
        rebalance=st.sampled_from(["daily", "weekly", "monthly"]),
        lookback=st.integers(2, 15),
    ),
)


def perturbed_after(close: pd.DataFrame, cutoff: int, rng: np.random.Generator) -> pd.DataFrame:
    """Rescale every price after row ``cutoff`` and blank some of them (delistings, gaps)."""
    later = close.iloc[cutoff + 1 :]
    rescaled = later * rng.uniform(0.5, 2.0, size=later.shape)
    changed = close.copy()
    changed.iloc[cutoff + 1 :] = rescaled.mask(rng.random(later.shape) < 0.3)
    return changed


def rows_up_to_cutoff_unchanged(strategy, close: pd.DataFrame, cutoff: int, seed: int) -> bool:
    rng = np.random.default_rng(seed)
    adj = pd.DataFrame(rng.uniform(0.9, 1.0, size=close.shape), index=close.index, columns=close.columns)
    before = strategy.target_weights(make_dataset(close, adj), SYMBOLS)
    after = strategy.target_weights(
        make_dataset(perturbed_after(close, cutoff, rng), perturbed_after(adj, cutoff, rng)), SYMBOLS
    )
    return before.iloc[: cutoff + 1].equals(after.iloc[: cutoff + 1])


@settings(max_examples=200, deadline=None)
@given(
    strategy=strategies_under_test,
    n_sessions=st.integers(25, 90),
    cutoff_fraction=st.floats(0.0, 0.95),
    listing_offsets=st.lists(st.integers(0, 30), min_size=3, max_size=3),
    seed=st.integers(0, 2**32 - 1),
)
def test_prices_after_a_session_never_change_earlier_targets(
    strategy, n_sessions, cutoff_fraction, listing_offsets, seed
):
    sessions = pd.bdate_range("2024-01-25", periods=n_sessions)
    close = random_prices(np.random.default_rng(seed), sessions, SYMBOLS)
    for symbol, offset in zip(SYMBOLS, listing_offsets):
        close.iloc[:offset, close.columns.get_loc(symbol)] = np.nan
    cutoff = int(cutoff_fraction * (n_sessions - 1))
    assert rows_up_to_cutoff_unchanged(strategy, close, cutoff, seed)


@dataclass(frozen=True)
class PeekingEqualWeight:
    """Equal weight among names priced TOMORROW: the look-ahead the property must catch."""

    def target_weights(self, data: Dataset, symbols) -> pd.DataFrame:
        shifted = data.close.shift(-1)
        return EqualWeight(rebalance="daily").target_weights(make_dataset(shifted), symbols)


def test_the_look_ahead_check_catches_a_strategy_that_peeks():
    sessions = pd.bdate_range("2024-01-02", periods=30)
    close = random_prices(np.random.default_rng(0), sessions, SYMBOLS)
    peeking = PeekingEqualWeight()
    assert not all(rows_up_to_cutoff_unchanged(peeking, close, 10, seed) for seed in range(5))
    assert rows_up_to_cutoff_unchanged(EqualWeight(rebalance="daily"), close, cutoff=10, seed=0)
