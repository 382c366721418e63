"""Blocks of columns of a sessions × variants matrix, so a sweep's statistics stay within a memory budget.

The statistics of a sweep (bootstrap intervals, deflated Sharpe moments, PBO's block sums) are computed
column by column, so working on a few hundred variants at a time gives the same numbers, to the bit, as
the whole matrix at once while every temporary stays near ``CELLS`` floats however many variants run.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

CELLS = 2_000_000  # matrix cells (float64: 16 MB) a statistic's temporaries hold at once


def column_blocks(rows: int, columns: int) -> list[slice]:
    """Slices of consecutive columns, each about CELLS / ``rows`` wide and never a single column of several:
    a matrix product with one column takes another BLAS path (matrix × vector) whose last bits differ."""
    width = max(2, CELLS // max(1, rows))
    starts = list(range(0, columns, width))
    if len(starts) > 1 and columns - starts[-1] == 1:
        starts.pop()  # the last column joins the block before it
    return [slice(start, end) for start, end in zip(starts, [*starts[1:], columns])]


def by_columns(statistic: Callable[[np.ndarray], tuple[np.ndarray, ...]], values: np.ndarray,
               ) -> tuple[np.ndarray, ...]:
    """``statistic`` (a tuple of per-column arrays) of every column of ``values``, block by block."""
    parts = [statistic(values[:, block]) for block in column_blocks(len(values), values.shape[1])]
    return tuple(np.concatenate(arrays, axis=-1) for arrays in zip(*parts))
