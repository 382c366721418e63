"""The PDF report: opens, paginates within range, headers and page numbers, headline numbers equal
metrics.json in the extracted text, vector charts, tables that split across pages with their header."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader
from reportlab.lib.pagesizes import A4, LETTER

from engine.report.formatting import parse_number
from engine.report.model import SYNTHETIC_WARNING, Code, Report, Section, Table
from engine.report.contents import build_report
from engine.report.pdf import write_pdf
from engine.report.formatting import HEADLINE
from engine.config.report import ReportConfig
from report_run_folder import write_run_folder

PDFTOPPM = shutil.which("pdftoppm")
NUMBER = r"([+-]?[\d,]+(?:\.\d+)?%?|n/a)"  # one formatted cell; the next label starts with a letter


@pytest.fixture(scope="module")
def full_pdf(tmp_path_factory) -> tuple[Path, PdfReader]:
    folder = write_run_folder(tmp_path_factory.mktemp("pdf") / "full")
    write_pdf(build_report(folder), folder / "report.pdf")
    return folder, PdfReader(folder / "report.pdf")


def test_pages_have_the_header_synthetic_warning_and_page_numbers(full_pdf) -> None:
    _, reader = full_pdf
    pages = len(reader.pages)
    assert 8 <= pages <= 25
    for number, page in enumerate(reader.pages, start=1):
        text = page.extract_text()
        assert "fabricated" in text and SYNTHETIC_WARNING in text and "2019-01-02 to 2021-12-31" in text
        assert f"page {number} of {pages}" in text
    assert {entry.title.split(". ", 1)[1] for entry in reader.outline} >= {"Summary", "Performance metrics", "Trades",
                                                                         "Hedges"}


def test_headline_numbers_in_the_text_equal_metrics_json(full_pdf) -> None:
    folder, reader = full_pdf
    metrics = json.loads((folder / "metrics.json").read_text())
    text = "\n".join(page.extract_text() for page in reader.pages[:4])
    for label, key, bench_key, _ in HEADLINE:
        line = re.search(rf"^{re.escape(label)}\s+{NUMBER}(?:\s+{NUMBER})?\s", text, flags=re.M)
        assert line, label
        pairs = [(line.group(1), metrics[key])] + ([(line.group(2), metrics[bench_key])] if bench_key else [])
        for cell, value in pairs:
            decimals = len(cell.rstrip("%").split(".")[1]) if "." in cell else 0
            unit = 0.01 if cell.endswith("%") else 1.0
            assert parse_number(cell) == pytest.approx(value, abs=0.51 * 10 ** -decimals * unit), (label, cell)


def test_charts_are_vector_drawings_not_images(full_pdf) -> None:
    _, reader = full_pdf
    assert all(len(page.images) == 0 for page in reader.pages)
    forms = [xobject.get_object() for page in reader.pages
             for xobject in (page["/Resources"].get("/XObject") or {}).values()]
    assert forms and all(form["/Subtype"] == "/Form" for form in forms)  # charts: vector form XObjects
    assert sum(len(form.get_data()) for form in forms) > 200_000  # the drawn paths


def test_page_size_follows_the_setting(tmp_path) -> None:
    folder = write_run_folder(tmp_path / "letter", full=False, synthetic=False, page_size="Letter")
    write_pdf(build_report(folder), folder / "letter.pdf")
    write_pdf(build_report(folder, page_size="A4"), folder / "a4.pdf")
    letter, a4 = PdfReader(folder / "letter.pdf"), PdfReader(folder / "a4.pdf")
    assert [round(float(v)) for v in letter.pages[0].mediabox[2:]] == [round(v) for v in LETTER]
    assert [round(float(v)) for v in a4.pages[0].mediabox[2:]] == [round(v) for v in A4]
    assert SYNTHETIC_WARNING not in letter.pages[0].extract_text()


def test_a_long_table_splits_across_pages_repeating_its_header(tmp_path) -> None:
    rows = [[f"row-{i:03d}", f"{i * 1.5:.2f}"] for i in range(240)]
    report = Report("long", "", "2025-01-01", "2020-01-01", "2020-12-31", False, ReportConfig(),
                    [Section("t", "Long table", [Table("Many rows", ["Label column", "Value column"], rows,
                                                       [False, True])])])
    write_pdf(report, tmp_path / "long.pdf")
    texts = [page.extract_text() for page in PdfReader(tmp_path / "long.pdf").pages]
    with_rows = [text for text in texts if "row-" in text]
    assert len(with_rows) >= 3
    assert all("Label column" in text for text in with_rows)
    found = re.findall(r"row-(\d{3})", "\n".join(texts))
    assert found == [f"{i:03d}" for i in range(240)]  # every row once, in order, none cut


def test_a_code_block_longer_than_a_page_flows_on(tmp_path) -> None:
    lines = "\n".join(f"key_{i:03d}: value" for i in range(200))
    report = Report("code", "", "2025-01-01", "2020-01-01", "2020-12-31", False, ReportConfig(),
                    [Section("c", "Config", [Code("Resolved configuration", lines)])])
    def give_up(*_):
        raise TimeoutError("PDF layout did not finish in 60 s")

    previous = signal.signal(signal.SIGALRM, give_up)
    signal.alarm(60)  # a layout that cannot settle would loop forever; fail instead
    try:
        write_pdf(report, tmp_path / "code.pdf")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    text = "\n".join(page.extract_text() for page in PdfReader(tmp_path / "code.pdf").pages)
    assert re.findall(r"key_(\d{3})", text) == [f"{i:03d}" for i in range(200)]


@pytest.mark.skipif(PDFTOPPM is None, reason="pdftoppm (poppler-utils) not installed")
def test_every_page_renders(full_pdf, tmp_path) -> None:
    folder, reader = full_pdf
    subprocess.run([PDFTOPPM, "-r", "30", "-png", str(folder / "report.pdf"), str(tmp_path / "page")],
                   check=True, timeout=120)
    images = sorted(tmp_path.glob("page-*.png"))
    assert len(images) == len(reader.pages)
    for path in images:
        extrema = Image.open(path).convert("L").getextrema()
        assert extrema[0] < 100  # something dark is drawn on every page
