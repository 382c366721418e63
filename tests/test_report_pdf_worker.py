"""report.pdf written by the background child (engine.report.pdf_worker): the same files as when written
in process, and on any failure of the child nothing left behind (no folder, no temporary file, no process)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader
from reportlab import rl_config

from engine.atomic import write_folder_atomically
from engine.errors import DataError, RulebookError
from engine.report import pdf, pdf_worker
from engine.report.contents import build_report
from engine.report.write import write_reports
from report_run_folder import write_run_folder

PDFTOPPM = shutil.which("pdftoppm")


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory) -> Path:
    return write_run_folder(tmp_path_factory.mktemp("worker") / "run")


@pytest.fixture
def invariant(monkeypatch):
    """reportlab without timestamps or random font-subset names, so two writes of one report are equal bytes."""
    monkeypatch.setattr(rl_config, "invariant", 1)


def _reports_in(destination: Path, run_folder: Path) -> Path:
    """A copy of ``run_folder`` with both reports, written like `rulebook run` writes (one atomic folder)."""
    def fill(tmp: Path) -> None:
        shutil.copytree(run_folder, tmp, dirs_exist_ok=True)
        write_reports(tmp, ["html", "pdf"])
    return write_folder_atomically(destination, fill)


def _reaped(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def _pages(pdf_file: Path, tmp: Path) -> tuple[list[str], list[bytes]]:
    """Each page's text and pixels (pdftoppm at 40 dpi)."""
    tmp.mkdir()
    subprocess.run([PDFTOPPM, "-r", "40", "-png", str(pdf_file), str(tmp / "page")], check=True, timeout=120)
    pixels = [Image.open(path).convert("RGB").tobytes() for path in sorted(tmp.glob("page-*.png"))]
    return [page.extract_text() for page in PdfReader(pdf_file).pages], pixels


@pytest.mark.skipif(PDFTOPPM is None, reason="pdftoppm (poppler-utils) not installed")
def test_the_background_pdf_is_the_in_process_pdf(tmp_path, run_folder, invariant) -> None:
    """The same HTML bytes, and a PDF with the same text and the same pixels on every page (its bytes
    differ: half the charts come from a second chart file, with its own font and resource objects)."""
    serial = _reports_in(tmp_path / "serial", run_folder)
    with pdf_worker.pdf_in_background():
        pid = pdf_worker._worker.pid
        background = _reports_in(tmp_path / "background", run_folder)
        assert pdf_worker._worker is None  # taken by write_reports: one PDF per child
    assert _reaped(pid)
    assert (background / "report.html").read_bytes() == (serial / "report.html").read_bytes()
    texts, pixels = _pages(serial / "report.pdf", tmp_path / "serial_pages")
    assert len(pixels) > 5 and any("Equity" in text for text in texts)
    assert _pages(background / "report.pdf", tmp_path / "background_pages") == (texts, pixels)


def test_the_charts_are_split_in_two_of_about_equal_cost(run_folder) -> None:
    charts = pdf.report_charts(build_report(run_folder))
    mine, theirs = pdf_worker.split_charts(charts)
    assert sorted(map(id, mine + theirs)) == sorted(map(id, charts)) and mine and theirs
    assert [id(c) for c in charts if id(c) in set(map(id, mine))] == list(map(id, mine))  # in report order
    loads = [sum(pdf_worker._cost(c) for c in part) for part in (mine, theirs)]
    assert abs(loads[0] - loads[1]) <= max(pdf_worker._cost(c) for c in charts)


def test_an_unused_worker_exits_when_the_block_ends(tmp_path) -> None:
    with pdf_worker.pdf_in_background():
        pid = pdf_worker._worker.pid
    assert _reaped(pid) and pdf_worker._worker is None


def _fail_after_writing_part(error: BaseException):
    def render(report, destination, drawn=None):
        Path(destination).write_bytes(b"%PDF-1.4 half a report")
        raise error
    return render


def assert_fails_cleanly(tmp_path: Path, run_folder: Path, error: type[BaseException], match: str) -> None:
    """Writing the reports raises ``error`` here, the child is reaped, and nothing is left in tmp_path."""
    with pdf_worker.pdf_in_background():
        pid = pdf_worker._worker.pid
        with pytest.raises(error, match=match):
            _reports_in(tmp_path / "out", run_folder)
        assert _reaped(pid)
    assert list(tmp_path.iterdir()) == [], "no folder and no temporary entry"


@pytest.mark.parametrize("error, message", [
    (DataError("equity.parquet", "equity", "broken", "rerun"), "equity.parquet, column 'equity': broken"),
    (MemoryError("out of memory"), "out of memory"),
])
def test_a_failing_child_raises_here_and_leaves_nothing(tmp_path, run_folder, monkeypatch, error, message) -> None:
    monkeypatch.setattr(pdf, "render_pdf", _fail_after_writing_part(error))  # before the fork: the child's too
    assert_fails_cleanly(tmp_path, run_folder, type(error), message)


def test_an_error_that_cannot_travel_is_sent_as_its_text(tmp_path, run_folder, monkeypatch) -> None:
    class Unpicklable(Exception):
        def __init__(self, a, b):
            super().__init__(f"{a}/{b}")
    monkeypatch.setattr(pdf, "render_pdf", _fail_after_writing_part(Unpicklable("x", "y")))
    assert_fails_cleanly(tmp_path, run_folder, RulebookError, "Unpicklable: x/y")


def test_a_child_that_dies_is_an_error_and_leaves_nothing(tmp_path, run_folder, monkeypatch) -> None:
    def die(report, destination, drawn=None):
        Path(destination).write_bytes(b"%PDF-1.4 half")
        os._exit(3)
    monkeypatch.setattr(pdf, "render_pdf", die)
    assert_fails_cleanly(tmp_path, run_folder, RulebookError, "ended without finishing it")


def test_an_error_in_this_process_stops_the_child(tmp_path, run_folder, monkeypatch) -> None:
    """The HTML fails while the child renders the PDF: the child is killed and reaped before the error
    propagates, so it cannot write into the folder being removed."""
    import engine.report.html as html

    def broken(report, destination):
        raise RulebookError("html broke")
    monkeypatch.setattr(html, "write_html", broken)
    assert_fails_cleanly(tmp_path, run_folder, RulebookError, "html broke")


def test_sending_the_job_does_not_wait_for_a_child_still_getting_ready(tmp_path, run_folder, monkeypatch) -> None:
    """The job (a pickle far larger than a pipe's 64 KB) goes out from a thread: while the child is still
    importing, this process writes the HTML instead of blocking on the pipe."""
    gate_read, gate_write = os.pipe()
    register = pdf.register_fonts
    monkeypatch.setattr(pdf, "register_fonts", lambda: (os.read(gate_read, 1), register()))  # the child waits
    def too_long(signum, frame):
        raise TimeoutError("submit waited for the child to read its job")
    previous = signal.signal(signal.SIGALRM, too_long)
    signal.alarm(30)  # a blocking submit would hang here: fail instead
    try:
        with pdf_worker.pdf_in_background():
            worker = pdf_worker.take_worker()
            worker.submit(build_report(run_folder), tmp_path / "report.pdf")  # returns with the child held
            os.write(gate_write, b"x" * 8)  # a byte for each call of register_fonts
            assert worker.result() == str(tmp_path / "report.pdf")
            assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        os.close(gate_read)
        os.close(gate_write)
