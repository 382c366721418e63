"""Draw a model Chart two ways: a plotly figure (interactive HTML) and a matplotlib figure (vector PDF).

Both take the same Chart and the same palette, so a chart reads the same in either report.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # never needs a display
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import plotly.graph_objects as go  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from engine.report.model import Chart  # noqa: E402

PALETTE = ("#1f4e79", "#d4772c", "#3b8a5a", "#8e5ea2", "#c0392b", "#2b9bb3", "#b58b00", "#6b6b6b",
           "#e377c2", "#17becf")
HEATMAP_SCALE = "RdYlGn"
WATERFALL_COLORS = ("#3b8a5a", "#c0392b", "#1f4e79")  # up, down, levels
BASE_HEIGHT_PX = 380
BASE_HEIGHT_IN = 2.9


def _color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _heat_limit(values: np.ndarray) -> float:
    finite = np.abs(values[np.isfinite(values)])
    return float(np.quantile(finite, 0.95)) if finite.size else 1.0


def _cell_text(value: float, percent: bool) -> str:
    if not np.isfinite(value):
        return ""
    return f"{value:+.1%}" if percent else f"{value:.2f}"


def _waterfall_text(value: float, measure: str, percent: bool) -> str:
    """A change is signed, a level is not."""
    if measure == "relative" or not np.isfinite(value):
        return _cell_text(value, percent)
    return f"{value:.1%}" if percent else f"{value:.2f}"


# ---------------------------------------------------------------- plotly (HTML)

def plotly_figure(chart: Chart) -> go.Figure:
    data, fig = chart.data, go.Figure()
    value_format = ".2%" if chart.percent else ",.2f"
    hover = f"%{{fullData.name}}: %{{y:{value_format}}}<extra>%{{x}}</extra>"
    if chart.kind == "heatmap":
        z = data.to_numpy(dtype=float)
        limit = _heat_limit(z)
        fig.add_trace(go.Heatmap(
            z=z, x=list(data.columns), y=list(data.index), zmid=0, zmin=-limit, zmax=limit,
            colorscale=HEATMAP_SCALE, text=[[_cell_text(v, chart.percent) for v in row] for row in z],
            texttemplate="%{text}", hovertemplate=f"%{{y}} %{{x}}: %{{z:{value_format}}}<extra></extra>",
            colorbar={"tickformat": ".0%" if chart.percent else ".2f"}, xgap=1, ygap=1))
        fig.update_yaxes(autorange="reversed", type="category")
        fig.update_xaxes(type="category", side="top")
    elif chart.kind == "waterfall":
        fig.add_trace(go.Waterfall(
            x=[str(step) for step in data.index], y=data["value"], measure=list(data["measure"]),
            text=[_waterfall_text(v, m, chart.percent) for v, m in zip(data["value"], data["measure"])],
            textposition="outside",
            increasing={"marker": {"color": WATERFALL_COLORS[0]}}, decreasing={"marker": {"color": WATERFALL_COLORS[1]}},
            totals={"marker": {"color": WATERFALL_COLORS[2]}}, connector={"line": {"color": "#999", "width": 0.6}},
            hovertemplate=f"%{{x}}: %{{y:{value_format}}}<extra></extra>", showlegend=False))
    elif chart.kind == "band":
        x = list(data.index)
        fig.add_trace(go.Scatter(x=x, y=data["high"], mode="lines", line={"width": 0}, showlegend=False,
                                 hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=x, y=data["low"], mode="lines", line={"width": 0}, fill="tonexty",
                                 fillcolor="rgba(31,78,121,0.18)", name="confidence band", hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=x, y=data["mean"], mode="lines", name="mean", line={"color": _color(0)},
                                 hovertemplate=hover))
        fig.add_vline(x=0, line={"color": "#888", "dash": "dot"})
    else:
        for i, name in enumerate(data.columns):
            fig.add_trace(_plotly_trace(chart, data, name, i, hover))
        if chart.kind in ("stacked_bars", "bars"):
            fig.update_layout(barmode="stack" if chart.kind == "stacked_bars" else "group")
    fig.update_layout(
        title={"text": chart.title, "x": 0, "xanchor": "left", "font": {"size": 15}},
        height=int(BASE_HEIGHT_PX * max(chart.height, 0.5)), margin={"l": 60, "r": 20, "t": 60, "b": 40},
        template="plotly_white", hovermode="x unified" if chart.kind in ("lines", "area", "stacked_area") else "closest",
        legend={"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom"},
        font={"family": "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"},
    )
    if chart.kind != "heatmap":
        fig.update_yaxes(title_text=chart.y_label, tickformat=".0%" if chart.percent else None,
                         type="log" if chart.log_y else None)
    if chart.key == "equity":
        fig.update_layout(updatemenus=[_scale_toggle(chart.log_y)], legend={"x": 0, "xanchor": "left"})
    return fig


def _plotly_trace(chart: Chart, data: pd.DataFrame, name: str, i: int, hover: str):
    x, y, color = data.index, data[name], _color(i)
    if chart.kind in ("bars", "stacked_bars"):
        return go.Bar(x=list(x), y=y, name=str(name), marker_color=color, hovertemplate=hover)
    extra = {"stackgroup": "one"} if chart.kind == "stacked_area" else (
        {"fill": "tozeroy"} if chart.kind == "area" and i == 0 else {})
    return go.Scatter(x=x, y=y, name=str(name), mode="lines", line={"color": color, "width": 1.4},
                      hovertemplate=hover, **extra)


def _scale_toggle(log_first: bool) -> dict:
    buttons = [{"label": "Log scale", "method": "relayout", "args": [{"yaxis.type": "log"}]},
               {"label": "Linear scale", "method": "relayout", "args": [{"yaxis.type": "linear"}]}]
    return {"type": "buttons", "direction": "left", "x": 1, "y": 1.02, "xanchor": "right", "yanchor": "bottom",
            "showactive": True, "active": 0 if log_first else 1, "buttons": buttons, "pad": {"t": 0, "b": 4},
            "font": {"size": 11}}


# ---------------------------------------------------------------- matplotlib (PDF)

def matplotlib_figure(chart: Chart, width_in: float) -> plt.Figure:
    """A static figure for the PDF; the caller saves it as SVG and closes it."""
    fig, ax = plt.subplots(figsize=(width_in, BASE_HEIGHT_IN * max(chart.height, 0.45)), layout="constrained")
    data = chart.data
    ax.set_title(chart.title, loc="left", fontsize=10, fontweight="bold")
    ax.tick_params(labelsize=7.5)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if chart.kind == "heatmap":
        _mpl_heatmap(ax, fig, chart)
        return fig
    if chart.kind == "band":
        ax.fill_between(data.index, data["low"], data["high"], color=_color(0), alpha=0.18, lw=0)
        ax.plot(data.index, data["mean"], color=_color(0), lw=1.4)
        ax.axvline(0, color="#888", ls=":", lw=0.8)
    elif chart.kind == "stacked_area":
        ax.stackplot(data.index, *[data[c].to_numpy() for c in data.columns], labels=list(data.columns),
                     colors=[_color(i) for i in range(data.shape[1])], lw=0)
    elif chart.kind in ("bars", "stacked_bars"):
        _mpl_bars(ax, chart)
    elif chart.kind == "waterfall":
        _mpl_waterfall(ax, chart)
    else:
        for i, name in enumerate(data.columns):
            ax.plot(data.index, data[name], color=_color(i), lw=0.9, label=str(name))
            if chart.kind == "area" and i == 0:
                ax.fill_between(data.index, data[name], 0, color=_color(i), alpha=0.15, lw=0)
    ax.grid(True, color="#e5e5e5", lw=0.5)
    ax.set_axisbelow(True)
    ax.set_ylabel(chart.y_label, fontsize=8)
    if chart.log_y:
        ax.set_yscale("log")
    if chart.percent:
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
    elif chart.y_label == "value":
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    if isinstance(data.index, pd.DatetimeIndex) and chart.kind not in ("bars", "stacked_bars"):
        ax.xaxis.set_major_locator(mdates.AutoDateLocator(maxticks=12))
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(ax.xaxis.get_major_locator()))
        ax.margins(x=0)
    if data.shape[1] > 3:
        ax.legend(fontsize=7, frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5), reverse=True)
    elif data.shape[1] > 1 and chart.kind not in ("band", "waterfall"):
        ax.legend(fontsize=7, frameon=False, ncols=3, loc="lower right", bbox_to_anchor=(1.0, 1.0))
    return fig


def _mpl_bars(ax, chart: Chart) -> None:
    data = chart.data
    positions = np.arange(len(data))
    bottom = np.zeros(len(data))
    width = 0.8 / (1 if chart.kind == "stacked_bars" else data.shape[1])
    for i, name in enumerate(data.columns):
        values = data[name].to_numpy(dtype=float)
        if chart.kind == "stacked_bars":
            ax.bar(positions, values, 0.9, bottom=bottom, color=_color(i), label=str(name), lw=0)
            bottom += values
        else:
            ax.bar(positions + (i - (data.shape[1] - 1) / 2) * width, values, width, color=_color(i),
                   label=str(name), lw=0)
    labels = [d.strftime("%Y-%m") if isinstance(d, pd.Timestamp) else str(d) for d in data.index]
    step = max(1, len(labels) // 12)
    ax.set_xticks(positions[::step], labels[::step], rotation=30 if len(labels) > 6 else 0, ha="right")


def waterfall_spans(values, measures) -> tuple[np.ndarray, np.ndarray]:
    """(bottom, height) of each waterfall bar: a level from 0, a change from the running level."""
    bottoms, heights, level = [], [], 0.0
    for value, measure in zip(values, measures):
        if measure == "relative":
            bottoms.append(level)
            heights.append(value)
            level += value
        else:
            level = value if measure == "absolute" else level
            bottoms.append(0.0)
            heights.append(level)
    return np.array(bottoms), np.array(heights)


def _mpl_waterfall(ax, chart: Chart) -> None:
    data = chart.data
    bottoms, heights = waterfall_spans(data["value"].to_numpy(dtype=float), data["measure"])
    colors = [WATERFALL_COLORS[2] if m != "relative" else WATERFALL_COLORS[0 if h >= 0 else 1]
              for m, h in zip(data["measure"], heights)]
    positions = np.arange(len(data))
    ax.bar(positions, heights, 0.7, bottom=bottoms, color=colors, lw=0)
    for x, bottom, height, value, measure in zip(positions, bottoms, heights, data["value"], data["measure"]):
        ax.text(x, bottom + max(height, 0.0), _waterfall_text(float(value), measure, chart.percent), ha="center",
                va="bottom", fontsize=6.5)
    ax.axhline(0, color="#888", lw=0.6)
    ax.margins(y=0.12)
    ax.set_xticks(positions, [str(step) for step in data.index], rotation=30, ha="right")


def _mpl_heatmap(ax, fig, chart: Chart) -> None:
    values = chart.data.to_numpy(dtype=float)
    limit = _heat_limit(values)
    rows, cols = values.shape
    image = ax.pcolormesh(np.arange(cols + 1) - 0.5, np.arange(rows + 1) - 0.5, np.ma.masked_invalid(values),
                          cmap=HEATMAP_SCALE, vmin=-limit, vmax=limit, edgecolors="white", linewidth=0.5)
    ax.invert_yaxis()  # first row on top, like the HTML heatmap; pcolormesh keeps the PDF vector
    ax.set_xticks(range(values.shape[1]), list(chart.data.columns))
    ax.set_yticks(range(values.shape[0]), list(chart.data.index))
    ax.xaxis.tick_top()
    for (row, col), value in np.ndenumerate(values):
        ax.text(col, row, _cell_text(value, chart.percent), ha="center", va="center", fontsize=6.5, color="#111")
    for side in ax.spines.values():
        side.set_visible(False)
    colorbar = fig.colorbar(image, ax=ax, fraction=0.03, pad=0.01)
    colorbar.solids.set_rasterized(False)  # matplotlib rasterises long colorbars; keep the PDF vector
    colorbar.ax.tick_params(labelsize=7)
    if chart.percent:
        colorbar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
