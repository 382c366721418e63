"""Writing reports for a run folder: the `rulebook report` command and the end of `rulebook run`."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

from engine.atomic import update_folder_atomically
from engine.errors import ConfigError
from engine.config.report import ReportFormat

FILE_NAMES = {"html": "report.html", "pdf": "report.pdf"}


def parse_formats(text: str) -> list[str]:
    """'html,pdf' → ['html', 'pdf']; an unknown format is a ConfigError naming the option."""
    formats = [part.strip().lower() for part in text.split(",") if part.strip()]
    unknown = [name for name in formats if name not in get_args(ReportFormat)]
    if unknown or not formats:
        raise ConfigError("command line", "--format", f"unknown report format {', '.join(unknown) or '(none)'}",
                          "use html, pdf or html,pdf")
    return list(dict.fromkeys(formats))


def reports_line(folder: Path, formats: list[str]) -> str:
    """'Reports: <folder>/report.html, <folder>/report.pdf' for the terminal."""
    return "Reports: " + ", ".join(f"[bold]{Path(folder) / FILE_NAMES[name]}[/]" for name in formats)


def rewrite_reports(run_dir: Path, formats: list[str], page_size: str | None = None) -> None:
    """`rulebook report`: replace the reports of an existing run folder as a set (both or neither)."""
    update_folder_atomically(run_dir, lambda copy: write_reports(run_dir, formats, page_size, into=copy))


def write_reports(run_dir: Path, formats: list[str], page_size: str | None = None, *,
                  into: Path | None = None) -> list[Path]:
    """Build the report model once from ``run_dir`` and write each format into ``into`` (default: the same folder).

    Inside ``pdf_in_background()`` the PDF is written by the waiting child while this process
    writes the HTML; the child is reaped before this returns or raises."""
    from engine.report.contents import build_report
    from engine.report.pdf_worker import take_worker

    report = build_report(Path(run_dir), page_size)
    destinations = {name: Path(into or run_dir) / FILE_NAMES[name] for name in formats}
    worker = take_worker() if "pdf" in formats else None
    try:
        if worker is not None:
            worker.submit(report, destinations["pdf"])
        written = {name: _write(name, report, destinations[name]) for name in formats
                   if not (name == "pdf" and worker is not None)}
        if worker is not None:
            written["pdf"] = Path(worker.result())
    finally:
        if worker is not None:
            worker.close()
    return [written[name] for name in formats]


def _write(name: str, report, destination: Path) -> Path:
    if name == "html":
        from engine.report.html import write_html
        return write_html(report, destination)
    from engine.report.pdf import write_pdf
    return write_pdf(report, destination)
