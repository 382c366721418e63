"""What both chart renderers share, so a chart reads the same in the HTML and the PDF:
colours, the heatmap's colour range and cell text, and how axis numbers print."""

from __future__ import annotations

import numpy as np

# Twelve colours a reader can tell apart (a stacked chart of eleven rules needs eleven).
PALETTE = ("#1f4e79", "#d4772c", "#3b8a5a", "#8e5ea2", "#c0392b", "#2b9bb3", "#b58b00", "#6b6b6b",
           "#e377c2", "#8c564b", "#9ecae1", "#a1d76a")
WATERFALL_COLORS = ("#3b8a5a", "#c0392b", "#1f4e79")  # up, down, levels
SHADE = "rgba(192,57,43,0.10)"  # drawdown spans
MARK = "#b3261e"
HEATMAP_SCALE = "RdYlGn"  # matplotlib's name; plotly.js needs the stops themselves (RDYLGN)
RDYLGN = ("#a50026", "#d73027", "#f46d43", "#fdae61", "#fee08b", "#ffffbf", "#d9ef8b", "#a6d96a", "#66bd63",
          "#1a9850", "#006837")  # ColorBrewer RdYlGn, 11 classes: losses red, gains green
SEQUENTIAL_SCALE = "Viridis"
BASE_HEIGHT_PX = 380
BASE_HEIGHT_IN = 2.9


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def heat_range(values: np.ndarray, diverging: bool) -> tuple[float, float]:
    """Colour limits: symmetric about 0 at the 95th percentile of |value| (returns), or the data's range."""
    finite = values[np.isfinite(values)]
    if not finite.size:
        return -1.0, 1.0
    if diverging:
        limit = float(np.quantile(np.abs(finite), 0.95)) or 1.0
        return -limit, limit
    low, high = float(finite.min()), float(finite.max())
    return (low, high) if high > low else (low - 1.0, high + 1.0)


def cell_text(value: float, percent: bool) -> str:
    if not np.isfinite(value):
        return ""
    return f"{value:+.1%}" if percent else f"{value:.2f}"


def readable_on(rgb: tuple[float, float, float]) -> str:
    """Dark text on light cells, white on dark ones (relative luminance, sRGB in 0..1)."""
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb[:3]]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return "#111111" if luminance > 0.23 else "#ffffff"


def money_tick(value: float) -> str:
    """1,250,000 → 1.25M; 80,000 → 80k (currency axes)."""
    magnitude = abs(value)
    if magnitude >= 1e9:
        return f"{value / 1e9:.3g}B"
    if magnitude >= 1e6:
        return f"{value / 1e6:.3g}M"
    if magnitude >= 1e3:
        return f"{value / 1e3:.3g}k"
    return f"{value:.0f}"


def waterfall_text(value: float, measure: str, percent: bool) -> str:
    """A change is signed, a level is not."""
    if measure == "relative" or not np.isfinite(value):
        return cell_text(value, percent)
    return f"{value:.1%}" if percent else f"{value:.2f}"


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
