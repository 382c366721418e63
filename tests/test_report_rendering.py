"""What the report says and how it renders: the new numbers, the benchmark column filled, the
first page a summary, every chart titled with both axes labelled, and no PDF cell text wider than
its column."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pypdf import PdfReader
from reportlab.pdfbase.pdfmetrics import stringWidth

from engine.analysis import return_stats as rs
from engine.report import pdf as pdf_report
from engine.report.config_diff import non_default, non_default_yaml
from engine.report.formatting import HEADLINE, parse_number
from engine.report.glossary import GLOSSARY, anchor
from engine.report.headline import EXTRA
from engine.report.model import Chart, Code, Report, Section, Table
from engine.report.contents import build_report
from engine.report.pdf_charts import _figure
from engine.report.plotly_charts import plotly_spec
from engine.config.report import ReportConfig
from report_run_folder import CASH_SESSIONS, write_run_folder


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return write_run_folder(tmp_path_factory.mktemp("render") / "full")


@pytest.fixture(scope="module")
def report(folder):
    return build_report(folder)


def _table(report, section: str, key: str) -> Table:
    return next(t for t in report.section(section).tables() if t.key == key)


def test_every_metric_with_a_benchmark_meaning_has_its_benchmark_value(report) -> None:
    rows = {row[0]: row for row in _table(report, "metrics", "headline").rows}
    with_benchmark = [label for label, _, bench_key, _ in HEADLINE if bench_key] + [label for label, *_ in EXTRA]
    assert len(with_benchmark) >= 22
    for label in with_benchmark:
        assert rows[label][2] not in ("", "n/a"), label


def test_tear_sheet_rows_are_return_stats_on_the_equity_curve(report, folder) -> None:
    frame = pd.read_parquet(folder / "equity.parquet").set_index("date")
    expected = rs.tail_and_shape(rs.session_returns(frame["equity"])) | rs.calendar_stats(frame["equity"])
    rows = {row[0]: row for row in _table(report, "metrics", "headline").rows}
    for label, key, _, _ in EXTRA:
        if key in expected:
            cell = rows[label][1]
            unit = 0.01 if cell.endswith("%") else 1.0
            assert parse_number(cell) == pytest.approx(expected[key], abs=0.51 * 0.01 * unit), label
    trailing = {row[0]: row for row in _table(report, "metrics", "trailing").rows}
    ppy_trailing = rs.trailing_returns(frame["benchmark"], 252.33)
    assert parse_number(trailing["YTD"][2]) == pytest.approx(ppy_trailing["YTD"], abs=5e-5)
    assert trailing["5Y (ann.)"][1] == "n/a"  # a three-year run has no five-year return


def test_headline_labels_link_to_glossary_entries_that_exist(report) -> None:
    anchors = set(_table(report, "glossary", "glossary").anchors)
    links = _table(report, "metrics", "headline").links + _table(report, "summary", "summary").links
    assert {link for link in links if link} <= anchors
    assert anchor("var_95") in links and len(anchors) == len(GLOSSARY)


def test_cash_at_the_start_is_said_and_marked(report, folder) -> None:
    weights = pd.read_parquet(folder / "weights.parquet").set_index("date")
    first = weights.index[CASH_SESSIONS].date().isoformat()
    words = report.section("summary").blocks[0].text
    assert f"sat in cash for its first {CASH_SESSIONS} sessions (until {first}" in words
    chart = report.section("summary").charts()[0]
    assert chart.marks == ((first, f"first invested {first}"),) and chart.money and len(chart.spans) >= 1


def test_the_config_appendix_lists_only_keys_that_differ_from_the_defaults(report, folder) -> None:
    code = report.section("provenance").blocks[1].text
    assert "name: fabricated" in code and "universe.symbols:" in code
    assert "strategy.rebalance" not in code and "report.log_scale" not in code and "risk_free" not in code
    changed = dict(non_default({"risk_free": 0.01, "report": {"log_scale": True, "page_size": "A4"}}))
    assert changed == {"risk_free": 0.01, "report.log_scale": True}


def test_every_chart_has_a_title_and_axis_labels_in_both_renderers(report) -> None:
    charts = [chart for section in report.sections for chart in section.charts()]
    assert len(charts) >= 15
    for chart in charts:
        assert chart.title and chart.x_label and chart.y_label, chart.key
        layout = plotly_spec(chart)["layout"]
        assert layout["title"]["text"] and layout["xaxis"]["title"]["text"] and layout["yaxis"]["title"]["text"]
        figure = _figure(chart, 6.5)
        axes = figure.axes[0]
        assert axes.get_xlabel() and axes.get_ylabel() and chart.title in [t.get_text() for t in figure.texts]


def overflowing_cells(table: Table, width: float) -> list[str]:
    """Cells of the PDF table with a laid-out line wider than their column, or a number broken over lines."""
    pdf_report.register_fonts()
    flowable = pdf_report.table_flowable(table, width, pdf_report.report_styles())
    bad = []
    for r, row in enumerate(flowable._cellvalues):
        for cell, style, column_width, numeric in zip(row, flowable._cellStyles[r], flowable._colWidths,
                                                      table.numeric):
            if isinstance(cell, str):  # a number set as a plain string: one line, as wide as its text
                room = column_width - pdf_report.CELL_PADDING + 0.5
                if "\n" in cell or stringWidth(cell, style.fontname, style.fontsize) > room:
                    bad.append(cell)
                continue
            cell.wrap(column_width - pdf_report.CELL_PADDING, 10_000)
            lines = cell.blPara.lines
            spare = [line[0] if isinstance(line, tuple) else line.extraSpace for line in lines]
            if (spare and min(spare) < -0.5) or (numeric and r > 0 and len(lines) > 1):  # headers may wrap
                bad.append(cell.getPlainText())
    return bad


def test_no_pdf_cell_text_is_wider_than_its_column(report) -> None:
    width = pdf_report.PAGE_SIZES["A4"][0] - 2 * pdf_report.MARGIN
    tables = [table for section in report.sections for table in section.tables()]
    assert len(tables) >= 15
    assert {table.key: overflowing_cells(table, width) for table in tables} == {table.key: [] for table in tables}


def test_the_overflow_check_catches_a_squeezed_number_and_an_overflowing_word(monkeypatch) -> None:
    numbers = [f"{v:+,.2f}%" for v in np.linspace(-12_345.6, 98_765.4, 10)]
    table = Table("wide", [f"column {i}" for i in range(10)], [numbers], [True] * 10)
    width = pdf_report.PAGE_SIZES["A4"][0] - 2 * pdf_report.MARGIN
    assert overflowing_cells(table, width) == []  # the renderer sets it in a smaller font
    monkeypatch.setattr(pdf_report, "FONT_SIZES", (9.0,))  # forced to squeeze the columns instead
    assert overflowing_cells(table, width) == numbers
    token = "/a/very/long/path/without/any/space/" * 6
    path = Table("paths", ["path"], [[token]], [False])
    assert overflowing_cells(path, width) == []  # reportlab splits a word longer than the column
    styles = pdf_report.report_styles
    monkeypatch.setattr(pdf_report, "report_styles", lambda: {name: style.clone(style.name, splitLongWords=0)
                                                         for name, style in styles().items()})
    assert overflowing_cells(path, 120) == [token]  # without splitting, the word runs out of its cell


def test_config_lines_wrap_inside_the_pdf_page_and_keep_their_characters() -> None:
    """The config appendix is one long YAML line per key; a line wider than the page ran off its edge,
    and YAML's default escaped '–' as '\\u2013'."""
    text = non_default_yaml({"description": "S&P 500 +1–3%", "universe": {"symbols": [f"SYM{i}" for i in range(90)]}})
    assert "+1–3%" in text and "\\u" not in text
    pdf_report.register_fonts()
    styles, width = pdf_report.report_styles(), 400.0
    code = pdf_report._block_flowables(Code("config", text), width, styles, {})[1]
    widest = max(pdf_report.pdfmetrics.stringWidth(line, "Mono", styles["code"].fontSize) for line in code.lines)
    assert len(code.lines) > 3 and widest <= width
    assert all(line.startswith(pdf_report.CODE_INDENT) for line in code.lines[2:])  # continuations are indented


def test_pdf_page_one_is_the_summary_and_page_two_the_contents(folder, report, tmp_path) -> None:
    pdf_report.write_pdf(report, tmp_path / "report.pdf")
    reader = PdfReader(tmp_path / "report.pdf")
    first, second = reader.pages[0].extract_text(), reader.pages[1].extract_text()
    metrics = json.loads((folder / "metrics.json").read_text())
    assert "1. Summary" in first and "Key metrics" in first and "sat in cash" in first
    assert f"{100 * metrics['total_return']:+.2f}%" in first and "2. Performance metrics" not in first
    assert len(reader.pages[0]["/Resources"]["/XObject"]) == 1  # the equity chart
    assert second.lstrip().splitlines()[1:2] and "Contents" in second and "Glossary" in second


def test_a_long_summary_still_leaves_the_contents_on_page_two(tmp_path) -> None:
    summary = Section("summary", "Summary", [Table("Key metrics", ["Metric", "Strategy"],
                                                   [[f"m{i}", "1.00"] for i in range(8)], [False, True])])
    other = Section("other", "Other", [Table("T", ["a"], [["x"]], [False])])
    report = Report("r", "", "2025-01-01", "2020-01-01", "2020-12-31", False, ReportConfig(), [summary, other])
    pdf_report.write_pdf(report, tmp_path / "r.pdf")
    pages = [page.extract_text() for page in PdfReader(tmp_path / "r.pdf").pages]
    assert "1. Summary" in pages[0] and "Contents" in pages[1] and "2. Other" in pages[2]
    assert np.all(["Contents" not in text for text in (pages[0], pages[2])])


def test_the_terminal_event_tables_say_what_the_report_says(report, folder) -> None:
    """One confidence-interval convention (clustered by event date) and the same event counts."""
    from engine.analysis.event_run import EventStudyResult
    from engine.cli.console import console
    from engine.cli.events import print_study

    files = {name: pd.read_parquet(folder / f"{name}.parquet") for name in
             ("events", "event_strategy", "event_summary", "event_car")}
    result = EventStudyResult(files["events"], files["event_strategy"], files["event_summary"], files["event_car"], [])
    width = console.width
    console.width = 200
    try:
        with console.capture() as captured:
            print_study(result, folder)
    finally:
        console.width = width
    reaction = {row[0]: row for row in _table(report, "events", "event_reaction").rows}
    books = {row[0]: row for row in _table(report, "events", "event_strategy").rows}
    terminal = captured.get()
    for kind, row in reaction.items():  # the report's cells (counts, clustered interval, ...) in the terminal
        assert re.search(r"\s*│\s*".join(map(re.escape, row)), terminal), kind
    for kind, row in books.items():
        assert re.search(rf"{kind}\s*│\s*{row[1]}\s*│", terminal), kind  # the same event count


def test_an_event_window_set_on_the_command_line_is_stated(tmp_path) -> None:
    run = write_run_folder(tmp_path / "run")
    config = (run / "config.yaml").read_text() + "event_study:\n  window: [-5, 10]\n"
    (run / "config.yaml").write_text(config)
    report = build_report(run)  # the fixture's event files span -10..20
    words = report.section("events").blocks[0].text
    assert "Window: 10 sessions before to 20 after day 0" in words
    assert "event_study.window is -5:10; the files were written by `rulebook events --window -10:20`" in words
    assert "--window -10:20" in report.section("provenance").blocks[1].text


def test_a_run_that_never_invested_still_reports(tmp_path) -> None:
    run = write_run_folder(tmp_path / "flat", full=False)
    equity = pd.read_parquet(run / "equity.parquet")
    equity["equity"] = 1e6
    equity.to_parquet(run / "equity.parquet")
    weights = pd.read_parquet(run / "weights.parquet")
    weights.loc[:, weights.columns != "date"] = 0.0
    weights.to_parquet(run / "weights.parquet")
    report = build_report(run)
    assert "It never held a position." in report.section("summary").blocks[0].text
    rows = {row[0]: row for row in _table(report, "metrics", "headline").rows}
    assert rows["Time invested"][1] == "0.00%" and rows["Skew"][1] == "n/a"
    pdf_report.write_pdf(report, tmp_path / "flat.pdf")
    assert len(PdfReader(tmp_path / "flat.pdf").pages) >= 5


def test_a_kind_with_one_event_has_no_t_statistic_nor_interval_rather_than_nan() -> None:
    from engine.report.event_section import reaction_rows

    summary = pd.DataFrame([{"subject": "symbols", "by": "kind", "key": "license", "metric": metric, "n_events": 1,
                             "mean": 0.2, "ci_lower_clustered": np.nan, "ci_upper_clustered": np.nan,
                             "t_stat_clustered": np.nan} for metric in ("car", "day0_return", "drawdown")])
    coverage = pd.DataFrame({"event_id": [0], "kind": ["license"], "session_date": [pd.Timestamp("2025-12-26")],
                             "symbols": ["NVDA"], "with_stock": [True]})
    (row,) = reaction_rows(summary, coverage)
    assert row[3] == "1" and row[6] == "n/a" and row[7] == "n/a" and "nan" not in " ".join(row)


@pytest.mark.parametrize("years", [1, 3, 10])
def test_html_heatmap_is_as_tall_as_its_rows_with_no_empty_band_below(years: int) -> None:
    grid = pd.DataFrame(np.full((years, 12), 0.01), index=range(2016, 2016 + years), columns=range(1, 13))
    chart = Chart("monthly_heatmap", "Monthly returns", "heatmap", grid, "year", percent=True, x_label="month",
                  height=0.3 + 0.06 * years)
    layout = plotly_spec(chart)["layout"]
    margin = layout["margin"]
    assert margin["b"] <= 16  # the column labels are on top: nothing to hold below the grid
    per_row = (layout["height"] - margin["t"] - margin["b"]) / max(years, 2)
    assert 20 <= per_row <= 32


def test_a_car_chart_says_where_the_data_cuts_its_window() -> None:
    from engine.report.event_section import window_cut

    offsets = list(range(-2, 6))
    def path(n):
        return pd.DataFrame({"offset": offsets, "n": n})
    assert window_cut(path([1, 1, 1, 1, 1, 1, 0, 0]), 5) == "; the data ends at +3 of +5"
    assert window_cut(path([2] * 7 + [1]), 5) == "; 1 reach +5 before the data ends"
    assert window_cut(path([2] * 8), 5) == ""
