"""European option pricing: Black–Scholes–Merton, delta, strike-by-delta and a simple vol surface.

Everything is a numpy ufunc-style function that broadcasts over its arguments, so one
call prices every session × leg of a hedge. Units: ``tau`` in years (calendar days / 365),
``rate`` and ``div_yield`` continuously compounded fractions per year, ``vol`` a fraction
per √year. ``is_call`` is a boolean array (False = put). At ``tau == 0`` (expiry) the price
is the intrinsic value and the delta that of the payoff.

The implied-vol surface is deliberately small: the at-the-money vol at a tenor follows a
mean-reverting variance term structure anchored on the source's reference tenor (e.g. VIX is
30-day vol), and the smile is a linear skew in log-moneyness ln(K/S).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

DAYS_PER_YEAR = 365.0


def ndtr(x) -> np.ndarray:
    """The standard normal CDF (scipy's): scipy takes ~0.2 s to import, so it loads when a hedge is priced."""
    from scipy.special import ndtr as scipy_ndtr

    return scipy_ndtr(x)


def _d1_d2(spot, strike, tau, vol, rate, div_yield):
    sd = vol * np.sqrt(tau)
    d1 = (np.log(spot / strike) + (rate - div_yield + 0.5 * vol * vol) * tau) / sd
    return d1, d1 - sd


def bsm_price(spot, strike, tau, vol, rate, div_yield, is_call) -> np.ndarray:
    """BSM price per share of a European call (is_call) or put; intrinsic value at tau == 0."""
    spot, strike, tau, vol, rate, div_yield, is_call = np.broadcast_arrays(
        *map(np.asarray, (spot, strike, tau, vol, rate, div_yield, is_call)))
    live = tau > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        d1, d2 = _d1_d2(spot, strike, np.where(live, tau, 1.0), vol, rate, div_yield)
        tau_live = np.where(live, tau, 0.0)
        sign = np.where(is_call, 1.0, -1.0)
        spot_leg = spot * np.exp(-div_yield * tau_live) * ndtr(sign * d1)
        strike_leg = strike * np.exp(-rate * tau_live) * ndtr(sign * d2)
        price = sign * (spot_leg - strike_leg)
    return np.where(live, price, np.maximum(sign * (spot - strike), 0.0))


def bsm_delta(spot, strike, tau, vol, rate, div_yield, is_call) -> np.ndarray:
    """∂price/∂spot per share: e^{-qτ}N(d1) for a call, −e^{-qτ}N(−d1) for a put; the payoff's at expiry."""
    spot, strike, tau, vol, rate, div_yield, is_call = np.broadcast_arrays(
        *map(np.asarray, (spot, strike, tau, vol, rate, div_yield, is_call)))
    live = tau > 0
    sign = np.where(is_call, 1.0, -1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        d1, _ = _d1_d2(spot, strike, np.where(live, tau, 1.0), vol, rate, div_yield)
        delta = sign * np.exp(-div_yield * np.where(live, tau, 0.0)) * ndtr(sign * d1)
    at_expiry = np.where(sign * (spot - strike) > 0, sign, 0.0)
    return np.where(live, delta, at_expiry)


def strike_for_delta(spot, tau, delta, rate, div_yield, is_call,
                     vol_at: Callable[[np.ndarray], np.ndarray], iterations: int = 120) -> np.ndarray:
    """The strike whose BSM delta is ``delta`` (puts negative) when priced at ``vol_at(strike)``.

    Bisection on ln(K/S): delta falls as the strike rises (for calls and puts alike), and at the
    ends of a wide bracket it lies on either side of any reachable target (|delta| < e^{-qτ}).
    A fixed-point iteration on the skewed vol would diverge for steep skews on long tenors.
    """
    spot, tau, delta, rate, div_yield, is_call = np.broadcast_arrays(
        *map(np.asarray, (spot, tau, delta, rate, div_yield, is_call)))
    atm = vol_at(spot)
    half_width = 10.0 * (1.0 + atm * np.sqrt(tau) + atm * atm * tau)
    low, high = -half_width, half_width
    for _ in range(iterations):
        middle = 0.5 * (low + high)
        strike = spot * np.exp(middle)
        above = bsm_delta(spot, strike, tau, vol_at(strike), rate, div_yield, is_call) > delta
        low, high = np.where(above, middle, low), np.where(above, high, middle)
    return spot * np.exp(0.5 * (low + high))


@dataclass(frozen=True)
class SurfaceShape:
    """How a reference vol becomes a vol at any strike and tenor.

    ``reference_tau``: the tenor the source quotes (VIX: 30/365). ``reversion``: speed (per year)
    at which variance returns to its long-run level: short tenors sit near the reference vol,
    long ones near the long-run vol, so the curve slopes up in calm markets and inverts in a
    spike. ``skew``: vol change per unit of ln(K/S) (negative: lower strikes dearer).
    ``floor``: smallest vol returned.
    """

    reference_tau: float = 30 / DAYS_PER_YEAR
    reversion: float = 4.0
    skew: float = -0.2
    floor: float = 0.01

    def atm_vol(self, reference_vol, long_run_vol, tau) -> np.ndarray:
        """ATM vol at ``tau``: the mean-reverting average variance through the reference point."""
        weight = _average_decay(self.reversion, tau) / _average_decay(self.reversion, self.reference_tau)
        long_var = np.square(long_run_vol)
        variance = long_var + (np.square(reference_vol) - long_var) * weight
        return np.sqrt(np.maximum(variance, self.floor ** 2))

    def vol(self, reference_vol, long_run_vol, tau, spot, strike) -> np.ndarray:
        """Implied vol at ``strike`` and ``tau``: ATM term structure plus linear skew in ln(K/S)."""
        smile = self.atm_vol(reference_vol, long_run_vol, tau) + self.skew * np.log(strike / spot)
        return np.maximum(smile, self.floor)


def _average_decay(kappa: float, tau) -> np.ndarray:
    """(1 − e^{−κτ}) / (κτ): the mean of e^{−κu} over [0, τ] (1 at τ = 0 or κ = 0)."""
    x = kappa * np.asarray(tau, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x > 1e-12, -np.expm1(-x) / np.where(x > 1e-12, x, 1.0), 1.0)
