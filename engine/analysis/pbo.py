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
from concurrent.futures import ThreadPoolExecutor
from itertools import combinations

import numba
import numpy as np
import pandas as pd

from engine.analysis import column_blocks
from engine.sim.kernel_cache import kernel

METRICS = ("sharpe", "mean")
_PER_THREAD = 64  # combinations a thread takes at least


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
    winner, is_all, oos_all, below, ties = _winners(_combination_masks(n_splits).astype(float), sums, squares,
                                                    block, metric)
    relative_rank = (below + (ties + 1) / 2.0) / (n_variants + 1)
    logits_all = np.log(relative_rank / (1.0 - relative_rank))
    slope, intercept = _degradation(is_all, oos_all)
    return PBOResult(
        pbo=float(np.mean(logits_all <= 0.0)),
        logits=logits_all,
        n_combinations=len(logits_all),
        is_best=is_all,
        oos_of_best=oos_all,
        degradation_slope=slope,
        degradation_intercept=intercept,
        prob_oos_loss=float(np.mean(oos_all < 0.0)),
    )


def _winners(masks: np.ndarray, sums: np.ndarray, squares: np.ndarray, block: int, metric: str):
    """Per combination (row of ``masks``): the in-sample winner, its in-sample and out-of-sample metric, and
    how many variants fall below and tie with it out of sample (_cscv_nb), the combinations shared out among
    numba's threads. Memory: five numbers per combination and four per variant and thread, no matrix."""
    n = len(masks)
    out = (np.zeros(n, dtype=np.int64), np.empty(n), np.empty(n), np.zeros(n, dtype=np.int64),
           np.zeros(n, dtype=np.int64))
    args = (masks, np.ascontiguousarray(sums), np.ascontiguousarray(squares), float(block), metric == "sharpe", *out)
    n_threads = max(1, min(numba.config.NUMBA_NUM_THREADS, n // _PER_THREAD))
    bounds = np.linspace(0, n, n_threads + 1).astype(np.int64)
    if n_threads == 1:
        _cscv_nb(0, n, *args)
    else:
        with ThreadPoolExecutor(n_threads) as pool:
            list(pool.map(lambda t: _cscv_nb(bounds[t], bounds[t + 1], *args), range(n_threads)))
    return out


@kernel(nogil=True)
def _cscv_nb(start, stop, masks, sums, squares, block, sharpe, winner, best, winner_oos, below, ties):
    """Combinations ``start`` to ``stop`` of _winners. A variant's in- and out-of-sample sums are its block
    sums weighted by the mask (1 in, 0 out) added in block order, as the matrix product ``mask @ sums`` on one
    BLAS thread adds them (tests/pbo_reference.py: the same bits); the in-sample winner is np.argmax's (the
    first maximum, a NaN first of all)."""
    n_splits, n_variants = sums.shape
    sums_in, squares_in = np.empty(n_variants), np.empty(n_variants)
    sums_out, squares_out = np.empty(n_variants), np.empty(n_variants)
    for c in range(start, stop):
        for j in range(n_variants):
            sums_in[j], squares_in[j], sums_out[j], squares_out[j] = 0.0, 0.0, 0.0, 0.0
        chosen = 0.0
        for k in range(n_splits):
            inside = masks[c, k]
            outside = 1.0 - inside
            chosen += inside
            for j in range(n_variants):
                sums_in[j] += inside * sums[k, j]
                squares_in[j] += inside * squares[k, j]
                sums_out[j] += outside * sums[k, j]
                squares_out[j] += outside * squares[k, j]
        in_count, out_count = chosen * block, (n_splits - chosen) * block
        top, value = 0, _metric_nb(sums_in[0], squares_in[0], in_count, sharpe)
        if value == value:
            for j in range(1, n_variants):
                candidate = _metric_nb(sums_in[j], squares_in[j], in_count, sharpe)
                if candidate != candidate or candidate > value:
                    top, value = j, candidate
                    if candidate != candidate:
                        break
        oos = _metric_nb(sums_out[top], squares_out[top], out_count, sharpe)
        lower, equal = 0, 0
        for j in range(n_variants):
            other = _metric_nb(sums_out[j], squares_out[j], out_count, sharpe)
            lower += other < oos
            equal += other == oos
        winner[c], best[c], winner_oos[c], below[c], ties[c] = top, value, oos, lower, equal


@kernel(inline="always")
def _metric_nb(sums, squares, count, sharpe):
    """Per-period Sharpe ratio (ddof=1; no variation ranks by the sign of the mean: 0 or ±inf) or mean
    return from a sum of ``count`` returns and of their squares."""
    mean = sums / count
    if not sharpe:
        return mean
    variance = squares - sums * mean
    if variance < 0.0:
        variance = 0.0
    variance = variance / (count - 1.0)
    if variance > 0.0:
        return mean / np.sqrt(variance)
    return np.inf if mean > 0.0 else -np.inf if mean < 0.0 else 0.0


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


def _degradation(in_sample: np.ndarray, out_sample: np.ndarray) -> tuple[float, float]:
    """Least-squares slope and intercept of out-of-sample on in-sample metric (NaN if undefined)."""
    finite = np.isfinite(in_sample) & np.isfinite(out_sample)
    x, y = in_sample[finite], out_sample[finite]
    if len(x) < 2 or np.ptp(x) == 0:
        return math.nan, math.nan
    slope, intercept = np.polyfit(x, y, 1)
    return float(slope), float(intercept)
