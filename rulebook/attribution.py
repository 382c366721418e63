"""What each rule earned (`rulebook attribute`): the attribution sweep and the full config's own run.

    import rulebook
    attribution = rulebook.attribute("configs/column.yaml")
    attribution.table                   # attribution.parquet's rows: baseline, each rule, interaction, full
    attribution.save("reports/column-attribute", reports=["html"])
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Sequence

import pandas as pd

from engine.config.run_config import RunConfig
from rulebook.result import Result


@dataclass(frozen=True)
class Attribution:
    """Each rule's contribution (engine.sweep.attribution documents the steps and columns).

    ``table``: attribution.parquet (one row per step: baseline, each rule added alone and left out,
    the interaction, the full rule set); ``equity``: total equity, sessions × variants
    (attribution_equity.parquet); ``base``: the full config's own ``Result``, whose run files make
    the saved folder a report's input (run on first use: the table needs no single run)."""

    config: RunConfig
    table: pd.DataFrame
    equity: pd.DataFrame
    wall_seconds: float

    @cached_property
    def base(self) -> Result:
        """The full config's own backtest (the sweep's dataset cache holds its data)."""
        from engine.run.backtest import run_backtest
        from engine.sweep.compare import dataset

        return Result(run_backtest(self.config, dataset(self.config)))

    def save(self, folder: Path | str | None = None, *, reports: Sequence[str] | None = None) -> Path:
        """Write the attribution folder (the full config's run files, attribution.parquet and
        attribution_equity.parquet; with ``reports``, default the config's report block,
        report.html/pdf) atomically and return it. ``folder`` defaults to a fresh
        reports/<name>-attribute-<UTC time>; an existing one is refused."""
        from engine.report.write import write_reports
        from engine.sweep.attribution import save_attribution

        settings = self.config.report
        formats = list(settings.formats if settings.enabled else []) if reports is None else list(reports)
        return save_attribution(None if folder is None else Path(folder), self.table, self.equity,
                                self.base.backtest, wall_seconds=self.wall_seconds,
                                extras=[lambda tmp: write_reports(tmp, formats)] if formats else [])

    def _repr_html_(self) -> str:
        return f"<div><b>{html.escape(self.config.name)}</b>: what each rule earned{self.table.to_html(index=False)}</div>"


def attribute(config: Path | str, *, executor=None) -> Attribution:
    """Each rule's contribution: added alone to the baseline and left out of the full rule set, with the
    interaction, in one compare sweep (engine.sweep.attribution). ``config``: a config file (the
    variants are overrides of its YAML). Returns an ``Attribution`` (``table``: attribution.parquet's
    rows; ``equity``; ``base``; ``save``)."""
    from engine.config.run_config import load_config
    from engine.sweep.attribution import attribute as sweep

    began = time.perf_counter()
    tables = sweep(Path(config), executor=executor)
    return Attribution(load_config(Path(config)), tables.table, tables.equity, time.perf_counter() - began)
