"""engine.analysis.pbo's compiled CSCV loop gives the winners, metrics and ranks of the numpy matrix products
it replaced (tests/pbo_reference.py), to the bit, on sweeps and on the cases that rank by a rule."""

from __future__ import annotations

import numpy as np
import pytest

from engine.analysis import pbo as pbo_module
from pbo_reference import winners


def _inputs(returns: np.ndarray, n_splits: int):
    block = len(returns) // n_splits
    sums, squares = pbo_module._block_sums(returns, n_splits, block)
    return pbo_module._combination_masks(n_splits).astype(float), sums, squares, block


def _assert_same(returns: np.ndarray, n_splits: int, metric: str) -> None:
    masks, sums, squares, block = _inputs(returns, n_splits)
    compiled = pbo_module._winners(masks, sums, squares, block, metric)
    for mine, theirs in zip(compiled, winners(masks, sums, squares, block, metric)):
        assert mine.dtype == theirs.dtype
        np.testing.assert_array_equal(mine, theirs)


def _sweep(sessions: int, variants: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    market = rng.normal(0.0003, 0.01, (sessions, 1))
    return np.asfortranarray(market + rng.normal(0.0, 0.004, (sessions, variants)))


@pytest.mark.parametrize("metric", ["sharpe", "mean"])
@pytest.mark.parametrize(("sessions", "variants", "n_splits", "seed"),
                         [(400, 2, 16, 1), (300, 51, 10, 2), (2514, 1001, 16, 3), (64, 7, 4, 4)])
def test_compiled_cscv_equals_the_matrix_products(sessions, variants, n_splits, seed, metric):
    _assert_same(_sweep(sessions, variants, seed), n_splits, metric)


def test_flat_tied_and_missing_columns_rank_as_the_matrix_products_rank_them():
    """Constant columns (no risk: ranked 0 or ±inf by the sign of the mean), exact duplicates (ties), a column
    of zeros, and a NaN in a block sum (a NaN mean: np.argmax takes the first NaN as the maximum; a Sharpe
    ratio without a finite variance ranks by the sign of the mean)."""
    returns = _sweep(160, 12, 5)
    returns[:, 3] = 0.001
    returns[:, 4] = -0.002
    returns[:, 5] = 0.0
    returns[:, 7] = returns[:, 6]
    _assert_same(returns, 8, "sharpe")
    masks, sums, squares, block = _inputs(returns, 8)
    sums[2, 9] = np.nan
    for metric in ("mean", "sharpe"):
        compiled = pbo_module._winners(masks, sums, squares, block, metric)
        for mine, theirs in zip(compiled, winners(masks, sums, squares, block, metric)):
            np.testing.assert_array_equal(mine, theirs)
        assert (compiled[0] == 9).any() == (metric == "mean")


def test_the_threads_share_out_the_combinations_without_changing_a_bit(monkeypatch):
    returns = _sweep(300, 40, 6)
    masks, sums, squares, block = _inputs(returns, 10)
    one = pbo_module._winners(masks, sums, squares, block, "sharpe")
    monkeypatch.setattr(pbo_module, "_PER_THREAD", 1)
    monkeypatch.setattr(pbo_module.numba.config, "NUMBA_NUM_THREADS", 5)
    for mine, theirs in zip(pbo_module._winners(masks, sums, squares, block, "sharpe"), one):
        np.testing.assert_array_equal(mine, theirs)
