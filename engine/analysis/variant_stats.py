"""Fair statistics for comparing rule variants against the base configuration.

Three questions, three tools:

- Is variant v better than the base, or did it just get luckier sessions? A stationary block
  bootstrap confidence interval of Sharpe(v) − Sharpe(base): both series are resampled on the
  *same* blocks of sessions, so their correlation (same market, mostly the same holdings) is
  kept and the interval is about the difference, not about the market.
- Does its Sharpe ratio survive the number of variants tried? The deflated Sharpe ratio
  (``engine.analysis.deflated_sharpe``) with N = number of variants and V = the variance of their
  per-period Sharpe ratios.
- Is choosing the best variant in-sample a good idea at all? The probability of backtest
  overfitting (``engine.analysis.pbo``), computed by the caller over all variants.

Bootstrap intervals are percentile intervals of ``n_boot`` resamples drawn with a fixed
``seed``: the same returns give the same interval on every run.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from engine.analysis.deflated_sharpe import (
    column_moments,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    probabilistic_sharpe_ratio,
)
from engine.analysis.ratios import per_period_sharpe, sharpe_from_moments, sharpe_ratio
from engine.analysis.column_blocks import by_columns, column_blocks
from engine.analysis.pbo import PBOResult, pbo
from engine.analysis.stationary_bootstrap import automatic_block_length, resample_counts, stationary_bootstrap_indices

__all__ = [
    "BASE_VERDICT",
    "PBOResult",
    "compare_statistics",
    "deflated_sharpe_ratio",
    "expected_max_sharpe",
    "pbo",
    "plain_words",
    "probabilistic_sharpe_ratio",
    "sharpe_difference_ci",
    "sharpe_ratio",
    "stationary_bootstrap_indices",
    "verdict_label",
]

CI_LEVEL = 0.95
DSR_BAR = 0.95  # Bailey & López de Prado's confidence bar for a discovery
BASE_VERDICT = "the base configuration"
STATS_COLUMNS = ("sharpe", "sharpe_diff", "diff_lower", "diff_upper", "beats_base", "psr", "dsr", "verdict")


def sharpe_difference_ci(
    a: np.ndarray | pd.Series,
    b: np.ndarray | pd.Series,
    periods_per_year: float,
    *,
    mean_block: float | None = None,
    n_boot: int = 2000,
    level: float = CI_LEVEL,
    seed: int = 0,
) -> tuple[float, float, float]:
    """(point estimate, lower, upper) of annualised Sharpe(a) − Sharpe(b) over their common sessions.

    ``a`` and ``b`` are per-session returns of equal length (pairs with a missing value are
    dropped). Both are resampled with the same stationary-bootstrap indices; the interval is the
    percentile interval of the resampled differences. ``mean_block`` defaults to the median
    Politis & White (2004) automatic block length of the two series (``automatic_block_length``).
    """
    pair = pd.DataFrame({"a": np.asarray(a, dtype=float), "b": np.asarray(b, dtype=float)})
    estimate, lower, upper = _differences_to_first(pair[["b", "a"]], periods_per_year, mean_block, n_boot, level, seed)
    return float(estimate[1]), float(lower[1]), float(upper[1])


def compare_statistics(
    returns: pd.DataFrame, base: str, periods_per_year: float, *, n_boot: int = 2000, seed: int = 0
) -> pd.DataFrame:
    """One row per variant (index = ``returns``' columns, the base included) with the columns

    ``sharpe`` (annualised), ``sharpe_diff`` / ``diff_lower`` / ``diff_upper`` (annualised Sharpe
    difference to the base and its 95% stationary-bootstrap interval, all variants resampled on
    the same blocks), ``beats_base`` (interval above 0), ``psr`` (probability the true Sharpe is
    above 0), ``dsr`` (deflated Sharpe ratio with N = number of variants and V = variance of
    their per-period Sharpe ratios) and ``verdict`` in plain words.

    ``returns``: sessions × variants of per-session returns; sessions where any variant has no
    return (e.g. the first) are dropped so every comparison uses the same sessions.
    """
    if base not in returns.columns:
        raise ValueError(f"base {base!r} is not a column of the returns; columns are {list(returns.columns)}")
    complete = returns.dropna()
    ordered = complete[[base] + [name for name in complete.columns if name != base]]
    table = matrix_statistics(ordered.to_numpy(dtype=float), list(ordered.columns), periods_per_year,
                              n_boot=n_boot, seed=seed)
    return table.loc[list(returns.columns)]


def matrix_statistics(values: np.ndarray, names: list[str], periods_per_year: float, *, n_boot: int = 2000,
                      seed: int = 0) -> pd.DataFrame:
    """compare_statistics of a complete sessions × variants matrix whose first column is the base (a sweep's
    returns, without a frame); rows in ``names``' order. Blocks of columns keep its memory bounded."""
    if len(values) < 3:
        raise ValueError(f"need at least 3 sessions where every variant has a return, got {len(values)}")
    base = names[0]
    values = np.asfortranarray(values)  # each variant's returns contiguous, as a frame's to_numpy gives them
    estimate, lower, upper = _differences_to_first(values, periods_per_year, None, n_boot, CI_LEVEL, seed)
    per_period = by_columns(lambda block: (per_period_sharpe(block),), values)[0]
    n_trials, var_trials = len(names), _variance(per_period)
    sr_luck, n = expected_max_sharpe(n_trials, var_trials), len(values)
    moments = zip(*by_columns(column_moments, values))  # one pass over the matrix, not one per variant
    rows = {}
    for position, (name, (sr, skew, kurtosis)) in enumerate(zip(names, moments)):
        row = {
            "sharpe": float(per_period[position]) * math.sqrt(periods_per_year),
            "sharpe_diff": float(estimate[position]),
            "diff_lower": float(lower[position]),
            "diff_upper": float(upper[position]),
            "beats_base": bool(lower[position] > 0),
            "psr": probabilistic_sharpe_ratio(sr, 0.0, n, skew, kurtosis),
            "dsr": probabilistic_sharpe_ratio(sr, sr_luck, n, skew, kurtosis),  # = deflated_sharpe_ratio
        }
        row["verdict"] = BASE_VERDICT if name == base else _verdict(row, n_trials)
        rows[name] = row
    return pd.DataFrame.from_dict(rows, orient="index")[list(STATS_COLUMNS)]


def plain_words(stats: pd.DataFrame, pbo_value: float | None) -> list[str]:
    """The sentences a report prints about ``compare_statistics``' table and the PBO of the sweep."""
    variants = stats[stats["verdict"] != BASE_VERDICT]
    beyond = variants[variants["beats_base"] & (variants["dsr"] >= DSR_BAR)]
    lucky = variants[variants["beats_base"] & ~(variants["dsr"] >= DSR_BAR)]
    worse = variants[variants["diff_upper"] < 0]
    tried = len(stats)
    sentences = [
        f"{name} beats the base configuration beyond luck: Sharpe {row.sharpe:.2f}, "
        f"{row.sharpe_diff:+.2f} over the base (95% CI {row.diff_lower:+.2f} to {row.diff_upper:+.2f}), "
        f"deflated Sharpe ratio {row.dsr:.2f} after {tried} configurations tried."
        for name, row in beyond.sort_values("sharpe_diff", ascending=False).iterrows()
    ]
    if beyond.empty:
        sentences.append(f"No variant beats the base configuration beyond luck ({tried} configurations tried).")
    if not lucky.empty:
        sentences.append(
            f"{_count(len(lucky))} ahead of the base in this sample ({', '.join(map(str, lucky.index))}), "
            f"but not beyond luck once {tried} configurations are counted (deflated Sharpe ratio below {DSR_BAR:.2f})."
        )
    undecided = len(variants) - len(beyond) - len(lucky) - len(worse)
    sentences.append(
        f"{_count(undecided)} not distinguishable from the base; {_count(len(worse))} worse than the base."
    )
    sentences.append(_pbo_sentence(pbo_value))
    return sentences


def _differences_to_first(
    matrix: pd.DataFrame | np.ndarray, ppy: float, mean_block: float | None, n_boot: int, level: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Point estimates and percentile bounds of annualised Sharpe(column) − Sharpe(first column)."""
    values = matrix if isinstance(matrix, np.ndarray) else matrix.dropna().to_numpy(dtype=float)
    n = len(values)
    if n < 3:
        raise ValueError(f"need at least 3 paired returns for a bootstrap interval, got {n}")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    if mean_block is None:
        mean_block = float(np.median([automatic_block_length(column) for column in values.T]))
    indices = stationary_bootstrap_indices(n, mean_block, n_boot, np.random.default_rng(seed))
    counts = resample_counts(indices, n)
    estimate = by_columns(lambda block: (per_period_sharpe(block),), values)[0] * math.sqrt(ppy)
    tail = (1.0 - level) / 2.0
    lower, upper = np.empty(values.shape[1]), np.empty(values.shape[1])
    for block in column_blocks(n, values.shape[1]):  # each block with the first column, which it is compared to
        columns = np.r_[0, np.arange(values.shape[1])[block]]
        resampled = _resampled_sharpes(counts, np.asfortranarray(values[:, columns])) * math.sqrt(ppy)
        differences = resampled[:, 1:] - resampled[:, :1]
        # the same quantiles when no resample lacks variation; nanquantile goes column by column (3x slower)
        quantile = np.nanquantile if np.isnan(differences).any() else np.quantile
        with np.errstate(invalid="ignore"):
            lower[block], upper[block] = quantile(differences, [tail, 1.0 - tail], axis=0)
    return estimate - estimate[0], lower, upper


def _resampled_sharpes(counts: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per-period Sharpe ratio (ddof=1) of every column in every resample, shape (n_boot, columns).

    Moments are taken around each column's sample mean so that the variance does not lose its
    digits to cancellation; a resample without variation gets NaN (left out of the quantiles).
    """
    n = counts.shape[1]
    centre = values.mean(axis=0)
    deviations = values - centre
    mean_deviation = counts @ deviations / n
    second = counts @ deviations**2 / n
    variance = (second - mean_deviation**2) * n / (n - 1)
    constant = np.ptp(values, axis=0) == 0
    return sharpe_from_moments(mean_deviation + centre, np.where(constant, 0.0, variance))


def _variance(per_period: np.ndarray) -> float:
    finite = per_period[np.isfinite(per_period)]
    return float(np.var(finite, ddof=1)) if len(finite) > 1 else 0.0


def verdict_label(diff_lower: float, diff_upper: float, dsr: float) -> str:
    """The verdict in two or three words, for tables too narrow for the sentence."""
    if diff_lower > 0:
        return "beats base" if dsr >= DSR_BAR else "ahead, not beyond luck"
    return "worse" if diff_upper < 0 else "same as base"


def _verdict(row: dict, n_trials: int) -> str:
    label = verdict_label(row["diff_lower"], row["diff_upper"], row["dsr"])
    interval = f"95% CI of the Sharpe difference {row['diff_lower']:+.2f} to {row['diff_upper']:+.2f}"
    if label == "beats base":
        return f"beats the base beyond luck (95% CI of the Sharpe difference above 0; DSR {row['dsr']:.2f})"
    if label == "ahead, not beyond luck":
        return (
            f"ahead of the base in this sample, but not beyond luck after {n_trials} configurations "
            f"(95% CI of the Sharpe difference above 0; DSR {row['dsr']:.2f} < {DSR_BAR:.2f})"
        )
    if label == "worse":
        return f"worse than the base ({interval})"
    return f"not distinguishable from the base ({interval})"


def _count(k: int) -> str:
    return f"{k} variant is" if k == 1 else f"{k} variants are"


def _pbo_sentence(pbo_value: float | None) -> str:
    if pbo_value is None or not math.isfinite(pbo_value):
        return "The probability of backtest overfitting was not computed (it needs at least two variants)."
    if pbo_value >= 0.5:
        reading = "picking the in-sample best variant is no better than luck"
    elif pbo_value >= 0.2:
        reading = "much of the in-sample ranking is luck"
    elif pbo_value >= 0.05:
        reading = "some overfitting risk remains in picking the in-sample best variant"
    else:
        reading = "the in-sample ranking carries over out of sample"
    return (
        f"Probability of backtest overfitting (CSCV): {pbo_value:.0%} — the variant that is best in one half "
        f"of the history ranks at or below the median in the other half in {pbo_value:.0%} of the splits; {reading}."
    )
