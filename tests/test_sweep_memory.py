"""A sweep's statistics work on blocks of variants: the same bits as the whole matrix, memory set by the block."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest

from engine.analysis import column_blocks
from engine.analysis.pbo import pbo
from engine.analysis.variant_stats import compare_statistics, matrix_statistics


def sweep_returns(sessions: int, variants: int, seed: int = 1) -> np.ndarray:
    """Returns of ``variants`` books sharing a market factor (as a sweep's do), each variant's column contiguous."""
    rng = np.random.default_rng(seed)
    market = rng.normal(0.0003, 0.01, (sessions, 1))
    return np.asfortranarray(market + rng.normal(0.0, 0.004, (sessions, variants)))


@pytest.mark.parametrize("columns_per_block", [2, 7])
def test_statistics_by_blocks_of_columns_equal_the_whole_matrix_to_the_bit(monkeypatch, columns_per_block):
    """51 variants (an odd count: a one-column remainder joins the block before it) in blocks of 2 or 7 give
    the intervals, deflated Sharpe ratios and PBO of all at once, and compare_statistics' frame, to the bit."""
    returns = sweep_returns(400, 51)
    names = ["base"] + [f"v{k}" for k in range(1, 51)]
    whole_stats, whole_pbo = matrix_statistics(returns, names, 252.0), pbo(returns)
    monkeypatch.setattr(column_blocks, "CELLS", columns_per_block * len(returns))
    assert all(block.stop - block.start >= 2 for block in column_blocks.column_blocks(len(returns), 51))
    stats, overfitting = matrix_statistics(returns, names, 252.0), pbo(returns)
    pd.testing.assert_frame_equal(stats, whole_stats, check_exact=True)
    frame = pd.DataFrame(returns, columns=names)
    pd.testing.assert_frame_equal(compare_statistics(frame[names[::-1]], "base", 252.0), whole_stats.loc[names[::-1]],
                                  check_exact=True)
    for field in ("logits", "is_best", "oos_of_best"):
        np.testing.assert_array_equal(getattr(overfitting, field), getattr(whole_pbo, field))
    assert overfitting.pbo == whole_pbo.pbo


def _peak_bytes(run) -> int:
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        run()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def test_the_statistics_memory_is_set_by_the_block_not_by_the_variant_count(monkeypatch):
    """2,000 variants × 250 sessions in blocks of 40 columns: each statistic's peak stays under the bound of
    the bootstrap's resample table, a KB per variant and the block's temporaries. The bootstrap on the whole
    matrix at once breaks the same bound several times over (the guard can fail); the PBO stays under it."""
    sessions, variants, n_boot = 250, 2000, 400
    returns = sweep_returns(sessions, variants)
    names = ["base"] + [f"v{k}" for k in range(1, variants)]
    cells = 40 * sessions
    bound = 3 * n_boot * sessions * 8 + 1_000 * variants + 32 * cells * 8 + 1_000_000

    def statistics():
        matrix_statistics(returns, names, 252.0, n_boot=n_boot)

    def overfitting():
        pbo(returns, n_splits=10)

    monkeypatch.setattr(column_blocks, "CELLS", cells)
    assert _peak_bytes(statistics) < bound and _peak_bytes(overfitting) < bound
    monkeypatch.setattr(column_blocks, "CELLS", sessions * variants)  # one block: what the sweep did before
    assert _peak_bytes(statistics) > 3 * bound
    assert _peak_bytes(overfitting) < bound  # the PBO's compiled loop holds no combinations x variants matrix
