"""A model Chart as a plotly.js figure for the HTML report, built as plain JSON-ready dicts.

Plain dicts instead of plotly.graph_objects: the same figure, without validating every
property in Python (that cost seconds per report). Values are rounded to what a reader
can see, which keeps the self-contained page small.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.report.chart_style import (BASE_HEIGHT_PX, MARK, RDYLGN, SEQUENTIAL_SCALE, SHADE,
                                       WATERFALL_COLORS, cell_text, color, heat_range, waterfall_text)
from engine.report.model import Chart

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
CONFIG = {"displaylogo": False, "responsive": True, "scrollZoom": False,
          "modeBarButtonsToRemove": ["sendDataToCloud", "lasso2d", "select2d"],
          "toImageButtonOptions": {"format": "png"}}
HEAT_ROW_PX, HEAT_TOP_PX, HEAT_BOTTOM_PX = 26, 80, 12  # a heatmap row; title, axis title and labels above


def plotly_spec(chart: Chart) -> dict:
    """{"data": traces, "layout": layout, "config": config} for Plotly.newPlot."""
    data = chart.data
    hover_format = ".2%" if chart.percent else (",.0f" if chart.money else ",.2f")
    if chart.kind == "heatmap":
        traces = [_heatmap(chart, hover_format)]
    elif chart.kind == "waterfall":
        traces = [_waterfall(chart, hover_format)]
    elif chart.kind == "band":
        traces = _band(chart, hover_format)
    elif chart.kind == "scatter":
        traces = _scatter(chart)
    else:
        traces = [_trace(chart, name, i, hover_format) for i, name in enumerate(data.columns)]
    legend_rows = 0 if chart.kind in ("heatmap", "band", "waterfall", "scatter") or data.shape[1] < 2 else 1 + data.shape[1] // 7
    layout = {
        "title": {"text": chart.title, "x": 0, "xanchor": "left", "y": 0.98, "yanchor": "top", "font": {"size": 15}},
        "height": int(BASE_HEIGHT_PX * max(chart.height, 0.5)) + 24 * legend_rows,
        "margin": {"l": 70, "r": 20, "t": 48, "b": 50 + 24 * legend_rows},
        "template": "plotly_white", "font": {"family": FONT},
        "hovermode": "x unified" if chart.kind in ("lines", "area", "stacked_area") else "closest",
        "showlegend": legend_rows > 0,
        "legend": {"orientation": "h", "x": 0, "xanchor": "left", "y": -0.12 - 0.02 * legend_rows, "yanchor": "top"},
        "xaxis": _x_axis(chart), "yaxis": _y_axis(chart),
    }
    if chart.kind in ("bars", "stacked_bars"):
        layout["barmode"] = "stack" if chart.kind == "stacked_bars" else "group"
        layout["bargap"] = 0.15
    if chart.kind == "heatmap":
        layout |= _heatmap_size(len(data))
    shapes, notes = _spans_and_marks(chart)
    if shapes:
        layout["shapes"], layout["annotations"] = shapes, notes
    if chart.money:
        layout["updatemenus"] = [_scale_toggle(chart.log_y)]
        layout["showlegend"], layout["margin"]["b"] = True, max(layout["margin"]["b"], 80)
    return {"data": traces, "layout": layout, "config": CONFIG}


def _x_values(index: pd.Index) -> list:
    if isinstance(index, pd.DatetimeIndex):
        return list(index.strftime("%Y-%m-%d"))
    if pd.api.types.is_numeric_dtype(index):
        return _rounded(index.to_numpy(dtype=float), 6)
    return [str(label) for label in index]


def _rounded(values: np.ndarray, digits: int) -> list:
    values = np.round(np.asarray(values, dtype=float), digits)
    return [None if value != value else value for value in values.tolist()]


def _digits(chart: Chart) -> int:
    return 2 if chart.money else (6 if chart.percent else 4)


def _trace(chart: Chart, name, i: int, hover_format: str) -> dict:
    x, y = _x_values(chart.data.index), _rounded(chart.data[name].to_numpy(dtype=float), _digits(chart))
    hover = f"%{{fullData.name}}: %{{y:{hover_format}}}<extra>%{{x}}</extra>"
    if chart.kind in ("bars", "stacked_bars"):
        return {"type": "bar", "x": x, "y": y, "name": str(name), "marker": {"color": color(i)},
                "hovertemplate": hover}
    trace = {"type": "scatter", "mode": "lines", "x": x, "y": y, "name": str(name),
             "line": {"color": color(i), "width": 1.4}, "hovertemplate": hover}
    if chart.kind == "stacked_area":
        trace["stackgroup"] = "one"
    elif chart.kind == "area" and i == 0:
        trace["fill"] = "tozeroy"
    return trace


def _heatmap_size(rows: int) -> dict:
    """Height from the rows: a fixed height left a band of empty space under a short grid, and the
    bottom margin held nothing (the column labels are on top)."""
    return {"height": HEAT_TOP_PX + HEAT_ROW_PX * max(rows, 2) + HEAT_BOTTOM_PX,
            "margin": {"l": 70, "r": 20, "t": HEAT_TOP_PX, "b": HEAT_BOTTOM_PX}}


def _heatmap(chart: Chart, hover_format: str) -> dict:
    z = chart.data.to_numpy(dtype=float)
    low, high = heat_range(z, chart.diverging)
    trace = {"type": "heatmap", "z": [_rounded(row, 6) for row in z], "x": [str(c) for c in chart.data.columns],
             "y": [str(r) for r in chart.data.index], "zmin": low, "zmax": high,
             "colorscale": [[i / (len(RDYLGN) - 1), c] for i, c in enumerate(RDYLGN)] if chart.diverging
             else SEQUENTIAL_SCALE,
             "text": [[cell_text(v, chart.percent) for v in row] for row in z], "texttemplate": "%{text}",
             "hovertemplate": f"%{{y}} · %{{x}}: %{{z:{hover_format}}}<extra></extra>",
             "colorbar": {"tickformat": ".0%" if chart.percent else ".2f"}, "xgap": 1, "ygap": 1}
    if chart.diverging:
        trace["zmid"] = 0
    return trace


def _waterfall(chart: Chart, hover_format: str) -> dict:
    data = chart.data
    values = data["value"].to_numpy(dtype=float)
    return {"type": "waterfall", "x": [str(step) for step in data.index], "y": _rounded(values, 6),
            "measure": list(data["measure"]), "textposition": "outside",
            "text": [waterfall_text(v, m, chart.percent) for v, m in zip(values, data["measure"])],
            "increasing": {"marker": {"color": WATERFALL_COLORS[0]}},
            "decreasing": {"marker": {"color": WATERFALL_COLORS[1]}},
            "totals": {"marker": {"color": WATERFALL_COLORS[2]}}, "connector": {"line": {"color": "#999", "width": 0.6}},
            "hovertemplate": f"%{{x}}: %{{y:{hover_format}}}<extra></extra>", "showlegend": False}


def _scatter(chart: Chart) -> list[dict]:
    data = chart.data
    x, y = _rounded(data.iloc[:, 0], 6), _rounded(data.iloc[:, 1], 6)
    finite = [v for v in x + y if v is not None]
    low, high = (min(finite), max(finite)) if finite else (0.0, 1.0)
    value = ".1%" if chart.percent else ".2f"
    return [{"type": "scatter", "mode": "markers", "x": x, "y": y, "text": [str(i) for i in data.index],
             "marker": {"color": color(0), "size": 7, "opacity": 0.8}, "name": "events",
             "hovertemplate": f"%{{text}}<br>{chart.x_label}: %{{x:{value}}}<br>{chart.y_label}: %{{y:{value}}}"
                              "<extra></extra>"},
            {"type": "scatter", "mode": "lines", "x": [low, high], "y": [low, high], "name": "y = x",
             "line": {"color": "#888", "dash": "dash", "width": 1}, "hoverinfo": "skip"}]


def _band(chart: Chart, hover_format: str) -> list[dict]:
    data, x = chart.data, _x_values(chart.data.index)
    return [
        {"type": "scatter", "mode": "lines", "x": x, "y": _rounded(data["high"], 6), "line": {"width": 0},
         "showlegend": False, "hoverinfo": "skip"},
        {"type": "scatter", "mode": "lines", "x": x, "y": _rounded(data["low"], 6), "line": {"width": 0},
         "fill": "tonexty", "fillcolor": "rgba(31,78,121,0.18)", "name": "95% band", "hoverinfo": "skip"},
        {"type": "scatter", "mode": "lines", "x": x, "y": _rounded(data["mean"], 6), "name": "mean",
         "line": {"color": color(0)}, "hovertemplate": f"mean: %{{y:{hover_format}}}<extra>%{{x}}</extra>"},
    ]


def _x_axis(chart: Chart) -> dict:
    axis = {"title": {"text": chart.x_label}, "automargin": True}
    if chart.kind == "heatmap":
        axis |= {"type": "category", "side": "top"}
    elif chart.x_percent or (chart.kind == "scatter" and chart.percent):
        axis["tickformat"] = ".0%"
    elif chart.kind != "scatter" and not isinstance(chart.data.index, pd.DatetimeIndex) \
            and not pd.api.types.is_numeric_dtype(chart.data.index):
        axis["type"] = "category"
    if chart.kind == "band":
        axis["range"] = [float(chart.data.index.min()), float(chart.data.index.max())]
    return axis


def _y_axis(chart: Chart) -> dict:
    axis = {"title": {"text": chart.y_label}, "automargin": True}
    if chart.kind == "heatmap":
        return axis | {"type": "category", "autorange": "reversed"}
    if chart.percent:
        axis["tickformat"] = ".0%"
    elif chart.money:
        axis["tickformat"] = "~s"
    if chart.log_y:
        axis["type"] = "log"
    return axis


def _spans_and_marks(chart: Chart) -> tuple[list[dict], list[dict]]:
    shapes, notes = [], []
    for start, end, label in chart.spans:
        shapes.append({"type": "rect", "xref": "x", "yref": "paper", "x0": str(start)[:10], "x1": str(end)[:10],
                       "y0": 0, "y1": 1, "fillcolor": SHADE, "line": {"width": 0}, "layer": "below"})
        notes.append({"x": str(start)[:10], "y": 1, "xref": "x", "yref": "paper", "text": label, "showarrow": False,
                      "xanchor": "left", "yanchor": "top", "font": {"size": 10, "color": MARK}})
    for x, label in chart.marks:
        shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": str(x)[:10], "x1": str(x)[:10],
                       "y0": 0, "y1": 1, "line": {"color": MARK, "width": 1, "dash": "dash"}})
        notes.append({"x": str(x)[:10], "y": 0.02, "xref": "x", "yref": "paper", "text": label, "showarrow": False,
                      "xanchor": "left", "yanchor": "bottom", "font": {"size": 10, "color": MARK}})
    return shapes, notes


def _scale_toggle(log_first: bool) -> dict:
    buttons = [{"label": "Log scale", "method": "relayout", "args": [{"yaxis.type": "log"}]},
               {"label": "Linear scale", "method": "relayout", "args": [{"yaxis.type": "linear"}]}]
    return {"type": "buttons", "direction": "left", "x": 1, "y": -0.12, "xanchor": "right", "yanchor": "top",
            "showactive": True, "active": 0 if log_first else 1, "buttons": buttons, "pad": {"t": 0, "b": 2},
            "font": {"size": 11}}
