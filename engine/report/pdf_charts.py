"""Model Charts as vector PDF pages, drawn by matplotlib's PDF backend for the PDF report.

The layout is fixed in inches (title row, legend row, axes, tick labels), not solved by
constrained layout, so each chart is drawn once; bars are one polygon collection, not
one patch per bar. Text uses the PDF core Helvetica, so nothing is embedded per chart.
"""

from __future__ import annotations

import io
import logging

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.collections import PolyCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from engine.report.chart_style import (BASE_HEIGHT_IN, HEATMAP_SCALE, MARK, SEQUENTIAL_SCALE, WATERFALL_COLORS,
                                       cell_text, color, heat_range, money_tick, readable_on, waterfall_spans,
                                       waterfall_text)
from engine.report.model import Chart

STYLE = {"pdf.use14corefonts": True, "font.family": "sans-serif", "font.sans-serif": ["Helvetica"],
         "axes.unicode_minus": False, "pdf.compression": 6, "axes.titlesize": 10, "xtick.labelsize": 7.5,
         "ytick.labelsize": 7.5, "axes.labelsize": 8, "axes.linewidth": 0.6}
logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)  # core Helvetica's AFM weight is 'Medium'
TITLE_IN, LEGEND_IN, LEFT_IN, BOTTOM_IN = 0.30, 0.20, 0.78, 0.50


def pdf_charts(charts: list[Chart], width_in: float) -> bytes:
    """Every chart as one page of a single PDF (page i = chart i), width_in wide.

    One PDF file for all charts: matplotlib then reads its font metrics once, not per chart.
    """
    buffer = io.BytesIO()
    with matplotlib.rc_context(STYLE), PdfPages(buffer, metadata={"Creator": "rulebook"}) as pages:
        for chart in charts:
            pages.savefig(_figure(chart, width_in))
    return buffer.getvalue()


def _figure(chart: Chart, width_in: float) -> Figure:
    height_in = BASE_HEIGHT_IN * max(chart.height, 0.45)
    series = chart.data.shape[1]
    legend = chart.kind not in ("heatmap", "band", "scatter", "waterfall") and series > 1
    side_legend = legend and series > 4
    top = TITLE_IN + (LEGEND_IN if legend and not side_legend else 0.0) + (0.28 if chart.kind == "heatmap" else 0.0)
    right = 1.55 if side_legend else (0.85 if chart.kind == "heatmap" else 0.15)
    bottom = 0.12 if chart.kind == "heatmap" else BOTTOM_IN + (0.25 if _rotated_labels(chart) else 0.0)
    left = LEFT_IN + (0.2 if chart.kind == "heatmap" and chart.data.index.astype(str).str.len().max() > 6 else 0)
    figure = Figure(figsize=(width_in, height_in))
    ax = figure.add_axes([left / width_in, bottom / height_in, 1 - (left + right) / width_in,
                          1 - (top + bottom) / height_in])
    figure.text(0.06 / width_in, 1 - 0.06 / height_in, chart.title, ha="left", va="top", fontsize=10,
                fontweight="bold")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    handles = DRAW[chart.kind](ax, figure, chart)
    ax.set_xlabel(chart.x_label)
    ax.set_ylabel(chart.y_label)
    if chart.kind != "heatmap":
        _format_axes(ax, chart)
    if legend:
        if side_legend:
            figure.legend(handles=handles[::-1], loc="center left", fontsize=7, frameon=False,
                          bbox_to_anchor=(1 - (right - 0.1) / width_in, 0.5))
        else:
            figure.legend(handles=handles, loc="upper left", fontsize=7, frameon=False, ncols=min(series, 6),
                          bbox_to_anchor=(0.02 / width_in, 1 - TITLE_IN / height_in), borderaxespad=0)
    return figure


def _rotated_labels(chart: Chart) -> bool:
    return chart.kind == "waterfall" or (chart.kind in ("bars", "stacked_bars") and _categorical(chart.data.index)
                                         and len(chart.data) > 8)


def _categorical(index: pd.Index) -> bool:
    return not pd.api.types.is_numeric_dtype(index)


def _format_axes(ax, chart: Chart) -> None:
    ax.grid(True, color="#e5e5e5", lw=0.5)
    ax.set_axisbelow(True)
    if chart.log_y:
        ax.set_yscale("log")
    if chart.percent:
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
    elif chart.money:
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: money_tick(v)))
        ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
    if chart.x_percent:
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
    if isinstance(chart.data.index, pd.DatetimeIndex) and chart.kind not in ("bars", "stacked_bars"):
        locator = mdates.AutoDateLocator(maxticks=12)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        ax.margins(x=0)
    for start, end, label in chart.spans:
        ax.axvspan(pd.Timestamp(start), pd.Timestamp(end), color="#c0392b", alpha=0.10, lw=0)
        ax.text(pd.Timestamp(start), 0.98, label, transform=ax.get_xaxis_transform(), fontsize=6.5, color=MARK,
                va="top", ha="left")
    for x, label in chart.marks:
        ax.axvline(pd.Timestamp(x), color=MARK, lw=0.8, ls="--")
        ax.text(pd.Timestamp(x), 0.03, " " + label, transform=ax.get_xaxis_transform(), fontsize=6.5, color=MARK,
                va="bottom", ha="left")


def _lines(ax, figure, chart: Chart) -> list:
    data, handles = chart.data, []
    for i, name in enumerate(data.columns):
        values = data[name].to_numpy(dtype=float)
        handles += ax.plot(data.index, values, color=color(i), lw=0.9, label=str(name))
        if chart.kind == "area" and i == 0:
            ax.fill_between(data.index, values, 0, color=color(i), alpha=0.15, lw=0)
    return handles


def _stacked_area(ax, figure, chart: Chart) -> list:
    data = chart.data
    colors = [color(i) for i in range(data.shape[1])]
    ax.stackplot(data.index, *[data[c].to_numpy(dtype=float) for c in data.columns], colors=colors, lw=0)
    return [Patch(color=c, label=str(name)) for c, name in zip(colors, data.columns)]


def _bars(ax, figure, chart: Chart) -> list:
    """Grouped or stacked bars as one PolyCollection per series (fast to draw, vector)."""
    data = chart.data
    categorical = _categorical(data.index)
    positions = np.arange(len(data), dtype=float) if categorical else data.index.to_numpy(dtype=float)
    step = float(np.min(np.diff(positions))) if len(positions) > 1 else 1.0
    stacked = chart.kind == "stacked_bars"
    width = step * (0.85 if stacked or data.shape[1] == 1 else 0.85 / data.shape[1])
    bottom_pos, bottom_neg = np.zeros(len(data)), np.zeros(len(data))
    handles = []
    for i, name in enumerate(data.columns):
        values = np.nan_to_num(data[name].to_numpy(dtype=float))
        if stacked:
            base = np.where(values >= 0, bottom_pos, bottom_neg)
            bottom_pos, bottom_neg = bottom_pos + np.maximum(values, 0), bottom_neg + np.minimum(values, 0)
            centers = positions
        else:
            base = np.zeros(len(data))
            centers = positions + (i - (data.shape[1] - 1) / 2) * width
        left, right = centers - width / 2, centers + width / 2
        boxes = np.stack([np.column_stack([left, base]), np.column_stack([right, base]),
                          np.column_stack([right, base + values]), np.column_stack([left, base + values])], axis=1)
        ax.add_collection(PolyCollection(boxes, facecolors=color(i), edgecolors="none"))
        handles.append(Patch(color=color(i), label=str(name)))
    ax.autoscale_view()
    ax.axhline(0, color="#888", lw=0.5)
    if categorical:
        labels = [d.strftime("%Y-%m") if isinstance(d, pd.Timestamp) else str(d) for d in data.index]
        every = max(1, int(np.ceil(len(labels) / 24)))
        rotate = len(labels) > 8
        ax.set_xticks(positions[::every], labels[::every], rotation=60 if rotate else 0,
                      ha="right" if rotate else "center", fontsize=6.5 if rotate else 7.5)
        ax.set_xlim(-0.6, len(labels) - 0.4)
    return handles


def _band(ax, figure, chart: Chart) -> list:
    data = chart.data
    ax.fill_between(data.index, data["low"], data["high"], color=color(0), alpha=0.18, lw=0)
    ax.plot(data.index, data["mean"], color=color(0), lw=1.4)
    ax.axvline(0, color="#888", ls=":", lw=0.8)
    ax.set_xlim(data.index.min(), data.index.max())
    return []


def _scatter(ax, figure, chart: Chart) -> list:
    x, y = (chart.data.iloc[:, i].to_numpy(dtype=float) for i in (0, 1))
    ax.scatter(x, y, s=9, color=color(0), alpha=0.8, lw=0)
    finite = np.concatenate([x[np.isfinite(x)], y[np.isfinite(y)]])
    if finite.size:
        low, high = float(finite.min()), float(finite.max())
        ax.plot([low, high], [low, high], color="#888", lw=0.7, ls="--")
    if chart.percent:
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
    return []


def _waterfall(ax, figure, chart: Chart) -> list:
    data = chart.data
    bottoms, heights = waterfall_spans(data["value"].to_numpy(dtype=float), data["measure"])
    colors = [WATERFALL_COLORS[2] if m != "relative" else WATERFALL_COLORS[0 if h >= 0 else 1]
              for m, h in zip(data["measure"], heights)]
    positions = np.arange(len(data))
    ax.bar(positions, heights, 0.7, bottom=bottoms, color=colors, lw=0)
    for x, bottom, height, value, measure in zip(positions, bottoms, heights, data["value"], data["measure"]):
        ax.text(x, bottom + max(height, 0.0), waterfall_text(float(value), measure, chart.percent), ha="center",
                va="bottom", fontsize=6.5)
    ax.axhline(0, color="#888", lw=0.6)
    ax.margins(y=0.12)
    ax.set_xticks(positions, [str(step) for step in data.index], rotation=30, ha="right")
    return []


def _heatmap(ax, figure, chart: Chart) -> list:
    values = chart.data.to_numpy(dtype=float)
    low, high = heat_range(values, chart.diverging)
    cmap = matplotlib.colormaps[HEATMAP_SCALE if chart.diverging else SEQUENTIAL_SCALE.lower()]
    norm = Normalize(low, high)
    rows, cols = values.shape
    image = ax.pcolormesh(np.arange(cols + 1) - 0.5, np.arange(rows + 1) - 0.5, np.ma.masked_invalid(values),
                          cmap=cmap, norm=norm, edgecolors="white", linewidth=0.5)
    ax.invert_yaxis()  # first row on top, like the HTML heatmap
    ax.set_xticks(range(cols), [str(c) for c in chart.data.columns])
    ax.set_yticks(range(rows), [str(r) for r in chart.data.index])
    ax.xaxis.tick_top()
    ax.xaxis.set_label_position("top")
    ax.tick_params(length=0)
    for (row, col), value in np.ndenumerate(values):
        if np.isfinite(value):
            ax.text(col, row, cell_text(value, chart.percent), ha="center", va="center", fontsize=6.5,
                    color=readable_on(cmap(norm(value))))
    for side in ax.spines.values():
        side.set_visible(False)
    bar_ax = figure.add_axes([ax.get_position().x1 + 0.01, ax.get_position().y0, 0.012, ax.get_position().height])
    colorbar = figure.colorbar(image, cax=bar_ax)
    colorbar.solids.set_rasterized(False)  # keep the PDF vector
    colorbar.ax.tick_params(labelsize=7)
    if chart.percent:
        colorbar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
    return []


DRAW = {"lines": _lines, "area": _lines, "stacked_area": _stacked_area, "bars": _bars, "stacked_bars": _bars,
        "band": _band, "scatter": _scatter, "heatmap": _heatmap, "waterfall": _waterfall}
