"""The report as one self-contained HTML file: plotly.js inlined once, no network, no web fonts."""

from __future__ import annotations

from pathlib import Path

import jinja2
from plotly.offline import get_plotlyjs

from engine.atomic import write_file_atomically
from engine.report.figures import plotly_figure
from engine.report.model import SYNTHETIC_WARNING, Chart, Code, Paragraph, Report, Table

TEMPLATES = Path(__file__).parent / "templates"
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True, "scrollZoom": False,
                 "modeBarButtonsToRemove": ["sendDataToCloud"], "toImageButtonOptions": {"format": "png"}}


def chart_html(chart: Chart) -> str:
    """A chart's div and script (plotly.js itself is inlined once in the page head)."""
    return plotly_figure(chart).to_html(full_html=False, include_plotlyjs=False, div_id=f"chart-{chart.key}",
                                        config=PLOTLY_CONFIG)


def render_html(report: Report) -> str:
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                                     autoescape=jinja2.select_autoescape(["html", "j2"]),
                                     trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    template = environment.get_template("report.html.j2")
    return template.render(report=report, plotly_js=get_plotlyjs(), chart_html=chart_html,
                           synthetic_warning=SYNTHETIC_WARNING, Paragraph=Paragraph, Table=Table, Chart=Chart,
                           Code=Code, is_a=isinstance)


def write_html(report: Report, destination: Path) -> Path:
    page = render_html(report)
    return write_file_atomically(destination, lambda tmp: tmp.write_text(page, encoding="utf-8"))
