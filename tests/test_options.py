"""BSM prices and deltas against QuantLib, put–call parity, expiry payoffs, strike-by-delta, the vol surface."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.hedges.options import SurfaceShape, bsm_delta, bsm_price, strike_for_delta

ql = pytest.importorskip("QuantLib")

TODAY = ql.Date(2, 1, 2024)
spots = st.floats(5, 1000)
moneyness = st.floats(0.3, 3.0)
taus = st.floats(1 / 365, 5.0)
vols = st.floats(0.02, 2.0)
rates = st.floats(-0.01, 0.12)
yields = st.floats(0.0, 0.08)


def quantlib_price_delta(spot, strike, days, vol, rate, div_yield, is_call) -> tuple[float, float]:
    """Analytic European price and delta from QuantLib with flat continuously compounded curves, Act/365F."""
    ql.Settings.instance().evaluationDate = TODAY
    day_count = ql.Actual365Fixed()
    process = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(ql.SimpleQuote(spot)),
        ql.YieldTermStructureHandle(ql.FlatForward(TODAY, div_yield, day_count)),
        ql.YieldTermStructureHandle(ql.FlatForward(TODAY, rate, day_count)),
        ql.BlackVolTermStructureHandle(ql.BlackConstantVol(TODAY, ql.NullCalendar(), vol, day_count)))
    payoff = ql.PlainVanillaPayoff(ql.Option.Call if is_call else ql.Option.Put, strike)
    option = ql.VanillaOption(payoff, ql.EuropeanExercise(TODAY + int(days)))
    option.setPricingEngine(ql.AnalyticEuropeanEngine(process))
    return option.NPV(), option.delta()


def test_prices_and_deltas_match_quantlib_over_a_grid() -> None:
    grid = list(itertools.product([0.7, 0.9, 1.0, 1.1, 1.3], [7, 30, 91, 365, 730], [0.1, 0.3, 0.8],
                                  [0.0, 0.02, 0.05], [0.0, 0.015, 0.04], [True, False]))
    m, days, vol, rate, q, call = map(np.array, zip(*grid))
    spot, tau = 100.0, days / 365
    ours = bsm_price(spot, m * spot, tau, vol, rate, q, call)
    our_delta = bsm_delta(spot, m * spot, tau, vol, rate, q, call)
    theirs = np.array([quantlib_price_delta(spot, k * spot, d, v, r, y, c) for k, d, v, r, y, c in grid])
    np.testing.assert_allclose(ours, theirs[:, 0], rtol=0, atol=1e-8)
    np.testing.assert_allclose(our_delta, theirs[:, 1], rtol=0, atol=1e-8)


@settings(max_examples=300, deadline=None)
@given(spots, moneyness, taus, vols, rates, yields)
def test_put_call_parity(spot, m, tau, vol, rate, div_yield) -> None:
    strike = m * spot
    call, put = bsm_price(spot, strike, tau, vol, rate, div_yield, np.array([True, False]))
    forward_value = spot * np.exp(-div_yield * tau) - strike * np.exp(-rate * tau)
    assert call - put == pytest.approx(forward_value, abs=1e-10)
    call_delta, put_delta = bsm_delta(spot, strike, tau, vol, rate, div_yield, np.array([True, False]))
    assert call_delta - put_delta == pytest.approx(np.exp(-div_yield * tau), abs=1e-12)


@given(spots, moneyness, vols, rates, yields)
def test_value_at_expiry_is_intrinsic(spot, m, vol, rate, div_yield) -> None:
    strike = m * spot
    call, put = bsm_price(spot, strike, 0.0, vol, rate, div_yield, np.array([True, False]))
    assert call == max(spot - strike, 0.0) and put == max(strike - spot, 0.0)


@settings(max_examples=200, deadline=None)
@given(spots, st.floats(0.05, 0.95), st.booleans(), st.floats(7 / 365, 2.0), st.floats(0.08, 0.8), rates, yields,
       st.floats(-0.4, 0.0))
def test_strike_for_delta_has_that_delta_at_its_skewed_vol(spot, size, is_call, tau, atm, rate, div_yield, skew):
    shape = SurfaceShape(skew=skew)
    target = size * np.exp(-div_yield * tau) * (1 if is_call else -1)  # reachable: |delta| < e^{-qτ}

    def vol_at(strike):
        return shape.vol(atm, atm, tau, spot, strike)

    strike = strike_for_delta(spot, tau, target, rate, div_yield, is_call, vol_at)
    assert bsm_delta(spot, strike, tau, vol_at(strike), rate, div_yield, is_call) == pytest.approx(target, abs=1e-9)


def test_surface_passes_through_the_reference_and_reverts_to_the_long_run() -> None:
    shape = SurfaceShape(reference_tau=30 / 365, reversion=4.0, skew=-0.2)
    taus = np.array([1, 7, 30, 91, 365, 3650]) / 365
    calm, spike = shape.atm_vol(0.12, 0.20, taus), shape.atm_vol(0.60, 0.20, taus)
    assert calm[2] == pytest.approx(0.12) and spike[2] == pytest.approx(0.60)
    assert np.all(np.diff(calm) > 0), "calm: the term structure slopes up"
    assert np.all(np.diff(spike) < 0), "spike: the term structure inverts"
    assert abs(calm[-1] - 0.20) < abs(calm[3] - 0.20) and abs(spike[-1] - 0.20) < 0.03
    np.testing.assert_allclose(SurfaceShape(reversion=0.0).atm_vol(0.3, 0.1, taus), 0.3)  # no reversion = flat
    # the skew: 90% strike dearer than ATM by 0.2 × ln(1/0.9), 110% cheaper; the floor holds
    assert shape.vol(0.2, 0.2, 30 / 365, 100.0, 90.0) == pytest.approx(0.2 + 0.2 * np.log(1 / 0.9))
    assert shape.vol(0.2, 0.2, 30 / 365, 100.0, 110.0) == pytest.approx(0.2 - 0.2 * np.log(1.1))
    assert shape.vol(0.02, 0.02, 30 / 365, 100.0, 300.0) == shape.floor
