"""Run every variant of a config, fast: shared data, shared pipelines, one simulation per batch.

Variants are sorted so that those sharing data, execution settings and regime caps sit
together, then cut into chunks (memory-bounded). In a chunk:

- the dataset is loaded once per distinct data section (cached per process);
- the stateless pipeline (selection → screen → weighting → events → regime → caps) runs once
  per distinct stateless rules config (cached per process): variants that differ only in
  path-dependent rules reuse it and only recompile their kernel rules (a baseline strategy is
  a pipeline of one weighting);
- every batch of variants with equal data, execution and regime runs in ONE compiled
  simulation (engine.sim.simulate.simulate_many: columns = variants × names, one cash account each,
  variants in parallel threads).

Each variant's metrics equal a single ``run_backtest`` of its config (tests/test_compare.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from engine.data.calendar import sessions_per_year
from engine.config.run_config import RunConfig, resolved_data_dir, to_yaml
from engine.data.loader import dataset_files, fingerprint
from engine.data.dataset import Dataset
from engine.sweep.executors import Done, LocalExecutor
from engine.analysis.metrics import benchmark_curve, simple_returns
from engine.hedges.book import HedgeBook, total_equity
from engine.hedges.pricing import HedgePricing, price_hedges
from engine.run.backtest import BacktestResult, benchmark_book, books_metrics, hedge_books
from engine.run.run_data import load_run_data, rule_groups
from engine.run.files import read_file, write_file, write_tables
from engine.run.folder import save_run
from engine.sim.simulate import ExecutionSettings, SimResult, simulate_many
from engine.config.variants import BASE, Variant
from strategies.pipeline import PipelineResult, Uncapped, capped_targets, standing_targets
from strategies import registry
from strategies.staging import kernel_blocks, kernel_params

CELL_BUDGET = 2_000_000  # sessions × names × variants simulated at once by default (~16 MB per array)

_DATASETS: dict[str, Dataset] = {}
_PIPELINES: dict[str, PipelineResult] = {}
_UNCAPPED: dict[str, Uncapped] = {}
_BENCHMARKS: dict[str, SimResult | None] = {}
_FINGERPRINTS: dict[str, str] = {}
_PRICING: dict[str, list[HedgePricing]] = {}


@dataclass(frozen=True)
class VariantOutcome:
    name: str
    metrics: dict
    equity: pd.Series  # total equity at each session close (stock book plus hedges)
    costs: float = 0.0  # fees and slippage paid over the run (stock book and hedges), in cash


def run_variants(variants: list[Variant], *, executor=None, chunk: int | None = None,
                 done: Done = lambda n: None) -> list[VariantOutcome]:
    """Outcomes of ``variants`` in their order, computed chunk by chunk on ``executor`` (default: local)."""
    executor = executor or LocalExecutor()
    keyed = sorted(((batch_digest(v), v) for v in variants), key=lambda pair: pair[0])  # stable: keeps the order
    size = chunk or default_chunk(variants[0].config, len(variants))
    chunks = [keyed[i:i + size] for i in range(0, len(keyed), size)]
    by_name = {outcome.name: outcome for part in executor.map(run_chunk, chunks, done) for outcome in part}
    return [by_name[v.name] for v in variants]


def default_chunk(config: RunConfig, n_variants: int) -> int:
    """Variants per simulation so that one simulation holds about CELL_BUDGET cells."""
    data = dataset(config)
    return max(1, min(n_variants, CELL_BUDGET // (len(data.sessions) * len(config.universe.symbols))))


def run_chunk(keyed: list[tuple[str, Variant]]) -> list[VariantOutcome]:
    """Each variant's outcome; variants of one batch (equal batch_digest) are simulated together."""
    batches: dict[str, list[Variant]] = {}
    for digest, variant in keyed:
        batches.setdefault(digest, []).append(variant)
    return [outcome for batch in batches.values() for outcome in _run_batch(batch)]


def _run_batch(variants: list[Variant]) -> list[VariantOutcome]:
    """Variants with equal data, execution and regime: one simulation for all of them."""
    first = variants[0].config
    key = data_key(first)  # equal for the whole batch
    data = dataset(first, key)
    symbols = first.universe.symbols
    books = [_book(variant.config, data, key) for variant in variants]
    kernels = [kernel for _, kernel in books]
    results = simulate_many(
        [targets for targets, _ in books], data.adjusted("open")[symbols], data.adjusted("close")[symbols],
        _settings(first), None if kernels[0] is None else kernels, keep_log=False)
    benchmark = _benchmark(first, data)
    ppy = sessions_per_year(first.data.calendar, data.sessions[0], data.sessions[-1])
    pricing = _cached(_PRICING, key,  # the data key holds the hedges: one pricing per key
                      lambda: price_hedges(first.hedges, data, calendar=first.data.calendar, periods_per_year=ppy))
    hedges = hedge_books(first, data, results, ppy, pricing)
    rates: dict[float, list[int]] = {}  # the books of each risk-free rate (a variant may sweep it)
    for k, variant in enumerate(variants):
        rates.setdefault(variant.config.risk_free, []).append(k)
    metrics: dict[int, dict] = {}
    for rate, books in rates.items():
        curve = None if benchmark is None else benchmark_curve(benchmark.equity, results[0].equity.index,
                                                                periods_per_year=ppy, risk_free=rate)
        metrics.update(zip(books, books_metrics(rate, [results[k] for k in books], [hedges[k] for k in books],
                                                curve, ppy)))
    return [VariantOutcome(variant.name, metrics[k], total_equity(result.equity, hedge),
                           costs_paid(result, variant.config.execution.slippage_bps, hedge))
            for k, (variant, result, hedge) in enumerate(zip(variants, results, hedges))]


def costs_paid(result: SimResult, slippage_bps: float, hedges: HedgeBook | None) -> float:
    """Fees plus slippage of every stock fill, plus the hedges' spread and commissions, in cash. A fill
    records the slipped price p x (1 ± s), so the slippage paid is its notional x s / (1 ± s)."""
    records, s = result.order_records, slippage_bps / 1e4
    slip = records["size"] * records["price"] * s / np.where(records["side"] == 0, 1.0 + s, 1.0 - s)
    hedge_fees = -hedges.fees if hedges is not None else 0.0
    return float(records["fees"].sum() + slip.sum()) + hedge_fees


def _book(config: RunConfig, data: Dataset, key: str):
    """(targets, kernel rules or None) of one variant (``key``: its data_key)."""
    pipeline = pipeline_of(config, data, key)
    return pipeline.targets, pipeline.kernel_rules


def pipeline_of(config: RunConfig, data: Dataset | None = None, key: str | None = None) -> PipelineResult:
    """run_pipeline of ``config`` from the caches (``key``: its data_key): the stages shared with other
    variants run once, and only its path-dependent rules' parameters are its own (the caps' groups, the
    gross limit and the no-buy mask come from the stateless stages, shared by the whole key)."""
    key = key or data_key(config)
    data = data if data is not None else dataset(config, key)
    symbols, rules = config.universe.symbols, config.pipeline
    shared = _cached(_PIPELINES, _key(key, symbols, config.universe.groups, _stateless(config), rules.needs_kernel),
                     lambda: capped_targets(rules, _uncapped(config, data, key)))
    if shared.kernel_rules is None:
        return shared
    return replace(shared, kernel_rules=replace(shared.kernel_rules, params=kernel_params(symbols, **kernel_blocks(rules))))


def _uncapped(config: RunConfig, data: Dataset, data_key: str) -> Uncapped:
    """The stages before the caps, run once for all the variants that differ only in caps or path-dependent
    rules."""
    symbols, rules = config.universe.symbols, config.pipeline
    key = _key(data_key, symbols, config.universe.groups, _stateless(config, "caps"))
    return _cached(_UNCAPPED, key, lambda: standing_targets(rules, data, symbols, rule_groups(config, data)))


def dataset(config: RunConfig, key: str | None = None) -> Dataset:
    """The config's dataset, loaded once per process per distinct data section (``key``: its data_key, if known)."""
    return _cached(_DATASETS, key or data_key(config), lambda: load_run_data(config))


def _benchmark(config: RunConfig, data: Dataset) -> SimResult | None:
    key = _key(data_key(config), config.execution.model_dump(mode="json"), config.benchmark)
    return _cached(_BENCHMARKS, key, lambda: benchmark_book(config, data, _settings(config)))


def data_key(config: RunConfig) -> str:
    """Everything engine.run.backtest.load_run_data reads, and the fingerprint of the files it reads: every
    cache above is keyed by it, so an edited data file is never served from a cache."""
    return _key(config.data.model_dump(mode="json"), config.period.model_dump(mode="json"),
                config.universe.symbols, config.benchmark, [h.model_dump(mode="json") for h in config.hedges],
                data_fingerprint(resolved_data_dir(config)))


def data_fingerprint(data_dir: Path) -> str:
    """engine.data.loader.fingerprint of a dataset folder's files (the manifest's), hashed again only when
    a file's size, modification time or inode changes (a sweep asks once per variant)."""
    files = dataset_files(data_dir)
    stamp = tuple((str(path), *_stat(path)) for path in files)
    return _cached(_FINGERPRINTS, _key(stamp), lambda: fingerprint(files))


def _stat(path: Path) -> tuple[int, int, int]:
    info = path.stat()
    return info.st_size, info.st_mtime_ns, info.st_ino


def batch_digest(item: Variant | RunConfig) -> str:
    """A short digest of batch_key: what a chunk carries to a worker for each variant."""
    return hashlib.blake2b(batch_key(item).encode(), digest_size=16).hexdigest()


def batch_key(item: Variant | RunConfig) -> str:
    """Variants with equal keys can share one simulation: same data, execution, rule kind and regime caps."""
    config = item.config if isinstance(item, Variant) else item
    rules = config.pipeline
    kind = "kernel" if config.pipeline.needs_kernel else "targets"
    # the kernel reads one gross-exposure cap per session for all books: equal overlays, equal caps
    regime = rules.model_dump(mode="json", include={r.name for r in registry.rules("overlay")})
    return _key(data_key(config), config.execution.model_dump(mode="json"), kind, regime)


def _stateless(config: RunConfig, *also: str) -> dict:
    """The config's stateless rules (and not those of the stages ``also``): variants differing only in
    path-dependent rules share a pipeline."""
    stages = ("path", *also)
    return config.pipeline.model_dump(mode="json", exclude={r.name for s in stages for r in registry.rules(s)})


def _settings(config: RunConfig) -> ExecutionSettings:
    return ExecutionSettings(**config.execution.model_dump())


def _cached(cache: dict, key: str, compute):
    """``cache[key]``, computed on first use."""
    if key not in cache:
        cache[key] = compute()
    return cache[key]


def _key(*parts) -> str:
    return json.dumps(parts, sort_keys=True, default=str)


def clear_caches() -> None:
    """Forget cached datasets, pipelines, benchmarks and hedge prices (tests; a long-lived worker between
    jobs)."""
    for cache in (_DATASETS, _PIPELINES, _UNCAPPED, _BENCHMARKS, _FINGERPRINTS, _PRICING):
        cache.clear()



# ---- outputs ------------------------------------------------------------------------------------

def comparison_tables(variants: list[Variant], outcomes: list[VariantOutcome], equity: pd.DataFrame | None = None,
                      ) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(variants table, equity sessions × variants (``equity``: equity_frame(outcomes), if made), statistics
    summary).

    The table has one row per variant: ``variant``, ``rank`` (by Sharpe, 1 = best), every swept
    parameter (the variant's resolved value, base included), every metric, and the fair statistics
    against the base (engine.analysis.variant_stats)."""
    equity = equity if equity is not None else equity_frame(outcomes)
    params = list(dict.fromkeys(path for v in variants for path in v.overrides))
    sections = {path.split(".")[0] for path in params}  # top-level keys have no aliases: dump only these
    rows = []
    for variant, outcome in zip(variants, outcomes):
        dumped = variant.config.model_dump(mode="json", by_alias=True, include=sections)
        rows.append({"variant": variant.name, **{p: _scalar(_lookup(dumped, p)) for p in params}, **outcome.metrics})
    table = pd.DataFrame(rows)
    table.insert(1, "rank", table["sharpe"].rank(ascending=False, method="min", na_option="bottom").astype(int))
    stats, summary = _statistics(equity, variants[0].config)
    if stats is not None:
        table = table.join(stats.drop(columns=["sharpe"]), on="variant")
    return table, equity, summary


def equity_frame(outcomes: list[VariantOutcome]) -> pd.DataFrame:
    """Total equity, sessions × variants, in one float64 block with each variant's column contiguous: the
    only per-session copy of the sweep the statistics need (engine.analysis.column_blocks reads it)."""
    values = np.empty((len(outcomes[0].equity), len(outcomes)), order="F")
    for k, outcome in enumerate(outcomes):
        values[:, k] = outcome.equity.to_numpy()
    return pd.DataFrame(values, index=outcomes[0].equity.index.rename("date"), columns=[o.name for o in outcomes],
                        copy=False)


def _statistics(equity: pd.DataFrame, base: RunConfig) -> tuple[pd.DataFrame | None, dict]:
    """Bootstrap CI of the Sharpe difference, deflated Sharpe and PBO (engine.analysis.variant_stats,
    engine.analysis.pbo) of the sessions where every variant has a return (the base is the first column)."""
    from engine.analysis.pbo import pbo
    from engine.analysis.variant_stats import matrix_statistics, plain_words

    if equity.columns[0] != BASE:
        raise ValueError(f"the base variant '{BASE}' comes first (load_variants' order), got '{equity.columns[0]}'")
    values = equity.to_numpy()
    returns = simple_returns(values)
    ppy = sessions_per_year(base.data.calendar, equity.index[0], equity.index[-1])
    if returns.shape[1] < 2:
        return None, {"pbo": None, "summary": ["Only the base configuration: nothing to compare."]}
    gaps = np.isnan(returns).any(axis=1)
    complete = np.asfortranarray(returns[~gaps]) if gaps.any() else returns
    stats = matrix_statistics(complete, list(equity.columns), ppy)
    try:
        overfitting = pbo(complete).pbo
    except ValueError as exc:  # too few sessions for the CSCV blocks
        overfitting, stats.attrs["pbo_error"] = None, str(exc)
    return stats, {"pbo": overfitting, "summary": plain_words(stats, overfitting)}


def save_comparison(out_dir: Path | None, variants: list[Variant], outcomes: list[VariantOutcome], *,
                    base_config: RunConfig, base_result: BacktestResult, wall_seconds: float, executor: str,
                    chunk: int | None, tables: tuple[pd.DataFrame, pd.DataFrame, dict] | None = None,
                    extras: Sequence[Callable[[Path], object]] = ()) -> tuple[Path, pd.DataFrame, dict]:
    """Write the base config's run files (so the folder is a run folder a report can read) plus
    variants.parquet, variant_equity.parquet, ranking.csv and statistics.json, then ``extras``
    (the reports), into ``out_dir`` (None: a fresh reports/<name>-compare-<UTC time>) atomically:
    an interrupted or failed compare leaves no folder. ``tables``: comparison_tables' result, if made."""
    table, equity, summary = tables or comparison_tables(variants, outcomes)
    ranking = ranking_of(table)

    def comparison_files(tmp: Path) -> None:
        write_tables(tmp, {"variants.parquet": table, "variant_equity.parquet": equity, "ranking.csv": ranking})
        write_file(tmp, "statistics.json", summary)
        write_file(tmp, "config.yaml", to_yaml(base_config))
        info = read_file(tmp, "manifest.json") | {"variants": len(variants), "executor": executor, "chunk": chunk}
        write_file(tmp, "manifest.json", info)

    folder = save_run(base_result, out_dir, wall_seconds=wall_seconds, extras=[comparison_files, *extras],
                      kind="-compare")
    return folder, ranking, summary


def ranking_of(table: pd.DataFrame) -> pd.DataFrame:
    """ranking.csv: the variants best first, with the columns a reader compares."""
    return table.sort_values("rank", kind="stable")[[c for c in RANKING_COLUMNS if c in table.columns]]


RANKING_COLUMNS = ("rank", "variant", "sharpe", "cagr", "max_drawdown", "sharpe_diff", "diff_lower", "diff_upper",
                   "dsr", "verdict")


def _lookup(tree, dotted: str):
    for key in dotted.split("."):
        if isinstance(tree, list):
            tree = tree[int(key)] if key.isdigit() and int(key) < len(tree) else None
        elif isinstance(tree, dict):
            tree = tree.get(key)
        else:
            return None
    return tree


def _scalar(value):
    """Parquet columns need one type: lists and sections become JSON text."""
    return json.dumps(value) if isinstance(value, (list, dict)) else value
