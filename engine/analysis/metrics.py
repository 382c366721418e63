"""Performance metrics of one equity curve, optionally against a benchmark.

Returns are the simple session-to-session returns of ``equity`` (portfolio value
at each session close); the first session has none, so ``n = sessions − 1``.
``ppy`` is ``periods_per_year``; ``risk_free`` is an annual rate turned into a
per-session rate ``rf = (1 + risk_free) ** (1 / ppy) − 1``. Ratios follow
empyrical's definitions so they can be checked against it. Every value is a
plain ``float``/``int``/``str`` or ``None`` (undefined, e.g. NaN or a division by
zero volatility), unrounded: reports round.

Keys (units):

- ``start``, ``end``: first and last session, ISO date strings.
- ``sessions``: number of sessions (int). ``final_equity``: last equity value (currency).
- ``total_return``: final / first − 1 (fraction).
- ``cagr``: (1 + total_return) ** (ppy / n) − 1 (fraction per year).
- ``volatility``: std of returns (ddof=1) × √ppy (fraction per year).
- ``sharpe``: mean(r − rf) / std(r − rf) × √ppy; None if returns are constant.
- ``sortino``: mean(r) × ppy / (√mean(min(r, 0)²) × √ppy), target 0, downside
  deviation over all observations (empyrical); None without a losing session.
- ``max_drawdown``: deepest fall from a running high (negative fraction, 0.0 if none).
- ``max_drawdown_peak``, ``max_drawdown_trough``, ``max_drawdown_recovery``: ISO
  dates of that drawdown (None without a drawdown; recovery None if not recovered).
- ``max_drawdown_sessions``: sessions from its peak to its recovery, or to the
  last session if not recovered (int; 0 without a drawdown).
- ``calmar``: cagr / |max_drawdown|; None without a drawdown.
- ``hit_rate``: share of positive returns among non-zero returns (fraction).
- ``best_day``, ``worst_day``: largest and smallest session return (fraction).

With ``traded_notional`` (the traded value of each fill, currency):

- ``turnover``: one-way turnover per year, Σ|notional| / 2 / mean(equity) × ppy / n (times per year).

With ``weights`` (sessions × symbols, fraction of equity; NaN counts as 0), over its rows:

- ``exposure``: mean gross exposure Σ|w| (fraction of equity).
- ``avg_names``: mean count of non-zero positions.

With ``benchmark_equity`` (a Series, or a BenchmarkCurve from benchmark_curve, prepared once for
many curves on the same sessions, as a sweep does). The strategy's own metrics above never depend on
it. The benchmark is aligned to the strategy's sessions: dates outside them
are ignored, sessions it lacks are skipped, and both curves' returns are taken
between the common sessions (a return across a skipped session spans the same
dates for both). Relative metrics use those paired returns:

- ``benchmark_total_return``, ``benchmark_cagr`` (annualised over the strategy
  sessions spanned by the common ones), ``benchmark_volatility``,
  ``benchmark_sharpe``, ``benchmark_sortino``, ``benchmark_max_drawdown``,
  ``benchmark_max_drawdown_sessions``, ``benchmark_calmar``, ``benchmark_hit_rate``,
  ``benchmark_best_day``, ``benchmark_worst_day``: as above, for the benchmark.
- ``beta``: cov(r, b) / var(b), population moments (empyrical).
- ``alpha``: (1 + mean((r − rf) − beta × (b − rf))) ** ppy − 1 (fraction per year, empyrical).
- ``correlation``: Pearson correlation of r and b.
- ``tracking_error``: std(r − b) (ddof=1) × √ppy (fraction per year).
- ``information_ratio``: mean(r − b) × ppy / tracking_error.
- ``active_return``: cagr − benchmark_cagr (fraction per year).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.analysis.drawdowns import drawdown_table, equity_values, worst_episode
from engine.analysis.ratios import per_period_sharpe, sharpe_ratio

__all__ = ["BenchmarkCurve", "benchmark_curve", "compute_metrics", "curves_metrics", "drawdown_table"]

Metrics = dict[str, float | int | str | None]


def compute_metrics(
    equity: pd.Series,
    *,
    periods_per_year: float,
    benchmark_equity: pd.Series | BenchmarkCurve | None = None,
    traded_notional: np.ndarray | pd.Series | None = None,
    weights: pd.DataFrame | np.ndarray | None = None,
    risk_free: float = 0.0,
) -> Metrics:
    """All metrics of ``equity`` (see the module docstring for keys and units)."""
    if not isinstance(equity, pd.Series):
        equity_values(equity)  # raises: says what equity must be
    return curves_metrics(equity.to_frame(), periods_per_year=periods_per_year, benchmark_equity=benchmark_equity,
                          traded_notional=None if traded_notional is None else [traded_notional],
                          weights=None if weights is None else [weights], risk_free=risk_free)[0]


def curves_metrics(
    curves: pd.DataFrame,
    *,
    periods_per_year: float,
    benchmark_equity: pd.Series | BenchmarkCurve | None = None,
    traded_notional: Sequence[np.ndarray | pd.Series] | None = None,
    weights: Sequence[pd.DataFrame | np.ndarray] | None = None,
    risk_free: float = 0.0,
) -> list[Metrics]:
    """compute_metrics of each column of ``curves`` (``traded_notional``, ``weights``: one per column), all
    columns in one pass: a sweep's batch of books costs a few numpy calls, not a few per book. numpy reduces
    each column of a Fortran-ordered matrix as it reduces one series, so every number is the bits of the
    column alone (tests/test_metrics.py checks it against each column's own metrics)."""
    if not (math.isfinite(periods_per_year) and periods_per_year > 0):
        raise ValueError(f"periods_per_year must be a positive number, got {periods_per_year}")
    values = _curve_values(curves)
    returns = simple_returns(values)
    rf = _session_rate(risk_free, periods_per_year)
    n_curves, index = values.shape[1], curves.index
    table: dict = {
        "start": [_iso(index[0])] * n_curves,
        "end": [_iso(index[-1])] * n_curves,
        "sessions": [len(values)] * n_curves,
        "final_equity": values[-1],
    }
    table.update(_curve_metrics(values, returns, len(returns), periods_per_year, rf))
    drawdowns = [_drawdown_metrics(index, values[:, k], table["cagr"][k]) for k in range(n_curves)]
    table.update({key: [row[key] for row in drawdowns] for key in drawdowns[0]})
    table["hit_rate"] = _hit_rate(returns)
    table["best_day"], table["worst_day"] = returns.max(axis=0), returns.min(axis=0)
    if traded_notional is not None:
        table["turnover"] = [_turnover(notional, values[:, k], periods_per_year)
                             for k, notional in enumerate(traded_notional)]
    if weights is not None:
        exposures = [_exposure(held) for held in weights]
        table.update({key: [row[key] for row in exposures] for key in exposures[0]})
    if benchmark_equity is not None:
        table.update(_benchmark_metrics(index, values, benchmark_equity, table["cagr"], periods_per_year, rf))
    return [{key: _plain(column[k]) for key, column in table.items()} for k in range(n_curves)]


def _curve_values(curves: pd.DataFrame) -> np.ndarray:
    """The curves as a Fortran-ordered float matrix, each checked as equity_values checks one (the same
    error for the first bad column)."""
    if curves.shape[1] == 0:
        raise ValueError("no equity curve to compute metrics of")
    equity_values(curves.iloc[:, 0])  # the index, the length and the first curve
    values = np.asfortranarray(curves.to_numpy(dtype=float, na_value=np.nan))
    bad = ~(np.isfinite(values) & (values > 0))
    if bad.any():
        equity_values(curves.iloc[:, int(np.argmax(bad.any(axis=0)))])  # raises, naming the session
    return values


def _session_rate(risk_free: float, ppy: float) -> float:
    return (1.0 + risk_free) ** (1.0 / ppy) - 1.0


def simple_returns(values: np.ndarray) -> np.ndarray:
    """Session returns of equity values (rows are sessions; any columns), without a frame."""
    return values[1:] / values[:-1] - 1.0


def _curve_metrics(values: np.ndarray, returns: np.ndarray, periods: int, ppy: float, rf: float) -> dict:
    """Return and risk of each column of ``values`` (sessions x curves, Fortran-ordered); ``periods`` is the
    number of sessions they span."""
    growth = values[-1] / values[0]
    return {
        "total_return": growth - 1.0,
        "cagr": [_compound(g, ppy / periods) - 1.0 for g in growth],
        "volatility": _annual_std(returns, ppy),
        "sharpe": _sharpe(returns - rf, ppy),
        "sortino": _sortino(returns, ppy),
    }


def _sharpe(returns: np.ndarray, ppy: float) -> np.ndarray:
    """ratios.sharpe_ratio of each column (finite returns are the rule: a column with others alone)."""
    if np.isfinite(returns).all():
        if len(returns) < 2:
            return np.full(returns.shape[1], math.nan)
        return per_period_sharpe(returns) * math.sqrt(ppy)
    return np.array([sharpe_ratio(returns[:, k], ppy) for k in range(returns.shape[1])])


def _hit_rate(returns: np.ndarray) -> list[float | None]:
    nonzero, positive = np.count_nonzero(returns, axis=0), np.count_nonzero(returns > 0, axis=0)
    return [int(up) / int(moved) if moved else None for up, moved in zip(positive, nonzero)]


def _compound(growth: float, times: float) -> float:
    """growth ** times, inf (reported as None) instead of OverflowError on short explosive series."""
    with np.errstate(over="ignore"):
        return float(np.power(growth, times))


def _annual_std(returns: np.ndarray, ppy: float) -> np.ndarray:
    if len(returns) < 2:
        return np.full(returns.shape[1], math.nan)
    return np.std(returns, axis=0, ddof=1) * math.sqrt(ppy)


def _sortino(returns: np.ndarray, ppy: float) -> list[float]:
    if len(returns) < 2:
        return [math.nan] * returns.shape[1]
    squares, means = np.mean(np.square(np.minimum(returns, 0.0)), axis=0), np.mean(returns, axis=0)
    downside = [math.sqrt(float(square)) * math.sqrt(ppy) for square in squares]
    return [float(mean) * ppy / down if down > 0 else math.nan for mean, down in zip(means, downside)]


def _drawdown_metrics(index: pd.DatetimeIndex, values: np.ndarray, cagr: float) -> dict:
    worst = worst_episode(values)
    if worst is None:
        return {
            "max_drawdown": 0.0, "max_drawdown_peak": None, "max_drawdown_trough": None,
            "max_drawdown_recovery": None, "max_drawdown_sessions": 0, "calmar": None,
        }  # fmt: skip
    end = worst.recovery if worst.recovery is not None else len(values) - 1
    return {
        "max_drawdown": worst.depth,
        "max_drawdown_peak": _iso(index[worst.peak]),
        "max_drawdown_trough": _iso(index[worst.trough]),
        "max_drawdown_recovery": _iso(index[worst.recovery]) if worst.recovery is not None else None,
        "max_drawdown_sessions": end - worst.peak,
        "calmar": cagr / abs(worst.depth),
    }


def _turnover(traded_notional: np.ndarray | pd.Series, values: np.ndarray, ppy: float) -> float:
    notional = np.asarray(traded_notional, dtype=float)
    if np.isnan(notional).any():
        raise ValueError("traded_notional has missing values; fix: give every fill its traded value")
    return float(np.abs(notional).sum()) / 2.0 / float(np.mean(values)) * ppy / (len(values) - 1)


def _exposure(weights: pd.DataFrame | np.ndarray) -> dict:
    held = np.asarray(weights, dtype=float)
    missing = np.isnan(held)
    if missing.any():  # copied only when needed: a sweep asks once per book of sessions x names
        held = np.where(missing, 0.0, held)
    if held.shape[0] == 0:
        return {"exposure": None, "avg_names": None}
    return {
        "exposure": float(np.abs(held).sum(axis=1).mean()),
        "avg_names": float(np.count_nonzero(held, axis=1).mean()),
    }


@dataclass(frozen=True)
class BenchmarkCurve:
    """The benchmark's side of the relative metrics on a strategy's sessions: the same for every curve on
    those sessions, so a sweep computes it once (benchmark_curve) instead of once per variant."""

    sessions: pd.DatetimeIndex
    periods_per_year: float
    rf: float
    common: np.ndarray  # positions of the sessions where the benchmark has a value
    returns: np.ndarray  # its returns between them
    own: dict  # the benchmark_* metrics


def benchmark_curve(benchmark: pd.Series, sessions: pd.DatetimeIndex, *, periods_per_year: float,
                    risk_free: float = 0.0) -> BenchmarkCurve:
    """The benchmark on ``sessions`` (compute_metrics' ``benchmark_equity``, prepared once)."""
    return _prepared(benchmark, sessions, periods_per_year, _session_rate(risk_free, periods_per_year))


def _prepared(benchmark: pd.Series, sessions: pd.DatetimeIndex, periods_per_year: float, rf: float) -> BenchmarkCurve:
    on_sessions = _benchmark_on_sessions(benchmark, sessions)
    common = np.flatnonzero(on_sessions.notna().to_numpy())
    if len(common) < 2:
        raise ValueError(
            f"benchmark_equity shares {len(common)} session(s) with equity; relative metrics need at least 2. "
            "Fix: give a benchmark covering the backtest period"
        )
    bench = on_sessions.to_numpy(dtype=float)[common]
    returns = simple_returns(bench)
    curve = {key: column[0] for key, column in
             _curve_metrics(bench[:, None], returns[:, None], int(common[-1] - common[0]), periods_per_year, rf).items()}
    drawdown = _drawdown_metrics(sessions[common], bench, curve["cagr"])
    own = {
        "benchmark_total_return": curve["total_return"],
        "benchmark_cagr": curve["cagr"],
        "benchmark_volatility": curve["volatility"],
        "benchmark_sharpe": curve["sharpe"],
        "benchmark_sortino": curve["sortino"],
        "benchmark_max_drawdown": drawdown["max_drawdown"],
        "benchmark_max_drawdown_sessions": drawdown["max_drawdown_sessions"],
        "benchmark_calmar": drawdown["calmar"],
        "benchmark_hit_rate": _hit_rate(returns[:, None])[0],
        "benchmark_best_day": float(returns.max()),
        "benchmark_worst_day": float(returns.min()),
    }
    return BenchmarkCurve(sessions, periods_per_year, rf, common, returns, own)


def _benchmark_metrics(index: pd.DatetimeIndex, values: np.ndarray, benchmark: pd.Series | BenchmarkCurve,
                       cagr: list[float], ppy: float, rf: float) -> dict:
    """Benchmark and relative metrics of each curve on the sessions where the benchmark has a value."""
    if not isinstance(benchmark, BenchmarkCurve):
        benchmark = _prepared(benchmark, index, ppy, rf)
    elif (benchmark.periods_per_year, benchmark.rf) != (ppy, rf) or not benchmark.sessions.equals(index):
        raise ValueError("benchmark_equity was prepared for other sessions, periods_per_year or risk_free")
    bench_returns, n_curves = benchmark.returns, values.shape[1]
    on_common = values if len(benchmark.common) == len(values) else np.asfortranarray(values[benchmark.common])
    strategy_returns = simple_returns(on_common)
    beta = _beta(strategy_returns, bench_returns)
    active = strategy_returns - bench_returns[:, None]
    excess = np.mean((strategy_returns - rf) - beta * (bench_returns - rf)[:, None], axis=0)
    return {
        **{key: [value] * n_curves for key, value in benchmark.own.items()},
        "beta": beta,
        "alpha": [_compound(1.0 + float(mean), ppy) - 1.0 for mean in excess],
        "correlation": [_correlation(strategy_returns[:, k], bench_returns) for k in range(n_curves)],
        "tracking_error": _annual_std(active, ppy),
        "information_ratio": _sharpe(active, ppy),  # = mean × ppy / tracking_error
        "active_return": [growth - benchmark.own["benchmark_cagr"] for growth in cagr],
    }


def _benchmark_on_sessions(benchmark: pd.Series, sessions: pd.DatetimeIndex) -> pd.Series:
    """The benchmark's values on the strategy's sessions (NaN where it has none)."""
    if not isinstance(benchmark, pd.Series) or not isinstance(benchmark.index, pd.DatetimeIndex):
        raise ValueError("benchmark_equity must be a pandas Series with a DatetimeIndex of sessions")
    present = benchmark.astype(float).dropna()
    if not present.index.is_unique:
        raise ValueError("benchmark_equity has duplicate sessions; fix: keep one value per session")
    if (present <= 0).any() or not np.isfinite(present.to_numpy()).all():
        raise ValueError("benchmark_equity must be finite and positive; fix: repair or drop the bad sessions")
    return present.reindex(sessions)


def _beta(returns: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """cov / var of each column of ``returns`` with population moments; NaN for a flat factor (empyrical's
    convention)."""
    residual = factor - np.mean(factor)
    variance = float(np.mean(np.square(residual)))
    if not variance >= 1e-30:
        return np.full(returns.shape[1], math.nan)
    return np.mean(residual[:, None] * returns, axis=0) / variance


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson's r (np.corrcoef's, without its 2 x 2 matrix: a sweep asks once per variant)."""
    if len(a) < 2 or a.max() == a.min() or b.max() == b.min():
        return math.nan
    a, b = a - np.mean(a), b - np.mean(b)
    return float(np.clip(a @ b / math.sqrt(float(a @ a) * float(b @ b)), -1.0, 1.0))


def _iso(session: pd.Timestamp) -> str:
    return session.date().isoformat()


def _plain(value: object) -> float | int | str | None:
    """JSON-ready scalar: numpy numbers become Python ones, NaN and ±inf become None."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    number = float(value)
    return number if math.isfinite(number) else None
