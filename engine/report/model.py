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

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd
import yaml
from pydantic import ValidationError

from engine.data.schema import RERUN_FIX, read_parquet_file
from engine.errors import ConfigError, DataError
from engine.config.report import ReportConfig

REQUIRED_FILES = ("config.yaml", "manifest.json", "metrics.json", "equity.parquet", "weights.parquet",
                  "trades.parquet")
OPTIONAL_FILES = ("rules.parquet", "hedges.parquet", "events.parquet", "event_summary.parquet",
                  "event_car.parquet", "event_strategy.parquet", "variants.parquet", "variant_equity.parquet",
                  "scenarios.parquet", "stress.parquet", "scorecard.parquet", "attribution.parquet")
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


@dataclass(frozen=True)
class RunFolder:
    """The files of one run folder, read once (optional ones are None when absent)."""

    path: Path
    config: dict
    config_text: str
    manifest: dict
    metrics: dict
    equity: pd.DataFrame  # indexed by date: equity, cash, benchmark (optional)
    weights: pd.DataFrame  # date × symbol
    trades: pd.DataFrame
    optional: dict[str, pd.DataFrame]

    @classmethod
    def read(cls, path: Path) -> "RunFolder":
        path = Path(path)
        missing = [name for name in REQUIRED_FILES if not (path / name).is_file()]
        if missing:
            raise DataError(path / missing[0], None, "not found: this is not a complete run folder",
                            "pass the folder `rulebook run` wrote (reports/<name>-<time>)")
        config_text = (path / "config.yaml").read_text()
        return cls(
            path=path,
            config=_readable(path / "config.yaml", yaml.safe_load, config_text),
            config_text=config_text,
            manifest=_readable(path / "manifest.json", json.loads),
            metrics=_readable(path / "metrics.json", json.loads),
            equity=_by_date(path / "equity.parquet", "date"),
            weights=_by_date(path / "weights.parquet", "date"),
            trades=read_parquet_file(path / "trades.parquet"),
            optional={name.removesuffix(".parquet"): read_parquet_file(path / name)
                      for name in OPTIONAL_FILES if (path / name).is_file()},
        )

    @property
    def event_window(self) -> tuple[int, int] | None:
        """(first, last) session offset of the event study files' windows (None without them): the window
        `rulebook events` used, which --window may have set apart from the config's event_study.window."""
        car = self.optional.get("event_car")
        if car is None or car.empty:
            return None
        return int(car["offset"].min()), int(car["offset"].max())

    @property
    def has_benchmark(self) -> bool:
        return "benchmark" in self.equity.columns and self.equity["benchmark"].notna().any()


def report_settings(run: RunFolder, page_size: str | None = None) -> ReportConfig:
    """The run config's `report:` block (defaults for runs made before it existed)."""
    raw = dict(run.config.get("report") or {}) | ({"page_size": page_size} if page_size else {})
    try:
        return ReportConfig.model_validate(raw)
    except ValidationError as exc:
        where = ("command line", "--page-size") if page_size else (run.path / "config.yaml", "report")
        raise ConfigError(*where, str(exc.errors()[0]["msg"]),
                          "page size is A4 or Letter; formats are html and pdf") from None


def _readable(path: Path, parse, text: str | None = None) -> dict:
    """A run folder's YAML/JSON file as a mapping; a damaged one is a DataError naming it."""
    try:
        value = parse(path.read_text() if text is None else text)
    except (ValueError, yaml.YAMLError, UnicodeDecodeError) as error:
        raise DataError(path, None, f"not readable ({str(error).splitlines()[0][:120]})",
                        RERUN_FIX) from None
    if not isinstance(value, dict):
        raise DataError(path, None, "not a mapping", RERUN_FIX)
    return value


def _by_date(path: Path, column: str) -> pd.DataFrame:
    frame = read_parquet_file(path)
    if column not in frame.columns:
        raise DataError(path, column, "column missing", "re-run the backtest to rewrite the run folder")
    return frame.set_index(pd.DatetimeIndex(frame.pop(column), name=column))
