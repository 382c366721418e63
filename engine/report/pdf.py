"""The report as a paginated PDF, pure Python: reportlab platypus, charts as vector drawings.

Charts are drawn once by matplotlib's own PDF backend and placed on the page as PDF
form XObjects (pdfrw), so they stay vector and cost nothing when reportlab lays the
document out twice for its table of contents (the SVG → svglib route it replaces took
most of the report's time). Text uses DejaVu Sans (shipped with matplotlib) so any
character a rule's reason may contain prints. Tables repeat their header row on every
page they run over.
"""

from __future__ import annotations

import io
from pathlib import Path
from xml.sax.saxutils import escape

import matplotlib
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (BaseDocTemplate, Flowable, Frame, LongTable, PageBreak, PageTemplate, Paragraph,
                                Preformatted, Spacer, TableStyle)
from reportlab.platypus.tableofcontents import TableOfContents
from pdfrw import PdfReader as PdfrwReader
from pdfrw.buildxobj import pagexobj
from pdfrw.toreportlab import makerl

from engine.atomic import write_file_atomically
from engine.report import model
from engine.report.pdf_charts import pdf_charts

PAGE_SIZES = {"A4": A4, "Letter": LETTER}
MARGIN = 16 * mm
WARN = colors.HexColor("#b3261e")
ACCENT = colors.HexColor("#1f4e79")
MUTED = colors.HexColor("#5f6b7a")
CELL_PADDING = 12.0  # left + right padding of a table cell, points
FONT_SIZES = (7.5, 7.0, 6.5, 6.0, 5.5)  # table text, largest that fits first
HEADER_WORD_CAP = 34.0  # a header word wider than this (a dotted config path) breaks rather than widen its column
CODE_INDENT = "    "  # before the continuation of a code line too long for the page
FONTS = {"Sans": "DejaVuSans.ttf", "Sans-Bold": "DejaVuSans-Bold.ttf", "Mono": "DejaVuSansMono.ttf"}


def register_fonts() -> None:
    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    for name, file in FONTS.items():
        if name not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(name, str(folder / file)))


def report_styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName="Sans", fontSize=9, leading=12.5, spaceAfter=5)
    return {
        "body": ParagraphStyle("body", base, keepWithNext=True),  # an intro stays with its chart or table
        "title": ParagraphStyle("title", base, fontName="Sans-Bold", fontSize=20, leading=25, spaceAfter=6),
        "subtitle": ParagraphStyle("subtitle", base, textColor=MUTED, fontSize=10, leading=14),
        "h1": ParagraphStyle("h1", base, fontName="Sans-Bold", fontSize=14, leading=18, spaceBefore=16,
                             spaceAfter=6, textColor=ACCENT, keepWithNext=True),
        "h2": ParagraphStyle("h2", base, fontName="Sans-Bold", fontSize=10, leading=13, spaceBefore=6,
                             spaceAfter=3, keepWithNext=True),
        "warning": ParagraphStyle("warning", base, fontName="Sans-Bold", fontSize=12, leading=16,
                                  textColor=colors.white, backColor=WARN, borderPadding=(6, 8, 6, 8),
                                  spaceBefore=8, spaceAfter=14),
        "cell": ParagraphStyle("cell", base, fontSize=7.5, leading=9.5, spaceAfter=0),
        "cell_num": ParagraphStyle("cell_num", base, fontSize=7.5, leading=9.5, spaceAfter=0, alignment=TA_RIGHT),
        "code": ParagraphStyle("code", base, fontName="Mono", fontSize=7, leading=8.6),
        "toc1": ParagraphStyle("toc1", base, fontSize=10, leading=15, leftIndent=8),
    }


class _ReportDocument(BaseDocTemplate):
    """Adds each section heading to the table of contents and the PDF outline."""

    def afterFlowable(self, flowable) -> None:
        if isinstance(flowable, Paragraph) and flowable.style.name == "h1":
            key = getattr(flowable, "_bookmark", None)
            self.canv.bookmarkPage(key)
            self.canv.addOutlineEntry(flowable.getPlainText(), key, level=0)
            self.notify("TOCEntry", (0, flowable.getPlainText(), self.page, key))


def _numbered_canvas(report: model.Report):
    """A canvas that draws the header and 'page x of y' once the page count is known."""

    class NumberedCanvas(Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._saved = []

        def showPage(self):
            self._saved.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            for state in self._saved:
                self.__dict__.update(state)
                self._decorate(len(self._saved))
                super().showPage()
            super().save()

        def _decorate(self, pages: int) -> None:
            width, height = self._pagesize
            top = height - MARGIN + 5 * mm
            self.setStrokeColor(colors.HexColor("#c9d1db"))
            self.line(MARGIN, top - 2.5 * mm, width - MARGIN, top - 2.5 * mm)
            self.setFont("Sans-Bold", 8.5)
            self.setFillColor(ACCENT)
            self.drawString(MARGIN, top, report.run_name)
            self.setFont("Sans", 8)
            self.setFillColor(MUTED)
            self.drawRightString(width - MARGIN, top, f"run {report.created} · {report.start} to {report.end}")
            if report.synthetic:
                self.setFont("Sans-Bold", 8.5)
                self.setFillColor(WARN)
                self.drawCentredString(width / 2, top, model.SYNTHETIC_WARNING)
            self.setFont("Sans", 8)
            self.setFillColor(MUTED)
            self.drawRightString(width - MARGIN, MARGIN - 8 * mm, f"page {self._pageNumber} of {pages}")

    return NumberedCanvas


class _VectorChart(Flowable):
    """A chart as a PDF form XObject, scaled to the frame width (vector; drawn by reference)."""

    def __init__(self, page, width: float) -> None:
        super().__init__()
        self.page = page
        self.scale = width / float(page.BBox[2])
        self.width, self.height = width, float(page.BBox[3]) * self.scale
        self.hAlign = "LEFT"

    def wrap(self, available_width, available_height):
        return self.width, self.height

    def draw(self) -> None:
        name = makerl(self.canv, self.page)
        self.canv.scale(self.scale, self.scale)
        self.canv.doForm(name)


def report_charts(report: model.Report) -> list[model.Chart]:
    return [block for section in report.sections for block in section.blocks if isinstance(block, model.Chart)]


def chart_width(report: model.Report) -> float:
    """The charts' width in points: the text frame's."""
    return PAGE_SIZES[report.settings.page_size][0] - 2 * MARGIN


def _chart_flowables(report: model.Report, width: float, drawn: dict[int, object] | None) -> dict[int, _VectorChart]:
    """Every chart of the report drawn once, keyed by id(chart); ``drawn``: pages already drawn
    (see draw_charts), else they are drawn here, all into one PDF."""
    charts = report_charts(report)
    if drawn is None:
        drawn = draw_charts(charts, width) if charts else {}
    return {id(chart): _VectorChart(drawn[id(chart)], width) for chart in charts}


def draw_charts(charts: list[model.Chart], width: float, rendered: bytes | None = None) -> dict[int, object]:
    """id(chart) -> its page as a form XObject, from one PDF of the charts (``rendered``: made elsewhere
    with pdf_charts(charts, width / 72), e.g. by another process)."""
    rendered = pdf_charts(charts, width_in=width / 72.0) if rendered is None else rendered
    pages = PdfrwReader(io.BytesIO(rendered)).pages
    return {id(chart): pagexobj(page) for chart, page in zip(charts, pages)}


def table_flowable(table: model.Table, width: float, styles) -> LongTable:
    """A table whose numbers each fit on one line: a wide table is set in a smaller font."""
    for size in FONT_SIZES:
        widths = _column_widths(table, width, size)
        if widths is not None:
            break
    else:
        widths = _column_widths(table, width, size, squeeze=True)
    cell = ParagraphStyle(f"cell{size}", styles["cell"], fontSize=size, leading=size + 2)
    cell_num = ParagraphStyle(f"cell_num{size}", styles["cell_num"], fontSize=size, leading=size + 2)
    header = [Paragraph(f"<b>{escape(c)}</b>", cell_num if num else cell)
              for c, num in zip(table.columns, table.numeric)]
    room = [w - CELL_PADDING for w in widths]
    body = [[value if _one_line(table, r, c, value, num, room[c], cell_num.fontName, size) else
             Paragraph(_cell_markup(table, r, c, value), cell_num if num else cell)
             for c, (value, num) in enumerate(zip(row, table.numeric))] for r, row in enumerate(table.rows)]
    flowable = LongTable([header, *body], colWidths=widths, repeatRows=1, hAlign="LEFT")
    flowable.setStyle(TableStyle([
        # a cell that fits on one line is a plain string set like cell/cell_num (a Paragraph each was most of the
        # PDF's layout time)
        ("FONTNAME", (0, 1), (-1, -1), cell_num.fontName), ("FONTSIZE", (0, 1), (-1, -1), size),
        ("LEADING", (0, 1), (-1, -1), cell_num.leading),
        *[("ALIGN", (c, 1), (c, -1), "RIGHT") for c, num in enumerate(table.numeric) if num],
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, ACCENT),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f6f8fa")]),
        ("LINEBELOW", (0, -1), (-1, -1), 0.4, colors.HexColor("#c9d1db")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 1.6), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.6),
        ("LEFTPADDING", (0, 0), (-1, -1), CELL_PADDING / 2), ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PADDING / 2),
    ]))
    return flowable


def _one_line(table: model.Table, row: int, column: int, value: str, numeric: bool, room: float,
              font: str, size: float) -> bool:
    """Whether a cell can be a plain string: no link or anchor, and a number (never wrapped) or one
    single-spaced line of text that fits its column."""
    if column == 0 and ((table.links and table.links[row]) or (table.anchors and table.anchors[row])):
        return False
    return numeric or (" ".join(value.split()) == value and pdfmetrics.stringWidth(value, font, size) <= room)


def _cell_markup(table: model.Table, row: int, column: int, value: str) -> str:
    """A cell's text; the first cell links to (or is the target of) a glossary anchor."""
    text = escape(value)
    if column == 0 and table.links and table.links[row]:
        return f'<a href="#{table.links[row]}" color="#1d2430">{text}</a>'
    if column == 0 and table.anchors and table.anchors[row]:
        return f'<a name="{table.anchors[row]}"/>{text}'
    return text


def _column_widths(table: model.Table, width: float, size: float, squeeze: bool = False) -> list[float] | None:
    """Column widths at font ``size``, or None if the numbers alone do not fit.

    Every column is at least as wide as its widest cell (numbers never wrap) and its longest
    header word; headers wrap between words; long text columns share what room is left.
    """
    def measure(text: str, font: str = "Sans") -> float:
        return pdfmetrics.stringWidth(text, font, size)

    padding = CELL_PADDING + 1.0
    cells = [max([measure(row[i]) for row in table.rows] or [0.0]) for i in range(len(table.columns))]
    words = [max(measure(word, "Sans-Bold") for word in (name.split() or [""])) for name in table.columns]
    headers = [measure(name, "Sans-Bold") for name in table.columns]
    full = [max(c, h) + padding for c, h in zip(cells, headers)]
    if sum(full) <= width:
        return full
    least = [max(c, min(w, HEADER_WORD_CAP)) + padding for c, w in zip(cells, words)]  # longer header words break
    flexible = [not num and w > width / 6 for w, num in zip(least, table.numeric)]  # long text may wrap
    fixed = sum(w for w, flex in zip(least, flexible) if not flex)
    if squeeze:  # nothing fits: every column shrinks by the same factor from its least width
        return [w * width / sum(least) for w in least]
    if fixed > width or (any(flexible) and width - fixed < 0.2 * width):
        return None
    if not any(flexible):
        return least if sum(least) <= width else None
    longest_word = [max([measure(word) for row in table.rows for word in row[i].split()] or [0.0]) + padding
                    for i in range(len(table.columns))]
    floor = [max(word, min(header, HEADER_WORD_CAP) + padding) for word, header in zip(longest_word, words)]
    spare = width - fixed - sum(f for f, flex in zip(floor, flexible) if flex)
    if spare < 0:
        return None
    wish = sum(w - f for w, f, flex in zip(least, floor, flexible) if flex) or 1.0
    return [f + (w - f) * spare / wish if flex else w for w, f, flex in zip(least, floor, flexible)]


def _story(report: model.Report, width: float, drawn: dict | None) -> list:
    """Page 1: the title and the summary section; page 2: contents; then every other section."""
    styles = report_styles()
    charts = _chart_flowables(report, width, drawn)
    story: list = [Paragraph(escape(report.title), styles["title"])]
    if report.description:
        story.append(Paragraph(escape(report.description), styles["subtitle"]))
    story.append(Paragraph(f"Backtest {report.start} to {report.end} · run created {report.created}",
                           styles["subtitle"]))
    if report.synthetic:
        story.append(Paragraph(f"{model.SYNTHETIC_WARNING}: these results illustrate the method, not the market.",
                               styles["warning"]))
    contents = TableOfContents(levelStyles=[styles["toc1"]], dotsMinLevel=0)
    for number, section in enumerate(report.sections, start=1):
        heading = Paragraph(f"{number}. {escape(section.title)}", styles["h1"])
        heading._bookmark = section.key
        story.append(heading)
        for block in section.blocks:
            story += _block_flowables(block, width, styles, charts)
        if number == 1:
            story += [PageBreak(), Paragraph("Contents", styles["h2"]), contents, PageBreak()]
    return story


def _block_flowables(block: model.Block, width: float, styles, charts: dict) -> list:
    if isinstance(block, model.Paragraph):
        return [Paragraph(escape(block.text), styles["body"])]
    if isinstance(block, model.Chart):
        return [charts[id(block)], Spacer(1, 3 * mm)]
    if isinstance(block, model.Table):
        return [Paragraph(escape(block.title), styles["h2"]), table_flowable(block, width, styles),
                Spacer(1, 3 * mm)]
    code = styles["code"]
    per_line = int(width // pdfmetrics.stringWidth("M", code.fontName, code.fontSize)) - len(CODE_INDENT)
    return [Paragraph(escape(block.title), styles["h2"]),  # long lines wrap after a space, indented
            Preformatted(block.text, code, maxLineLength=per_line, splitChars=" ", newLineChars=CODE_INDENT)]


def render_pdf(report: model.Report, destination: Path, drawn: dict | None = None) -> None:
    """Write the PDF to ``destination`` (not atomic; see write_pdf); ``drawn``: its charts, from draw_charts."""
    register_fonts()
    page = PAGE_SIZES[report.settings.page_size]
    document = _ReportDocument(str(destination), pagesize=page, leftMargin=MARGIN, rightMargin=MARGIN,
                               topMargin=MARGIN + 4 * mm, bottomMargin=MARGIN, title=report.title,
                               author="rulebook", subject=f"{report.start} to {report.end}")
    frame = Frame(MARGIN, MARGIN, chart_width(report), page[1] - 2 * MARGIN - 4 * mm, id="body")
    document.addPageTemplates([PageTemplate(id="page", frames=[frame])])
    document.multiBuild(_story(report, frame._width, drawn), canvasmaker=_numbered_canvas(report))


def write_pdf(report: model.Report, destination: Path, drawn: dict | None = None) -> Path:
    return write_file_atomically(destination, lambda tmp: render_pdf(report, tmp, drawn))
