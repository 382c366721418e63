"""The HTML report: sections and numbers from the run folder, self-contained, and it renders in Chromium."""

from __future__ import annotations

import base64
import gzip
import json
import re
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from plotly.offline import get_plotlyjs
from typer.testing import CliRunner

from engine.cli.main import app
from engine.report.formatting import parse_number
from engine.report.html import write_html
from engine.report.model import SYNTHETIC_WARNING
from engine.report.contents import build_report
from engine.report.formatting import HEADLINE
from report_run_folder import write_run_folder
from test_report_model import CORE, FULL

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
RESOURCE_ATTRIBUTES = {"src", "href", "data", "poster", "srcset", "action"}


class _Page(HTMLParser):
    """Elements outside scripts: ids, resource attributes, style text and headline cells."""

    def __init__(self) -> None:
        super().__init__()
        self.ids, self.links, self.resources, self.styles, self.scripts = set(), [], [], [], []
        self.tables: dict[str, list[list[str]]] = {}
        self._table = self._cell = None
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href", "").startswith("#"):
            self.links.append(attrs["href"][1:])
        self.resources += [(tag, value) for name, value in attrs.items() if name in RESOURCE_ATTRIBUTES and value]
        if "style" in attrs:
            self.styles.append(attrs["style"])
        self._in_style = tag == "style"
        if tag == "script":
            self.scripts.append(attrs)
        if tag == "table":
            self._table = self.tables.setdefault(attrs.get("id", ""), [])
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._table[-1].append(self._cell.strip())
            self._cell = None
        elif tag == "table":
            self._table = None
        self._in_style = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data
        if self._in_style:
            self.styles.append(data)


@pytest.fixture(scope="module")
def full_dir(tmp_path_factory) -> Path:
    folder = write_run_folder(tmp_path_factory.mktemp("html") / "full")
    write_html(build_report(folder), folder / "report.html")
    return folder


def parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def test_every_section_has_an_anchor_and_a_contents_link(full_dir, tmp_path) -> None:
    page = parse(full_dir / "report.html")
    assert [link for link in page.links if link in FULL] == FULL
    assert set(FULL) <= page.ids
    core = write_run_folder(tmp_path / "core", full=False, synthetic=False)
    write_html(build_report(core), core / "report.html")
    core_page = parse(core / "report.html")
    assert [link for link in core_page.links if link in FULL] == CORE
    assert not (set(FULL) - set(CORE)) & core_page.ids
    assert SYNTHETIC_WARNING in (full_dir / "report.html").read_text()
    assert SYNTHETIC_WARNING not in (core / "report.html").read_text()


def test_headline_numbers_equal_metrics_json(full_dir) -> None:
    metrics = json.loads((full_dir / "metrics.json").read_text())
    rows = {row[0]: row for row in parse(full_dir / "report.html").tables["table-headline"][1:]}
    for label, key, bench_key, _ in HEADLINE:
        pairs = [(rows[label][1], metrics[key])] + ([(rows[label][2], metrics[bench_key])] if bench_key else [])
        for cell, value in pairs:
            decimals = len(cell.rstrip("%").split(".")[1]) if "." in cell else 0
            unit = 0.01 if cell.endswith("%") else 1.0
            assert parse_number(cell) == pytest.approx(value, abs=0.51 * 10 ** -decimals * unit), (label, cell)


def test_no_external_resources_and_plotly_inlined_once(full_dir) -> None:
    text = (full_dir / "report.html").read_text(encoding="utf-8")
    page = parse(full_dir / "report.html")
    external = [(tag, value) for tag, value in page.resources if re.match(r"\s*(https?:)?//", value)]
    assert not external
    css = " ".join(page.styles)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", css) and "@import" not in css and "@font-face" not in css
    assert not [attrs for attrs in page.scripts if "src" in attrs]
    packed = re.search(r'<script type="application/octet-stream" id="plotly-js-gzip">([^<]+)</script>', text)
    plotly_js = gzip.decompress(base64.b64decode(packed.group(1))).decode("utf-8")
    assert plotly_js == get_plotlyjs()  # the installed plotly's bundle, once
    assert text.count('id="plotly-js-gzip"') == 1 and "plotly.js v" not in text.replace(packed.group(1), "")
    assert len(text.encode("utf-8")) < 4_000_000


def test_report_command_writes_both_files_and_rejects_a_bad_format(tmp_path) -> None:
    folder = write_run_folder(tmp_path / "run", full=False)
    result = CliRunner().invoke(app, ["report", str(folder), "--format", "html"])
    assert result.exit_code == 0, result.output
    assert (folder / "report.html").stat().st_size > 1_000_000 and not (folder / "report.pdf").exists()
    result = CliRunner().invoke(app, ["report", str(folder), "--format", "docx"])
    assert result.exit_code == 2 and "--format" in result.output


def chromium_load(page: Path, out_dir: Path, height: int = 3000) -> tuple[list[str], list[str], Image.Image]:
    """Load a page in headless Chromium: (console messages, URLs the page requested, screenshot)."""
    profile = tempfile.mkdtemp(dir=out_dir)
    netlog, shot = out_dir / "net.json", out_dir / "shot.png"
    run = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", f"--log-net-log={netlog}",
         "--virtual-time-budget=8000", "--hide-scrollbars", f"--window-size=1280,{height}",
         f"--screenshot={shot}", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=120)
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    log = json.loads(netlog.read_text())
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    requested = [event["params"].get("url", "") for event in log["events"] if event["type"] == start_job
                 and "url" in event.get("params", {})
                 and event["params"].get("initiator") != "not an origin"]  # the page's, not browser chores
    return console, requested, Image.open(shot).convert("RGB")


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed (apt-get install chromium)")
def test_the_harness_sees_console_errors_and_page_requests(tmp_path) -> None:
    bad = tmp_path / "bad.html"
    bad.write_text('<img src="http://example.invalid/a.png"><script>console.error("boom")</script>')
    console, requested, _ = chromium_load(bad, tmp_path, height=300)
    assert any("boom" in line for line in console)
    assert "http://example.invalid/a.png" in requested


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed (apt-get install chromium)")
def test_report_loads_offline_without_errors_and_its_charts_draw(full_dir, tmp_path) -> None:
    console, requested, shot = chromium_load(full_dir / "report.html", tmp_path, height=6000)
    assert console == []
    assert [url for url in requested if not url.startswith(("file:", "data:"))] == []
    assert chart_hues(shot) >= 4  # text, headings and the banner give at most two


def chart_hues(image: Image.Image) -> int:
    """How many of twelve hue sectors have many strongly coloured pixels (chart lines, areas, heatmap)."""
    hsv = np.asarray(image.convert("HSV"), dtype=int).reshape(-1, 3)
    vivid = hsv[(hsv[:, 1] > 110) & (hsv[:, 2] > 90)]
    return int((np.bincount(vivid[:, 0] * 12 // 256, minlength=12) > 2000).sum())
