"""Compare the variants of a config (`rulebook compare`): ranked, tested against the base, saved."""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import pandas as pd

from engine.config.run_config import ConfigSource, RunConfig
from engine.config.variants import Variant, VariantsConfig
from engine.sweep.compare import VariantOutcome
from rulebook.result import Result

Progress = Callable[[int, int], None]  # (variants done, variants in all)


@dataclass(frozen=True)
class Comparison:
    """Every variant's outcome, ranked by Sharpe and tested against the base (variant "base").

    ``table``: one row per variant (variants.parquet: variant, rank, the swept parameters, every
    metric, the Sharpe difference to the base with its bootstrap CI, deflated Sharpe, verdict);
    ``equity``: total equity, sessions × variants (variant_equity.parquet); ``ranking``: best first
    (ranking.csv); ``summary``: PBO and plain-words sentences (statistics.json); ``base``: the
    base config's own ``Result``."""

    config: RunConfig  # the base config with its variants block, as saved in config.yaml
    variants: list[Variant]
    outcomes: list[VariantOutcome]
    base: Result
    table: pd.DataFrame
    equity: pd.DataFrame
    summary: dict
    executor: str
    chunk: int | None
    wall_seconds: float

    @property
    def ranking(self) -> pd.DataFrame:
        """The variants best first (ranking.csv)."""
        from engine.sweep.compare import ranking_of

        return ranking_of(self.table)

    def save(self, folder: Path | str | None = None, *, reports: Sequence[str] | None = None) -> Path:
        """Write the comparison folder (the base's run files plus the variant tables; with
        ``reports``, default the config's report block, report.html/pdf) atomically and return it.
        ``folder`` defaults to a fresh reports/<name>-compare-<UTC time>; an existing one is refused."""
        from engine.report.write import write_reports
        from engine.sweep.compare import save_comparison

        settings = self.config.report
        formats = list(settings.formats if settings.enabled else []) if reports is None else list(reports)
        target = Path(folder) if folder is not None else None
        saved, _, _ = save_comparison(
            target, self.variants, self.outcomes, base_config=self.config, base_result=self.base.backtest,
            wall_seconds=self.wall_seconds, executor=self.executor, chunk=self.chunk,
            tables=(self.table, self.equity, self.summary),
            extras=[lambda tmp: write_reports(tmp, formats)] if formats else [])
        return saved

    def _repr_html_(self) -> str:
        sentences = "".join(f"<li>{html.escape(line)}</li>" for line in self.summary["summary"])
        return (f"<div><b>{html.escape(self.config.name)}</b>: {len(self.variants)} variants"
                f"{self.ranking.head(10).to_html(index=False)}<ul>{sentences}</ul></div>")


def compare(config: ConfigSource, *, variants: VariantsConfig | dict | None = None, executor: str = "local",
            scheduler: str | None = None, chunk: int | None = None, progress: Progress | None = None) -> Comparison:
    """Run every variant of ``config`` and compare them with the base.

    ``variants``: a `variants:` block (grid / zip / named, as a dict or VariantsConfig) replacing
    the config's own; default the config's. ``executor``: "local" (threads) or "dask"
    (``scheduler``: a Dask address, default a local cluster). ``chunk``: variants per simulation
    (default: as many as fit a memory budget). ``progress(done, total)`` is called once every variant
    is validated (done = 0), then as chunks finish.
    Each variant's metrics equal ``rulebook.run`` of its config."""
    from engine.config.variant_set import load_variants
    from engine.run.backtest import run_backtest
    from engine.sweep.compare import comparison_tables, dataset, equity_frame, pipeline_of, run_variants
    from engine.sweep.executors import make_executor

    began = time.perf_counter()
    expanded = load_variants(config, variants)
    runner = make_executor(executor, scheduler)
    base = expanded[0].config
    done = [0]

    def advance(n: int) -> None:
        done[0] += n
        if progress is not None:
            progress(done[0], len(expanded))

    if progress is not None:
        progress(0, len(expanded))  # every variant is valid: the work starts
    outcomes = run_variants(expanded, executor=runner, chunk=chunk, done=advance)
    # the base's run files make the folder a report's input; its pipeline is the sweep's
    base_result = Result(run_backtest(base, dataset(base), pipeline_of(base)))
    equity = equity_frame(outcomes)
    # each outcome's curve becomes a view of the frame's column before the statistics (their peak): one
    # per-session copy of the sweep stays
    outcomes = [replace(outcome, equity=equity[outcome.name].rename(outcome.equity.name)) for outcome in outcomes]
    table, equity, summary = comparison_tables(expanded, outcomes, equity)
    block = expanded[0].config.model_copy(update={"variants": _block(config, variants)})
    return Comparison(block, expanded, outcomes, base_result, table, equity, summary, runner.name, chunk,
                      time.perf_counter() - began)


def _block(config: ConfigSource, variants: VariantsConfig | dict | None) -> VariantsConfig | None:
    """The variants block that ran (already validated by load_variants)."""
    if variants is None:  # the config's own block, already validated with the config: not the config again
        from engine.config.run_config import raw_config

        block = raw_config(config)[0].get("variants")
        return None if block is None else VariantsConfig.model_validate(block)
    return variants if isinstance(variants, VariantsConfig) else VariantsConfig.model_validate(variants)
