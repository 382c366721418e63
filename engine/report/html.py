"""The report as one self-contained HTML file: no network, no web fonts.

plotly.js is inlined once, gzip-compressed and base64-encoded (4.8 MB → 2 MB, once per plotly
version, kept in engine.user_cache; the page decompresses it with the browser's DecompressionStream),
and each chart is a JSON figure drawn by one script at the end of the page.
"""

from __future__ import annotations

import base64
import gzip
import json
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import jinja2

from engine.atomic import write_file_atomically
from engine.user_cache import cached
from engine.report.model import SYNTHETIC_WARNING, Chart, Code, Paragraph, Report, Table
from engine.report.plotly_charts import BASE_HEIGHT_PX, plotly_spec

TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def plotly_js_gzip_base64() -> str:
    """plotly.js of the installed plotly package, gzip + base64: compressed once per plotly version and
    kept in the user's cache (compressing 4.8 MB costs more than rendering the rest of the page)."""
    def packed() -> bytes:
        from plotly.offline import get_plotlyjs
        return base64.b64encode(gzip.compress(get_plotlyjs().encode("utf-8"), compresslevel=6, mtime=0))

    return cached(f"plotly-{metadata.version('plotly')}.js.gz.b64", packed, lambda data: data.decode("ascii"))


def chart_json(chart: Chart) -> str:
    """The figure as JSON safe inside a <script> element."""
    text = json.dumps(plotly_spec(chart), separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_html(report: Report) -> str:
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                                     autoescape=jinja2.select_autoescape(["html", "j2"]),
                                     trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    template = environment.get_template("report.html.j2")
    return template.render(report=report, plotly_js_gz=plotly_js_gzip_base64(), chart_json=chart_json,
                           base_height=BASE_HEIGHT_PX, synthetic_warning=SYNTHETIC_WARNING, Paragraph=Paragraph,
                           Table=Table, Chart=Chart, Code=Code, is_a=isinstance)


def write_html(report: Report, destination: Path) -> Path:
    page = render_html(report)
    return write_file_atomically(destination, lambda tmp: tmp.write_text(page, encoding="utf-8"))
