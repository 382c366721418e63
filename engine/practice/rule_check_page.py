"""The rule check drawn on one page: a self-contained HTML file and a one-page PDF.

The PDF is laid out as the sheet is read: the headline and the book, the orders across the page,
then two columns (the names against their caps; groups, screen, events, regime, hedges), the
notes last. It uses the report's fonts and table style (engine.report.pdf) and is set in one
frame that shrinks its content to fit, so it never runs onto a second page, whatever the book.
The HTML shows the same cells with inline CSS: no script, no stylesheet or font to fetch.
"""

from __future__ import annotations

from html import escape as html_escape
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import BaseDocTemplate, Frame, KeepInFrame, PageTemplate, Paragraph, Spacer
from reportlab.platypus import Table as Grid
from reportlab.platypus import TableStyle

from engine.atomic import write_file_atomically
from engine.practice.rule_check import RuleCheck, rule_check
from engine.practice.today import Today
from engine.report.model import SYNTHETIC_WARNING, Table
from engine.report.pdf import ACCENT, MUTED, PAGE_SIZES, WARN, register_fonts, report_styles, table_flowable

MARGIN = 12 * mm
GUTTER = 6 * mm
LEFT_SHARE = 0.40  # of the width under the orders: the names column


def write_rule_check(result: Today, stem: Path, page_size: str | None = None) -> list[Path]:
    """``<stem>.rule-check.html`` and ``.pdf``, one page each (``page_size``: A4 or Letter; default the
    config's report.page_size)."""
    check = rule_check(result, page_size)
    stem = Path(stem)
    return [write_html(check, stem.with_name(stem.name + ".rule-check.html")),
            write_pdf(check, stem.with_name(stem.name + ".rule-check.pdf"))]


def write_pdf(check: RuleCheck, destination: Path) -> Path:
    return write_file_atomically(destination, lambda tmp: render_pdf(check, tmp))


def write_html(check: RuleCheck, destination: Path) -> Path:
    page = render_html(check)
    return write_file_atomically(destination, lambda tmp: tmp.write_text(page, encoding="utf-8"))


def _pdf_styles() -> dict[str, ParagraphStyle]:
    base = report_styles()
    small = ParagraphStyle("small", base["body"], fontSize=7.5, leading=9.5, spaceAfter=3, keepWithNext=False)
    return {**base, "small": small,
            "title": ParagraphStyle("check_title", base["title"], fontSize=14, leading=17, spaceAfter=1),
            "subtitle": ParagraphStyle("check_subtitle", base["subtitle"], fontSize=8, leading=10, spaceAfter=4),
            "headline": ParagraphStyle("headline", base["body"], fontName="Sans-Bold", fontSize=9.5, leading=12.5,
                                       backColor=colors.HexColor("#e8eef5"), borderPadding=(4, 5, 4, 5),
                                       spaceBefore=3, spaceAfter=8, textColor=colors.HexColor("#1d2430")),
            "warning": ParagraphStyle("check_warning", base["warning"], fontSize=8.5, leading=11,
                                      borderPadding=(3, 5, 3, 5), spaceBefore=2, spaceAfter=6),
            "h2": ParagraphStyle("check_h2", base["h2"], fontSize=8.5, leading=11, spaceBefore=4, spaceAfter=2,
                                 textColor=ACCENT),
            "note": ParagraphStyle("note", small, textColor=MUTED, fontSize=7, leading=8.8, spaceAfter=1.5)}


def _blocks(blocks: list, width: float, styles) -> list:
    out = []
    for block in blocks:
        if isinstance(block, Table):
            out += [Paragraph(escape(block.title), styles["h2"]), table_flowable(block, width, styles),
                    Spacer(1, 2 * mm)]
        else:
            out.append(Paragraph(escape(block), styles["small"]))
    return out


def _story(check: RuleCheck, width: float) -> list:
    styles = _pdf_styles()
    story: list = [Paragraph(escape(check.title), styles["title"])]
    if check.subtitle:
        story.append(Paragraph(escape(check.subtitle), styles["subtitle"]))
    if check.synthetic:
        story.append(Paragraph(f"{SYNTHETIC_WARNING}: these orders illustrate the method, not the market.",
                               styles["warning"]))
    story += [Paragraph(escape(check.headline), styles["headline"]), Paragraph(escape(check.book), styles["small"])]
    story += _blocks([check.orders], width, styles)
    left_width = (width - GUTTER) * LEFT_SHARE
    right_width = width - GUTTER - left_width
    columns = Grid([[_blocks(check.left, left_width, styles), "", _blocks(check.right, right_width, styles)]],
                   colWidths=[left_width, GUTTER, right_width], hAlign="LEFT")
    columns.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                                 ("RIGHTPADDING", (0, 0), (-1, -1), 0), ("TOPPADDING", (0, 0), (-1, -1), 0),
                                 ("BOTTOMPADDING", (0, 0), (-1, -1), 0)]))
    story.append(columns)
    if check.notes:
        story.append(Paragraph("Assumptions", styles["h2"]))
        story += [Paragraph(escape(note), styles["note"]) for note in check.notes]
    return story


def render_pdf(check: RuleCheck, destination: Path) -> None:
    """Write the one-page PDF to ``destination`` (not atomic; see write_pdf)."""
    register_fonts()
    page = PAGE_SIZES[check.page_size]
    width, height = page[0] - 2 * MARGIN, page[1] - 2 * MARGIN

    def footer(canvas, document) -> None:
        canvas.setFont("Sans", 7)
        canvas.setFillColor(MUTED)
        canvas.drawString(MARGIN, MARGIN - 5 * mm, "rulebook today · the rules' decision at the close; orders fill "
                                                   "at the next session")
        if check.synthetic:
            canvas.setFont("Sans-Bold", 7)
            canvas.setFillColor(WARN)
            canvas.drawRightString(page[0] - MARGIN, MARGIN - 5 * mm, SYNTHETIC_WARNING)

    document = BaseDocTemplate(str(destination), pagesize=page, leftMargin=MARGIN, rightMargin=MARGIN,
                               topMargin=MARGIN, bottomMargin=MARGIN, title=check.title, author="rulebook")
    frame = Frame(MARGIN, MARGIN, width, height, leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
    document.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=footer)])
    document.build([KeepInFrame(width, height, _story(check, width), mode="shrink")])


CSS = """
@page { size: %(page)s; margin: 12mm; }
body { font-family: "DejaVu Sans", Verdana, Arial, sans-serif; color: #1d2430; font-size: 11px; margin: 16px auto;
       max-width: 190mm; }
h1 { font-size: 19px; margin: 0 0 2px; }
.subtitle { color: #5f6b7a; margin: 0 0 6px; }
.warning { background: #b3261e; color: #fff; font-weight: bold; padding: 4px 8px; margin: 4px 0 8px; }
.headline { background: #e8eef5; font-weight: bold; font-size: 12.5px; padding: 6px 8px; margin: 6px 0 8px; }
h2 { color: #1f4e79; font-size: 11.5px; margin: 10px 0 3px; }
table { border-collapse: collapse; width: 100%%; font-size: 10px; }
th { background: #e8eef5; border-bottom: 1px solid #1f4e79; text-align: left; padding: 2px 5px; }
td { padding: 2px 5px; vertical-align: top; }
tr:nth-child(even) td { background: #f6f8fa; }
.num { text-align: right; white-space: nowrap; }
.columns { display: grid; grid-template-columns: 40%% 1fr; gap: 22px; }
.note { color: #5f6b7a; font-size: 9.5px; margin: 2px 0; }
p { margin: 4px 0; }
"""


def _html_table(table: Table) -> str:
    head = "".join(f'<th class="num">{html_escape(c)}</th>' if num else f"<th>{html_escape(c)}</th>"
                   for c, num in zip(table.columns, table.numeric))
    body = "".join("<tr>" + "".join(f'<td class="num">{html_escape(v)}</td>' if num else f"<td>{html_escape(v)}</td>"
                                    for v, num in zip(row, table.numeric)) + "</tr>" for row in table.rows)
    return f'<h2>{html_escape(table.title)}</h2>\n<table id="{table.key}"><tr>{head}</tr>{body}</table>'


def _html_blocks(blocks: list) -> str:
    return "\n".join(_html_table(b) if isinstance(b, Table) else f"<p>{html_escape(b)}</p>" for b in blocks)


def render_html(check: RuleCheck) -> str:
    warning = (f'<div class="warning">{SYNTHETIC_WARNING}: these orders illustrate the method, not the market.</div>'
               if check.synthetic else "")
    notes = ("<h2>Assumptions</h2>" + "".join(f'<p class="note">{html_escape(n)}</p>' for n in check.notes)
             if check.notes else "")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html_escape(check.title)}</title>
<style>{CSS % {"page": check.page_size}}</style></head>
<body>
<h1>{html_escape(check.title)}</h1>
<p class="subtitle">{html_escape(check.subtitle)}</p>
{warning}
<div class="headline">{html_escape(check.headline)}</div>
<p>{html_escape(check.book)}</p>
{_html_table(check.orders)}
<div class="columns"><div>{_html_blocks(check.left)}</div><div>{_html_blocks(check.right)}</div></div>
{notes}
</body></html>
"""
