"""A sweep's batch of curves through curves_metrics gives each curve the bits of its own metrics, and those
bits are numpy's reductions of the one series (engine.analysis.metrics computes column by column)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from engine.analysis.drawdowns import worst_episode
from engine.analysis.metrics import benchmark_curve, compute_metrics, curves_metrics
from engine.analysis.ratios import per_period_sharpe

PPY = 252.0


def _curves(sessions: int = 400, n: int = 9, seed: int = 0) -> pd.DataFrame:
    """Random books plus the edge cases: flat (no risk, no drawdown), only rising, one deep fall unrecovered."""
    rng = np.random.default_rng(seed)
    returns = rng.normal(0.0004, 0.012, (sessions, n))
    returns[:, 1] = 0.0
    returns[:, 2] = np.abs(returns[:, 2])
    returns[sessions // 2:, 3] = -0.004
    values = 1e6 * np.cumprod(np.vstack([np.ones(n), 1.0 + returns]), axis=0)
    return pd.DataFrame(values, index=pd.bdate_range("2020-01-01", periods=sessions + 1),
                        columns=[f"v{k}" for k in range(n)])


def _same(a: dict, b: dict) -> bool:
    return list(a) == list(b) and all(a[key] == b[key] for key in a)


@pytest.mark.parametrize("risk_free", [0.0, 0.03])
@pytest.mark.parametrize("gaps", [False, True])
def test_each_column_of_a_batch_has_the_bits_of_its_own_metrics(risk_free, gaps):
    curves = _curves()
    rng = np.random.default_rng(1)
    bench = pd.Series(1e6 * np.cumprod(1 + rng.normal(3e-4, 0.01, len(curves))), index=curves.index)
    if gaps:  # a benchmark missing sessions: the relative metrics pair returns over the common ones
        bench = bench.drop(bench.index[[0, 7, 8, 200]])
    notional = [rng.random(30) * 1e4 for _ in curves.columns]
    weights = [np.where(rng.random((len(curves), 4)) < 0.2, np.nan, rng.random((len(curves), 4))) for _ in curves]
    prepared = benchmark_curve(bench, curves.index, periods_per_year=PPY, risk_free=risk_free)
    batch = curves_metrics(curves, periods_per_year=PPY, benchmark_equity=prepared, traded_notional=notional,
                           weights=weights, risk_free=risk_free)
    for k, name in enumerate(curves.columns):
        alone = compute_metrics(curves[name], periods_per_year=PPY, benchmark_equity=bench,
                                traded_notional=notional[k], weights=weights[k], risk_free=risk_free)
        assert _same(batch[k], alone), name


def test_the_numbers_are_numpys_reductions_of_the_one_series():
    """Independent of the batch code: each curve's volatility, Sharpe, Sortino and drawdown equal the plain
    one-dimensional numpy formulas exactly (a matrix reduced in the wrong order would differ in the last bits)."""
    curves = _curves(sessions=2513, n=6, seed=3)
    batch = curves_metrics(curves, periods_per_year=PPY, risk_free=0.03)
    rf = 1.03 ** (1 / PPY) - 1
    for k, name in enumerate(curves.columns):
        values = curves[name].to_numpy()
        returns = values[1:] / values[:-1] - 1.0
        metrics = batch[k]
        if k == 1:  # flat: no risk, no drawdown
            assert metrics["volatility"] == 0.0 and metrics["sharpe"] is None and metrics["max_drawdown"] == 0.0
            continue
        assert metrics["volatility"] == float(np.std(returns, ddof=1)) * math.sqrt(PPY)
        assert metrics["sharpe"] == float(per_period_sharpe(returns - rf)) * math.sqrt(PPY)
        downside = math.sqrt(float(np.mean(np.square(np.minimum(returns, 0.0))))) * math.sqrt(PPY)
        assert metrics["sortino"] == (float(np.mean(returns)) * PPY / downside if downside > 0 else None)
        worst = worst_episode(values)
        assert metrics["max_drawdown"] == (worst.depth if worst is not None else 0.0)


def test_a_bad_column_names_its_session_as_one_curve_does():
    curves = _curves(n=5)
    curves.iloc[10, 2] = -1.0
    with pytest.raises(ValueError, match=f"session {curves.index[10].date()} has -1.0"):
        curves_metrics(curves, periods_per_year=PPY)
