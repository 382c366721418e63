"""The report's sections in reading order.

Each entry is a builder ``(RunFolder, ReportConfig) -> Section | None`` (None: the run folder
lacks the files it needs, so the section is left out). To add a section, write a builder in its
own module and insert it here; both renderers draw any Section.
"""

from __future__ import annotations

from engine.config.report import ReportConfig
from engine.report.attribution_section import attribution_section
from engine.report.glossary import glossary_section
from engine.report.headline import metrics_section, summary_section
from engine.report.model import RunFolder, Section
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
