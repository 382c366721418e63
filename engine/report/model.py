"""The report model: what a report says, computed once from a run folder.

Both renderers (engine.report.html and engine.report.pdf) draw this model and
nothing else, so the HTML and the PDF show the same numbers, formatted the same
way. Numbers come from the run folder's files: headline metrics from
metrics.json, tear-sheet statistics from engine.analysis.return_stats and drawdowns
from engine.analysis.drawdowns on equity.parquet, rolling statistics from
engine.report.performance. The sections, their order and build_report are in
engine.report.contents;
a section whose file is absent is left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandas as pd
from pydantic import ValidationError

from engine.errors import ConfigError
from engine.config.report import ReportConfig
from engine.run.files import path_of
from engine.run.folder import RunFolder

SYNTHETIC_WARNING = "SYNTHETIC SAMPLE DATA"

ChartKind = Literal["lines", "area", "stacked_area", "heatmap", "stacked_bars", "bars", "band", "scatter",
                    "waterfall"]


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Table:
    """Cells already formatted; ``numeric`` marks right-aligned columns."""

    title: str
    columns: list[str]
    rows: list[list[str]]
    numeric: list[bool]
    key: str = ""
    links: tuple[str, ...] = ()  # per row: anchor its first cell links to ("" = none)
    anchors: tuple[str, ...] = ()  # per row: anchor its first cell defines


@dataclass(frozen=True)
class Chart:
    """A figure both renderers can draw.

    ``data``: index = x (dates, labels or numbers), one column per series.
    heatmap: index = rows (y), columns = x, values = cell colour (and text);
    ``diverging`` centres the colour scale on 0, else it spans the data's range.
    band: columns ``mean``, ``low``, ``high``, drawn as a line in a shaded band.
    bars: grouped (stacked_bars: stacked); a numeric index is an x axis of numbers.
    scatter: column 0 is x, column 1 is y, one point per row (index = hover label), with the y = x line.
    waterfall: index = steps, columns ``value`` and ``measure`` (absolute: a level drawn from 0,
    relative: a change stacked on the running level, total: the running level drawn from 0).
    ``percent`` / ``x_percent``: y / x values are fractions shown as percentages;
    ``money``: y values are currency. ``spans``: x ranges shaded (with a label);
    ``marks``: vertical lines at x with a label.
    """

    key: str
    title: str
    kind: ChartKind
    data: pd.DataFrame
    y_label: str = ""
    percent: bool = False
    log_y: bool = False
    height: float = 1.0  # relative to a standard chart
    x_label: str = "date"
    x_percent: bool = False
    money: bool = False
    diverging: bool = True
    spans: tuple[tuple[object, object, str], ...] = ()
    marks: tuple[tuple[object, str], ...] = ()


@dataclass(frozen=True)
class Code:
    title: str
    text: str


Block = Paragraph | Table | Chart | Code


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    blocks: list[Block]

    def tables(self) -> list[Table]:
        return [block for block in self.blocks if isinstance(block, Table)]

    def charts(self) -> list[Chart]:
        return [block for block in self.blocks if isinstance(block, Chart)]


@dataclass(frozen=True)
class Report:
    run_name: str
    description: str
    created: str  # YYYY-MM-DD the run was made
    start: str
    end: str
    synthetic: bool
    settings: ReportConfig
    sections: list[Section] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"{self.run_name}: performance report"

    def section(self, key: str) -> Section | None:
        return next((section for section in self.sections if section.key == key), None)


def report_settings(run: RunFolder, page_size: str | None = None) -> ReportConfig:
    """The run config's `report:` block (defaults for runs made before it existed)."""
    raw = dict(run.config.get("report") or {}) | ({"page_size": page_size} if page_size else {})
    try:
        return ReportConfig.model_validate(raw)
    except ValidationError as exc:
        where = ("command line", "--page-size") if page_size else (path_of(run.path, "config.yaml"), "report")
        raise ConfigError(*where, str(exc.errors()[0]["msg"]),
                          "page size is A4 or Letter; formats are html and pdf") from None
