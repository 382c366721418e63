"""Stationary block bootstrap (Politis & Romano 1994) and its automatic mean block length
(Politis & White 2004, with the correction of Patton, Politis & White 2009).

Daily strategy returns are not independent draws (volatility clusters, positions persist),
so resampling single days understates the uncertainty of a Sharpe ratio. The stationary
bootstrap resamples blocks of consecutive sessions whose lengths are geometric with mean
``mean_block``, wrapping around the end of the sample, which keeps the resampled series
stationary. Two strategies compared on the same resampled sessions keep their correlation.

References:

- Politis, D. N. and Romano, J. P. (1994), "The Stationary Bootstrap", Journal of the
  American Statistical Association 89(428), 1303-1313.
- Politis, D. N. and White, H. (2004), "Automatic Block-Length Selection for the Dependent
  Bootstrap", Econometric Reviews 23(1), 53-70; correction: Patton, A., Politis, D. N. and
  White, H. (2009), Econometric Reviews 28(4), 372-375.
"""

from __future__ import annotations

import math

import numpy as np


def stationary_bootstrap_indices(n: int, mean_block: float, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Row indices of ``n_boot`` stationary-bootstrap resamples of a length-``n`` series, shape (n_boot, n).

    Each resample starts at a uniform random session; every following position starts a new
    block at a uniform random session with probability p = 1 / ``mean_block`` and otherwise
    continues with the next session, wrapping from n − 1 to 0. Block lengths are therefore
    geometric with mean ``mean_block`` (Politis & Romano 1994, section 2).
    """
    if n < 1 or n_boot < 1:
        raise ValueError(f"need n >= 1 and n_boot >= 1, got n={n}, n_boot={n_boot}")
    if not mean_block >= 1:
        raise ValueError(f"mean_block must be at least 1 session, got {mean_block}")
    starts_block = rng.random((n_boot, n)) < 1.0 / mean_block
    if mean_block == 1:  # every position starts a block: the uniform draws are the rows (the iid bootstrap)
        return rng.integers(0, n, size=(n_boot, n))
    starts_block[:, 0] = True
    positions = np.arange(n)
    # position where the block containing each position began (running max of block starts)
    block_start = np.maximum.accumulate(np.where(starts_block, positions, 0), axis=1)
    first_row = rng.integers(0, n, size=(n_boot, n))
    start_row = np.take_along_axis(first_row, block_start, axis=1)
    return (start_row + (positions - block_start)) % n


def resample_counts(indices: np.ndarray, n: int) -> np.ndarray:
    """How often each of the ``n`` rows appears in each resample: shape (n_boot, n), float.

    A Sharpe ratio depends on a resample only through its sums of returns and squared returns,
    so ``counts @ returns`` evaluates every resample of every column in one matrix product.
    """
    n_boot = indices.shape[0]
    flat = (np.arange(n_boot)[:, None] * n + indices).ravel()
    return np.bincount(flat, minlength=n_boot * n).reshape(n_boot, n).astype(float)


def automatic_block_length(values: np.ndarray) -> float:
    """Politis & White (2004) optimal mean block length of the stationary bootstrap for one series.

    With R(k) the sample autocovariances, M = 2·m̂ where m̂ is the smallest lag after which
    K_N = max(5, ⌈√log10 n⌉) autocorrelations in a row lie within ±2√(log10 n / n), and the
    flat-top kernel λ(t) = 1 for |t| ≤ ½, 2(1 − |t|) for ½ < |t| ≤ 1, 0 beyond:

        G = Σ_{|k|≤M} λ(k/M) |k| R(k),   D = 2 (Σ_{|k|≤M} λ(k/M) R(k))²,
        b = (2 G² / D)^{1/3} n^{1/3},

    bounded to [1, min(3√n, n/3)]. Independent returns give b ≈ 1 (the ordinary bootstrap).
    """
    x = np.asarray(values, dtype=float)
    n = len(x)
    if n < 9 or np.ptp(x) == 0:
        return 1.0
    x = x - x.mean()
    runs = max(5, math.ceil(math.sqrt(math.log10(n))))
    max_lag = min(math.ceil(math.sqrt(n)) + runs, n - 1)
    bound = 2.0 * math.sqrt(math.log10(n) / n)
    head = _autocovariances(x, range(runs + 1))  # max_lag > runs: n >= 9
    if (np.abs(head[1:] / head[0]) < bound).all():  # m̂ = 0 (nearly independent returns, the usual case
        return 1.0  # for daily strategy returns): the later lags are never read, a sweep asks once per variant
    autocov = np.concatenate([head, _autocovariances(x, range(runs + 1, max_lag + 1))])
    insignificant = np.abs(autocov[1:] / autocov[0]) < bound
    m_hat = _first_quiet_lag(insignificant, runs)
    bandwidth = min(2 * m_hat, max_lag)
    if bandwidth == 0:
        return 1.0
    lags = np.arange(1, bandwidth + 1)
    weights = np.clip(2.0 * (1.0 - lags / bandwidth), 0.0, 1.0)  # flat-top kernel λ(k/M)
    g_zero = autocov[0] + 2.0 * np.sum(weights * autocov[lags])
    g_one = 2.0 * np.sum(weights * lags * autocov[lags])
    if g_zero <= 0:
        return 1.0
    block = (2.0 * g_one**2 / (2.0 * g_zero**2)) ** (1.0 / 3.0) * n ** (1.0 / 3.0)
    return float(np.clip(block, 1.0, min(3.0 * math.sqrt(n), n / 3.0)))


def _autocovariances(x: np.ndarray, lags: range) -> np.ndarray:
    """R(k) of the centred series ``x`` for each lag k of ``lags``."""
    n = len(x)
    return np.array([x[: n - k] @ x[k:] / n for k in lags])


def _first_quiet_lag(insignificant: np.ndarray, runs: int) -> int:
    """Smallest m ≥ 0 such that the autocorrelations at lags m+1 … m+runs are all insignificant
    (the last lag examined when no such run exists)."""
    for m in range(len(insignificant) - runs + 1):
        if insignificant[m : m + runs].all():
            return m
    return len(insignificant)
