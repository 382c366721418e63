"""Sharpe ratios that know how they were found: probabilistic and deflated Sharpe ratios.

A backtest's Sharpe ratio is an estimate, and the best of many variants is the maximum of
many estimates, which is inflated even when no variant has any skill. These formulas turn
it into a probability that the true Sharpe ratio beats a benchmark.

Conventions. ``SR`` without "annualised" is the per-period (non-annualised) Sharpe ratio
``mean(r) / std(r, ddof=1)``; the annualised one multiplies it by √ppy (both from
``engine.analysis.ratios``, as every Sharpe in rulebook; risk-free rate 0). ``skew`` is the sample skewness γ₃ and
``kurtosis`` the sample (non-excess) kurtosis γ₄, 3 for Normal returns, both from
population moments as in the papers.

References:

- Bailey, D. H. and López de Prado, M. (2012), "The Sharpe Ratio Efficient Frontier",
  Journal of Risk 15(2), 3-44 (PSR, eq. 2 / sections 3-4).
- Bailey, D. H. and López de Prado, M. (2014), "The Deflated Sharpe Ratio: Correcting for
  Selection Bias, Backtest Overfitting and Non-Normality", Journal of Portfolio Management
  40(5), 94-107 (E[max SR] and DSR, eqs. 1-2 and "A Numerical Example").
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from engine.analysis.ratios import per_period_sharpe

EULER_GAMMA = 0.5772156649015329  # Euler–Mascheroni constant γ


def return_moments(returns: np.ndarray | pd.Series) -> tuple[float, float, float, int]:
    """(per-period SR, skewness γ₃, kurtosis γ₄, n) of the finite returns; γ₃, γ₄ from population moments."""
    values = _finite(returns)
    sr, skew, kurtosis = column_moments(values[:, None])
    return float(sr[0]), float(skew[0]), float(kurtosis[0]), len(values)


def column_moments(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``return_moments`` of every column of a complete (NaN-free) sessions × columns matrix at once:
    (per-period SR, skewness γ₃, kurtosis γ₄) arrays, NaN for a column that does not vary; a sweep asks
    for thousands of columns (products, not powers: ``x**3`` calls pow per cell)."""
    values = np.asarray(values, dtype=float)
    centred = values - values.mean(axis=0)
    squared = centred * centred
    m2 = np.mean(squared, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        skew = np.mean(squared * centred, axis=0) / m2**1.5
        kurtosis = np.mean(squared * squared, axis=0) / m2**2
    flat = m2 == 0.0
    return (np.where(flat, np.nan, per_period_sharpe(values)), np.where(flat, np.nan, skew),
            np.where(flat, np.nan, kurtosis))


def probabilistic_sharpe_ratio(sr: float, sr_benchmark: float, n: int, skew: float, kurtosis: float) -> float:
    """Probability that the true Sharpe ratio exceeds ``sr_benchmark`` (Bailey & López de Prado 2012).

    PSR(SR*) = Φ( (SR − SR*) √(n − 1) / √(1 − γ₃ SR + (γ₄ − 1)/4 · SR²) )

    with SR, SR* per period (not annualised), n the number of returns, γ₃ the skewness and γ₄
    the (non-excess) kurtosis of the returns. Negative skew and fat tails widen the estimate's
    error band and so lower the probability. NaN when the inputs leave the formula undefined.
    """
    variance_factor = 1.0 - skew * sr + (kurtosis - 1.0) / 4.0 * sr**2
    if not (n > 1 and variance_factor > 0):
        return math.nan
    return float(ndtr((sr - sr_benchmark) * math.sqrt(n - 1) / math.sqrt(variance_factor)))


def expected_max_sharpe(n_trials: int, var_sr: float) -> float:
    """Expected maximum of ``n_trials`` Sharpe ratio estimates whose true value is 0 (Bailey & López de Prado 2014).

    E[max SR] ≈ √V[SR] · ( (1 − γ) Φ⁻¹(1 − 1/N) + γ Φ⁻¹(1 − 1/(N e)) )

    where V[SR] is the variance of the trials' (per-period) Sharpe ratios, γ the Euler–Mascheroni
    constant and e Euler's number: the extreme-value approximation of the maximum of N
    independent Normal draws. One trial involves no selection, so its expected maximum is 0.
    """
    if n_trials < 1:
        raise ValueError(f"n_trials must be at least 1, got {n_trials}")
    if n_trials == 1:
        return 0.0
    z = (1.0 - EULER_GAMMA) * ndtri(1.0 - 1.0 / n_trials) + EULER_GAMMA * ndtri(1.0 - 1.0 / (n_trials * math.e))
    return float(math.sqrt(var_sr) * z)


def deflated_sharpe_ratio(returns: pd.Series, n_trials: int, var_sr_trials: float) -> float:
    """Probability that the true Sharpe ratio of ``returns`` is positive, allowing for the
    ``n_trials`` variants tried to find it (Bailey & López de Prado 2014, eq. 2).

    DSR = PSR(SR₀) with SR₀ = ``expected_max_sharpe(n_trials, var_sr_trials)``: the strategy must
    beat the best Sharpe ratio that luck alone would have produced. ``var_sr_trials`` is the
    variance of the per-period Sharpe ratios of all trials. DSR ≥ 0.95 is the papers' bar.
    """
    sr, skew, kurtosis, n = return_moments(returns)
    return probabilistic_sharpe_ratio(sr, expected_max_sharpe(n_trials, var_sr_trials), n, skew, kurtosis)


def _finite(returns: np.ndarray | pd.Series) -> np.ndarray:
    """The returns as floats without NaN/inf (e.g. the empty first session of ``pct_change``)."""
    values = np.asarray(returns, dtype=float)
    return values[np.isfinite(values)]
