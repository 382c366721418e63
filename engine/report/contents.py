"""The report's sections in reading order.

Each entry is a builder ``(RunFolder, ReportConfig) -> Section | None`` (None: the run folder
lacks the files it needs, so the section is left out). To add a section, write a builder in its
own module and insert it here; both renderers draw any Section.
"""

from __future__ import annotations

from pathlib import Path

from engine.config.report import ReportConfig
from engine.report.attribution_section import attribution_section
from engine.report.glossary import glossary_section
from engine.report.headline import metrics_section, summary_section
from engine.report.model import Report, Section, report_settings
from engine.run.folder import RunFolder
from engine.report.event_section import events_section
from engine.report.optional_sections import hedges_section, rules_section
from engine.report.scenario_section import scenarios_section
from engine.report.variant_section import variants_section
from engine.report.sections import (drawdowns_section, exposure_section, provenance_section, returns_section,
                                    rolling_section, trades_section)


def _glossary(run: RunFolder, settings: ReportConfig) -> Section:
    return glossary_section()


SECTIONS = (summary_section, metrics_section, drawdowns_section, returns_section, rolling_section, exposure_section,
            rules_section, hedges_section, trades_section, events_section, variants_section, scenarios_section,
            attribution_section, _glossary, provenance_section)


def build_report(run_dir: Path, page_size: str | None = None) -> Report:
    """Read a run folder and build every section its files support, in reading order."""
    run = RunFolder.read(run_dir)
    settings = report_settings(run, page_size)
    sections = [build(run, settings) for build in SECTIONS]
    return Report(
        run_name=str(run.manifest.get("run") or run.config.get("name", run.path.name)),
        description=str(run.config.get("description") or ""),
        created=str(run.manifest.get("created_utc", ""))[:10],
        start=str(run.metrics["start"]),
        end=str(run.metrics["end"]),
        synthetic=bool(run.manifest.get("data", {}).get("synthetic")),
        settings=settings,
        sections=[section for section in sections if section is not None],
    )
