"""Return and price model of the SYNTHETIC sample: factors, GARCH, Student-t shocks, jumps → OHLCV.

Every constant comes from engine/data/sample_params.py (estimated from the real prices by
scripts/estimate_sample_params.py). Every random number comes from the one numpy Generator the
caller passes in, drawn in a fixed order, so a seed fixes every frame.

Model, per session t (log returns):
    factors  F_t = FACTOR_MEAN + e_t,     e_t GARCH(1,1) with unit-variance Student-t(NU_FACTOR) shocks
    stock    r_t = ALPHA + BETA . F_t + u_t + jumps,   u_t GARCH(1,1) with Student-t(NU_IDIO) shocks
    ETF      r_t = ETF_LOADINGS . (1, F_t) + tracking noise     (SPY = the market factor)
Jumps (event and earnings days) land overnight, in the open-to-previous-close gap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.data import sample_params as P

SYMBOLS = [*P.STOCKS, *P.ETFS]
VIX_FLOOR, DGS10_FLOOR, HY_OAS_FLOOR = 9.0, 0.2, 2.0  # keep the random walks in plausible ranges
MIN_DIFFUSION_SHARE = 0.5  # jumps never take more than half of a name's idiosyncratic variance
MEAN_ABS_UNIT_SHOCK = 0.8  # E|z| of a unit-variance shock, centres the volume response to |return|


@dataclass(frozen=True)
class Paths:
    """Simulated daily log returns (total return), their conditional vol and jumps, per symbol."""

    returns: pd.DataFrame
    sigma: pd.DataFrame
    jumps: pd.DataFrame
    market_variance_next: pd.Series  # one-session-ahead variance of the market factor


def _unit_t(rng: np.random.Generator, nu: float, shape: tuple[int, int]) -> np.ndarray:
    """Student-t draws scaled to unit variance (fat tails without changing the vol)."""
    return rng.standard_t(nu, size=shape) * np.sqrt((nu - 2.0) / nu)


def _garch(shocks: np.ndarray, vol: np.ndarray, garch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GARCH(1,1) paths for several series at once; returns (innovations, variance incl. t = n)."""
    alpha, beta = garch[:, 0], garch[:, 1]
    omega = vol**2 * (1.0 - alpha - beta)
    n, k = shocks.shape
    variance = np.empty((n + 1, k))
    variance[0] = vol**2
    innovations = np.empty((n, k))
    for t in range(n):
        innovations[t] = np.sqrt(variance[t]) * shocks[t]
        variance[t + 1] = omega + alpha * innovations[t] ** 2 + beta * variance[t]
    return innovations, variance


def _diffusion_share(stocks: list[str], listed_days: np.ndarray, event_days: dict[str, list[int]],
                     earnings_days: dict[str, list[int]]) -> np.ndarray:
    """Part of each name's idiosyncratic variance left to the daily shocks once its jumps take theirs.

    The real residual variance (IDIO_VOL**2) already contains the real event and earnings days, so
    the jumps' expected variance is taken out of the diffusion (floored at half) to keep the total.
    """
    event_var = P.EVENT_JUMP_SD**2 + P.EVENT_JUMP_MEAN**2
    jump_var = np.array([len(event_days.get(s, [])) * event_var + len(earnings_days.get(s, [])) * P.EARNINGS_JUMP_SD**2
                         for s in stocks])
    return np.maximum(1.0 - jump_var / listed_days, MIN_DIFFUSION_SHARE)


def simulate_returns(rng: np.random.Generator, sessions: pd.DatetimeIndex, first_row: dict[str, int],
                     event_days: dict[str, list[int]], earnings_days: dict[str, list[int]]) -> Paths:
    """Log returns of every symbol on every session (before listing too; rows start at first_row)."""
    n, stocks = len(sessions), list(P.STOCKS)
    factor_vol = np.array([P.FACTOR_VOL[f] for f in P.FACTORS])
    factor_garch = np.array([P.FACTOR_GARCH[f] for f in P.FACTORS])
    factor_shock, factor_var = _garch(_unit_t(rng, P.NU_FACTOR, (n, len(P.FACTORS))), factor_vol, factor_garch)
    factors = np.array([P.FACTOR_MEAN[f] for f in P.FACTORS]) + factor_shock

    idio_vol = np.array([P.IDIO_VOL[s] for s in stocks])
    diffusion_vol = idio_vol * _diffusion_share(
        stocks, np.array([n - first_row[s] for s in stocks]), event_days, earnings_days) ** 0.5
    idio, idio_var = _garch(_unit_t(rng, P.NU_IDIO, (n, len(stocks))), diffusion_vol,
                            np.array([P.IDIO_GARCH[s] for s in stocks]))
    beta = np.array([P.BETA[s] for s in stocks])
    jumps = np.zeros((n, len(SYMBOLS)))
    for column, s in enumerate(stocks):
        for day in event_days.get(s, []):
            jumps[day, column] += idio_vol[column] * rng.normal(P.EVENT_JUMP_MEAN, P.EVENT_JUMP_SD)
        for day in earnings_days.get(s, []):
            jumps[day, column] += idio_vol[column] * rng.normal(0.0, P.EARNINGS_JUMP_SD)
    stock_returns = np.array([P.ALPHA[s] for s in stocks]) + factors @ beta.T + idio + jumps[:, : len(stocks)]
    stock_sigma = np.sqrt(factor_var[:-1] @ (beta**2).T + idio_var[:-1])

    loadings = np.array([P.ETF_LOADINGS[e] for e in P.ETFS])
    tracking = P.ETF_TRACKING_VOL * rng.standard_normal((n, len(P.ETFS)))
    etf_returns = loadings[:, 0] + factors @ loadings[:, 1:].T + tracking
    etf_sigma = np.sqrt(factor_var[:-1] @ (loadings[:, 1:] ** 2).T + P.ETF_TRACKING_VOL**2)

    frame = lambda values: pd.DataFrame(values, index=sessions, columns=SYMBOLS)  # noqa: E731
    return Paths(
        returns=frame(np.hstack([stock_returns, etf_returns])),
        sigma=frame(np.hstack([stock_sigma, etf_sigma])),
        jumps=frame(jumps),
        market_variance_next=pd.Series(factor_var[1:, 0], index=sessions),
    )


def ex_dividend_days(sessions: pd.DatetimeIndex, symbol: str) -> pd.DatetimeIndex:
    """Quarterly ex-dates between the name's real first and last ex-date (next session if closed)."""
    if symbol not in P.DIVIDENDS:
        return pd.DatetimeIndex([])
    first, last = pd.Timestamp(P.DIVIDENDS[symbol][1]), pd.Timestamp(P.DIVIDENDS[symbol][2])
    days = pd.DatetimeIndex([first + pd.DateOffset(months=3 * i) for i in range(4 * (last.year - first.year + 1))])
    positions = sessions.searchsorted(days[days <= last])
    return sessions[np.unique(positions[positions < len(sessions)])]


def price_bars(rng: np.random.Generator, paths: Paths, first_row: dict[str, int]) -> pd.DataFrame:
    """Long OHLCV + adj_close rows from the return paths, one symbol after the other.

    Close follows the total return less the dividend on ex-dates (as traded); adj_close = close times
    a factor that steps only on ex-dates (Yahoo's convention: earlier prices times 1 - D / prev close).
    """
    sessions, frames = paths.returns.index, []
    for symbol in SYMBOLS:
        start = first_row[symbol]
        days = sessions[start:]
        r = paths.returns[symbol].to_numpy()[start:]
        sigma = paths.sigma[symbol].to_numpy()[start:]
        jump = paths.jumps[symbol].to_numpy()[start:]
        n = len(days)
        payout = np.zeros(n)
        if symbol in P.DIVIDENDS:
            payout[days.isin(ex_dividend_days(sessions, symbol))] = P.DIVIDENDS[symbol][0] / 4.0
        traded = np.log(1.0 - payout * np.exp(-r))  # close = prev close * (exp(r) - payout)
        log_close = np.log(P.START_PRICE[symbol]) + np.cumsum(r + traded)
        prev_close = np.concatenate([[np.log(P.START_PRICE[symbol])], log_close[:-1]])

        gap = P.GAP_BETA[symbol] * (r - jump) + jump + P.GAP_NOISE[symbol] * sigma * rng.standard_normal(n)
        log_open = prev_close + gap + traded
        wick = P.WICK[symbol] * sigma
        high = np.maximum(log_open, log_close) + rng.exponential(1.0, n) * wick
        low = np.minimum(log_open, log_close) - rng.exponential(1.0, n) * wick

        close = np.exp(log_close)
        growth = np.linspace(0.0, 1.0, n)
        log_dollar = (np.log(P.DOLLAR_VOLUME_START[symbol]) * (1 - growth) + np.log(P.DOLLAR_VOLUME_END[symbol]) * growth
                      + P.VOLUME_ABS_Z_SLOPE * (np.abs(r - r.mean()) / sigma - MEAN_ABS_UNIT_SHOCK)
                      + P.VOLUME_LOG_SD * rng.standard_normal(n))
        factor = np.concatenate([np.cumprod((1.0 - payout)[::-1])[::-1][1:], [1.0]])
        frames.append(pd.DataFrame({
            "date": days, "symbol": symbol, "open": np.exp(log_open), "high": np.exp(high), "low": np.exp(low),
            "close": close, "volume": np.round(np.exp(log_dollar) * 1e6 / close), "adj_close": close * factor,
        }))
    return pd.concat(frames, ignore_index=True)


def _ar1(rng: np.random.Generator, n: int, phi: float, sd: float) -> np.ndarray:
    noise = sd * rng.standard_normal(n)
    out = np.empty(n)
    out[0] = noise[0]
    for t in range(1, n):
        out[t] = phi * out[t - 1] + noise[t]
    return out


def market_series(rng: np.random.Generator, paths: Paths) -> pd.DataFrame:
    """VIX from the simulated market vol, a mean-reverting 10y yield, a VIX-linked HY spread (long)."""
    sessions, n = paths.returns.index, len(paths.returns)
    a, b, phi, sd = P.VIX_MODEL
    forward_vol = 100.0 * np.sqrt(252.0 * paths.market_variance_next.to_numpy())
    vix = np.maximum(a + b * forward_vol + _ar1(rng, n, phi, sd), VIX_FLOOR)

    c, k, m, sd = P.DGS10_MODEL
    market = paths.returns["SPY"].to_numpy()
    noise = sd * rng.standard_normal(n)
    yields = np.empty(n)
    level = P.DGS10_START
    for t in range(n):
        level = max(level + c + k * level + m * market[t] + noise[t], DGS10_FLOOR)
        yields[t] = level

    a, b, phi, sd = P.HY_OAS_MODEL
    spread = np.maximum(a + b * vix + _ar1(rng, n, phi, sd), HY_OAS_FLOOR)
    series = {"VIX": vix, "DGS10": yields, "HY_OAS": spread}
    return pd.concat([pd.DataFrame({"date": sessions, "series": name, "value": values}) for name, values in series.items()],
                     ignore_index=True)
