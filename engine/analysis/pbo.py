"""Probability of backtest overfitting by combinatorially symmetric cross-validation (CSCV).

Bailey, D. H., Borwein, J. M., López de Prado, M. and Zhu, Q. J. (2016), "The Probability of
Backtest Overfitting", Journal of Computational Finance 20(4), 39-69, section 2:

1. The T × N matrix of returns (sessions × variants) is cut into S contiguous blocks of equal
   length (the T mod S oldest sessions are dropped).
2. For each of the C(S, S/2) ways to pick S/2 blocks as the in-sample set J (the other half
   J̄ is out of sample), the metric of every variant is computed on J and on J̄.
3. The in-sample best variant n* has out-of-sample relative rank ω̄ = rank(R̄_n*) / (N + 1)
   among all variants (rank 1 = worst, ties averaged) and logit λ = ln(ω̄ / (1 − ω̄)).
4. PBO = share of combinations with λ ≤ 0: how often the in-sample winner is at or below the
   out-of-sample median. Pure luck gives about 0.5, a genuine edge about 0.

Performance degradation (section 2.3) regresses the winner's out-of-sample metric on its
in-sample metric across combinations: a slope well below 0 means in-sample excellence does
not carry over. ``prob_oos_loss`` is the share of combinations where the winner loses money
(negative metric) out of sample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from engine.analysis import column_blocks
from engine.analysis.ratios import sharpe_from_moments

METRICS = ("sharpe", "mean")
_CHUNK = 2048  # combinations evaluated at once (their variants a block of columns at a time)


@dataclass(frozen=True)
class PBOResult:
    """CSCV outcome; arrays have one entry per combination (in-sample / out-of-sample split)."""

    pbo: float
    logits: np.ndarray
    n_combinations: int
    is_best: np.ndarray  # in-sample metric of the in-sample winner (per-period)
    oos_of_best: np.ndarray  # its out-of-sample metric
    degradation_slope: float
    degradation_intercept: float
    prob_oos_loss: float


def pbo(returns: pd.DataFrame | np.ndarray, n_splits: int = 16, metric: str = "sharpe") -> PBOResult:
    """Probability of backtest overfitting of choosing the best of ``returns``' columns (see module doc).

    ``returns``: sessions × variants (a frame: rows with a missing value are dropped; an array: complete). ``metric``:
    "sharpe" (per-period mean/std; no variation ranks as 0 if flat, ±inf if a constant gain or
    loss) or "mean" (mean return). ``n_splits`` (S) must be even; C(16, 8) = 12,870 splits.
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    matrix = returns if isinstance(returns, np.ndarray) else returns.dropna().to_numpy(dtype=float)
    n_sessions, n_variants = matrix.shape
    if n_splits < 2 or n_splits % 2:
        raise ValueError(f"n_splits must be an even number >= 2, got {n_splits}")
    if n_variants < 2:
        raise ValueError(f"PBO compares variants; got {n_variants} column(s), need at least 2")
    block = n_sessions // n_splits
    if block < 2:
        raise ValueError(
            f"{n_sessions} complete sessions cannot be cut into {n_splits} blocks of at least 2; "
            "fix: use fewer n_splits or a longer backtest"
        )
    sums, squares = column_blocks.by_columns(lambda columns: _block_sums(columns, n_splits, block), matrix)  # (S, N) each
    chosen = _combination_masks(n_splits)
    is_best, oos_of_best, logits = [], [], []
    with threadpool_limits(1, user_api="blas"):  # products with S = 16 rows: more BLAS threads only spin
        for start in range(0, len(chosen), _CHUNK):
            mask = chosen[start : start + _CHUNK].astype(float)
            winner, best, winner_oos, below, ties = _winners(mask, sums, squares, block, metric)
            relative_rank = (below + (ties + 1) / 2.0) / (n_variants + 1)
            logits.append(np.log(relative_rank / (1.0 - relative_rank)))
            is_best.append(best)
            oos_of_best.append(winner_oos)
    logits_all, is_all, oos_all = (np.concatenate(part) for part in (logits, is_best, oos_of_best))
    slope, intercept = _degradation(is_all, oos_all)
    return PBOResult(
        pbo=float(np.mean(logits_all <= 0.0)),
        logits=logits_all,
        n_combinations=len(chosen),
        is_best=is_all,
        oos_of_best=oos_all,
        degradation_slope=slope,
        degradation_intercept=intercept,
        prob_oos_loss=float(np.mean(oos_all < 0.0)),
    )


def _winners(mask: np.ndarray, sums: np.ndarray, squares: np.ndarray, block: int, metric: str):
    """Per combination (row of ``mask``): the in-sample winner, its in-sample and out-of-sample metric, and
    how many variants fall below and tie with it out of sample. Variants are taken a block of columns at a
    time (memory: rows × CELLS / rows floats), which gives the bits of all columns at once."""
    rest = 1.0 - mask
    in_count, out_count = mask.sum(axis=1, keepdims=True) * block, rest.sum(axis=1, keepdims=True) * block
    rows = np.arange(len(mask))
    blocks = column_blocks.column_blocks(len(mask), sums.shape[1])

    def metric_of(weights, count, columns):
        return _metric(weights @ sums[:, columns], weights @ squares[:, columns], count, metric)

    winner, best = np.zeros(len(mask), dtype=np.int64), np.full(len(mask), np.nan)
    for k, columns in enumerate(blocks):  # np.argmax over all columns: the first maximum, a NaN first of all
        in_sample = metric_of(mask, in_count, columns)
        arg = np.argmax(in_sample, axis=1)
        value = in_sample[rows, arg]
        better = np.ones(len(mask), dtype=bool) if k == 0 else ~np.isnan(best) & (np.isnan(value) | (value > best))
        winner, best = np.where(better, arg + columns.start, winner), np.where(better, value, best)
    # the winners' out-of-sample metric from their own columns (a few distinct ones; two at least, as a
    # one-column product takes BLAS's matrix-vector path), then every block counted against it
    distinct = np.unique(winner)
    columns = distinct if len(distinct) > 1 else np.unique([distinct[0], (distinct[0] + 1) % sums.shape[1]])
    winner_oos = metric_of(rest, out_count, columns)[rows, np.searchsorted(columns, winner)]
    below, ties = np.zeros(len(mask), dtype=np.int64), np.zeros(len(mask), dtype=np.int64)
    for columns in blocks:
        out_sample = metric_of(rest, out_count, columns)
        below += (out_sample < winner_oos[:, None]).sum(axis=1)
        ties += (out_sample == winner_oos[:, None]).sum(axis=1)
    return winner, best, winner_oos, below, ties


def _block_sums(matrix: np.ndarray, n_splits: int, block: int) -> tuple[np.ndarray, np.ndarray]:
    """Sums of returns and of squared returns of each of the ``n_splits`` blocks of the last sessions."""
    blocks = matrix[len(matrix) - block * n_splits :].reshape(n_splits, block, matrix.shape[1])
    return blocks.sum(axis=1), (blocks**2).sum(axis=1)


def _combination_masks(n_splits: int) -> np.ndarray:
    """Boolean (C(S, S/2), S) matrix: row c marks the blocks of combination c's in-sample set."""
    combos = list(combinations(range(n_splits), n_splits // 2))
    masks = np.zeros((len(combos), n_splits), dtype=bool)
    masks[np.repeat(np.arange(len(combos)), n_splits // 2), np.concatenate(combos)] = True
    return masks


def _metric(sums: np.ndarray, squares: np.ndarray, count: np.ndarray, metric: str) -> np.ndarray:
    """Per-period mean or Sharpe ratio (ddof=1) from sums of returns and of squared returns."""
    mean = sums / count
    if metric == "mean":
        return mean
    variance = sums * mean  # then in place: these arrays are combinations x variants
    np.subtract(squares, variance, out=variance)
    np.maximum(variance, 0.0, out=variance)
    np.divide(variance, count - 1, out=variance)
    ratio = sharpe_from_moments(mean, variance, 0.0)
    flat = ~(variance > 0)  # no risk: ranked by the sign of the mean
    if flat.any():
        ratio[flat] = np.where(mean[flat] > 0, np.inf, np.where(mean[flat] < 0, -np.inf, 0.0))
    return ratio


def _degradation(in_sample: np.ndarray, out_sample: np.ndarray) -> tuple[float, float]:
    """Least-squares slope and intercept of out-of-sample on in-sample metric (NaN if undefined)."""
    finite = np.isfinite(in_sample) & np.isfinite(out_sample)
    x, y = in_sample[finite], out_sample[finite]
    if len(x) < 2 or np.ptp(x) == 0:
        return math.nan, math.nan
    slope, intercept = np.polyfit(x, y, 1)
    return float(slope), float(intercept)
