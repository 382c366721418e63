"""One backtest, end to end: config → data → strategy → simulation → metrics.

The benchmark is simulated with the same execution settings (fees, fills) as
a buy-and-hold of one symbol, so strategy and benchmark pay the same costs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.data.calendar import sessions_per_year
from engine.config.run_config import RunConfig
from engine.data.dataset import Dataset
from engine.hedges.book import HedgeBook, needs_positions, simulate_hedge_books, total_equity
from engine.hedges.pricing import HedgePricing
from engine.analysis.metrics import BenchmarkCurve, curves_metrics
from engine.sim.compile_ahead import Ahead, start as start_compiling
from engine.sim.simulate import ExecutionSettings, SimResult, simulate
from engine.sim.rule_layout import KernelRules
from engine.sim.held_book import simulate_held
from engine.run.run_data import load_run_data, rule_groups
from strategies import registry
from strategies.pipeline import PipelineResult, run_pipeline
from strategies.staging import kernel_blocks


@dataclass(frozen=True)
class BacktestResult:
    config: RunConfig
    data: Dataset
    targets: pd.DataFrame
    strategy: SimResult
    benchmark: SimResult | None
    metrics: dict
    activity: pd.DataFrame | None = None  # rule-activity log (rules.parquet); None for a baseline strategy
    hedges: HedgeBook | None = None  # option overlays (hedges.parquet); None without hedges

    @property
    def equity(self) -> pd.Series:
        """Total equity, on which every metric is computed: the stock book plus any hedge book."""
        return total_equity(self.strategy.equity, self.hedges)


def run_backtest(config: RunConfig, data: Dataset | None = None,
                 pipeline: PipelineResult | None = None) -> BacktestResult:
    """``pipeline``: the config's run_pipeline result if already at hand (a sweep's base, engine.sweep.compare)."""
    data = data if data is not None else load_run_data(config)
    symbols = config.universe.symbols
    settings = ExecutionSettings(**config.execution.model_dump())
    pipeline = pipeline or run_pipeline(config.pipeline, data, symbols, rule_groups(config, data))
    targets = pipeline.targets
    result = _simulate_on(data, targets, settings, pipeline.kernel_rules)
    # a baseline strategy is a weighting alone: nothing for the rule-activity log to say
    activity = combined_activity(pipeline.activity, result.kernel_log) if config.rules is not None else None
    benchmark = benchmark_book(config, data, settings)
    ppy = sessions_per_year(config.data.calendar, data.sessions[0], data.sessions[-1])
    hedges = hedge_books(config, data, [result], ppy)[0]
    metrics = book_metrics(config, result, hedges, benchmark.equity if benchmark else None, ppy)
    return BacktestResult(config, data, targets, result, benchmark, metrics, activity, hedges)


def compiling_ahead(config: RunConfig) -> Ahead:
    """The kernels a run of ``config`` compiles that depend on no data (the order kernels, the loop, its rules'
    steps, the caps) compiled in a second process meanwhile (engine.sim.compile_ahead); ``with`` it around the run."""
    blocks = kernel_blocks(config.rules) if config.rules is not None else {}
    steps = [r.kernel for r in registry.rules() if r.kernel is not None and r.name in blocks]
    return start_compiling(steps, caps=getattr(config.rules, "caps", None) is not None, rules=config.rules is not None)


def benchmark_book(config: RunConfig, data: Dataset, settings: ExecutionSettings) -> SimResult | None:
    """Buy-and-hold of the config's benchmark with the strategy's execution settings (None without one)."""
    if config.benchmark is None:
        return None
    return _simulate_on(data, hold_one(data, config.benchmark), settings)


def hedge_books(config: RunConfig, data: Dataset, results: Sequence[SimResult], ppy: float,
                pricing: Sequence[HedgePricing] | None = None) -> list[HedgeBook | None]:
    """Each stock book's hedge book (None without hedges), all books at once (engine.hedges.book.
    simulate_hedge_books). A sweep's batch (engine.sweep.compare) passes its books and the hedges' prices it
    shares (engine.hedges.pricing.price_hedges); a single run passes its one book."""
    if not config.hedges:
        return [None] * len(results)
    positions = [result.weights.mul(result.equity, axis=0) if needs_positions(config.hedges) else None
                 for result in results]
    return simulate_hedge_books(config.hedges, data, [result.equity for result in results], positions,
                                calendar=config.data.calendar, periods_per_year=ppy, pricing=pricing)


def book_metrics(config: RunConfig, result: SimResult, hedges: HedgeBook | None,
                 benchmark: pd.Series | BenchmarkCurve | None, ppy: float) -> dict:
    """The metrics of the total book: the stock book plus its hedge book (hedge_books). A single run and a
    sweep (books_metrics) compute a variant's metrics the same way."""
    return books_metrics(config.risk_free, [result], [hedges], benchmark, ppy)[0]


def books_metrics(risk_free: float, results: Sequence[SimResult], hedges: Sequence[HedgeBook | None],
                  benchmark: pd.Series | BenchmarkCurve | None, ppy: float) -> list[dict]:
    """book_metrics of books on the same sessions and risk-free rate, all at once (engine.analysis.metrics.
    curves_metrics): a sweep's batch, which passes the benchmark's side once (benchmark_curve)."""
    index = results[0].equity.index
    curves = np.empty((len(index), len(results)), order="F")
    for k, (result, hedge) in enumerate(zip(results, hedges)):
        curves[:, k] = total_equity(result.equity, hedge).to_numpy()
    return curves_metrics(pd.DataFrame(curves, index=index, copy=False), periods_per_year=ppy,
                          benchmark_equity=benchmark, traded_notional=[result.traded_notional for result in results],
                          weights=[result.weight_values for result in results], risk_free=risk_free)


def combined_activity(pipeline_log: pd.DataFrame, kernel_log: pd.DataFrame) -> pd.DataFrame:
    """Pre-simulation rule decisions and in-simulation rule actions, in session order."""
    frames = [frame for frame in (pipeline_log, kernel_log[pipeline_log.columns]) if len(frame)]
    if not frames:
        return pipeline_log
    return pd.concat(frames, ignore_index=True).sort_values(["session", "symbol"], kind="stable", ignore_index=True)


def _simulate_on(data: Dataset, targets: pd.DataFrame, settings: ExecutionSettings,
                 rules: KernelRules | None = None) -> SimResult:
    """The book of ``targets``; without rules one bought once and held (the benchmark, a buy-and-hold
    baseline) is computed from prices (engine.sim.held_book), with no loop to compile for it."""
    symbols, open_, close = list(targets.columns), data.adjusted("open"), data.adjusted("close")
    if rules is None:
        return simulate_held(targets, open_[symbols], close[symbols], settings)
    return simulate(targets, open_[symbols], close[symbols], settings, rules)


def hold_one(data: Dataset, symbol: str) -> pd.DataFrame:
    """Targets that put everything in `symbol` on its first priced session, then never trade."""
    targets = pd.DataFrame(np.nan, index=data.sessions, columns=[symbol])
    first = data.close[symbol].first_valid_index()
    targets.loc[first, symbol] = 1.0
    return targets
