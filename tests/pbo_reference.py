"""engine.analysis.pbo's CSCV winners as numpy matrix products, the way rulebook computed them before its
compiled loop: an independent reference the loop must match to the bit (tests/test_pbo_kernel.py)."""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from engine.analysis import column_blocks
from engine.analysis.ratios import sharpe_from_moments

CHUNK = 2048  # combinations evaluated at once


def winners(masks: np.ndarray, sums: np.ndarray, squares: np.ndarray, block: int, metric: str):
    """(winner, in-sample metric of it, its out-of-sample metric, variants below it, variants tied with it)
    per combination (row of ``masks``), in chunks of combinations and blocks of variants."""
    parts = []
    with threadpool_limits(1, user_api="blas"):  # one BLAS thread adds a product's terms in order
        for start in range(0, len(masks), CHUNK):
            parts.append(_chunk(masks[start:start + CHUNK], sums, squares, block, metric))
    return tuple(np.concatenate(arrays) for arrays in zip(*parts))


def _chunk(mask, sums, squares, block, metric):
    rest = 1.0 - mask
    in_count, out_count = mask.sum(axis=1, keepdims=True) * block, rest.sum(axis=1, keepdims=True) * block
    rows = np.arange(len(mask))
    blocks = column_blocks.column_blocks(len(mask), sums.shape[1])

    def metric_of(weights, count, columns):
        return metric_values(weights @ sums[:, columns], weights @ squares[:, columns], count, metric)

    winner, best = np.zeros(len(mask), dtype=np.int64), np.full(len(mask), np.nan)
    for k, columns in enumerate(blocks):  # np.argmax over all columns: the first maximum, a NaN first of all
        in_sample = metric_of(mask, in_count, columns)
        arg = np.argmax(in_sample, axis=1)
        value = in_sample[rows, arg]
        better = np.ones(len(mask), dtype=bool) if k == 0 else ~np.isnan(best) & (np.isnan(value) | (value > best))
        winner, best = np.where(better, arg + columns.start, winner), np.where(better, value, best)
    distinct = np.unique(winner)  # two columns at least: a one-column product takes BLAS's matrix-vector path
    columns = distinct if len(distinct) > 1 else np.unique([distinct[0], (distinct[0] + 1) % sums.shape[1]])
    winner_oos = metric_of(rest, out_count, columns)[rows, np.searchsorted(columns, winner)]
    below, ties = np.zeros(len(mask), dtype=np.int64), np.zeros(len(mask), dtype=np.int64)
    for columns in blocks:
        out_sample = metric_of(rest, out_count, columns)
        below += (out_sample < winner_oos[:, None]).sum(axis=1)
        ties += (out_sample == winner_oos[:, None]).sum(axis=1)
    return winner, best, winner_oos, below, ties


def metric_values(sums: np.ndarray, squares: np.ndarray, count: np.ndarray, metric: str) -> np.ndarray:
    """Per-period mean or Sharpe ratio (ddof=1) from sums of returns and of squared returns, elementwise."""
    mean = sums / count
    if metric == "mean":
        return mean
    variance = np.maximum(squares - sums * mean, 0.0) / (count - 1)
    ratio = sharpe_from_moments(mean, variance, 0.0)
    flat = ~(variance > 0)  # no risk: ranked by the sign of the mean
    ratio[flat] = np.where(mean[flat] > 0, np.inf, np.where(mean[flat] < 0, -np.inf, 0.0))
    return ratio
