"""How numbers read in a report: one set of formatters for both renderers.

Fractions print as percentages, ratios with two decimals, dates as ISO days.
Negative numbers use an ASCII hyphen so a reader (or a test) can copy them back.
"""

from __future__ import annotations

import math

import pandas as pd

MISSING = "n/a"

# label, metrics.json key, benchmark key (None: not a benchmark's metric), formatter name
HEADLINE = (
    ("Total return", "total_return", "benchmark_total_return", "signed_percent"),
    ("CAGR", "cagr", "benchmark_cagr", "signed_percent"),
    ("Volatility", "volatility", "benchmark_volatility", "percent"),
    ("Sharpe", "sharpe", "benchmark_sharpe", "ratio"),
    ("Sortino", "sortino", "benchmark_sortino", "ratio"),
    ("Max drawdown", "max_drawdown", "benchmark_max_drawdown", "percent"),
    ("Max drawdown length (sessions)", "max_drawdown_sessions", "benchmark_max_drawdown_sessions", "integer"),
    ("Calmar", "calmar", "benchmark_calmar", "ratio"),
    ("Hit rate", "hit_rate", "benchmark_hit_rate", "percent"),
    ("Best day", "best_day", "benchmark_best_day", "signed_percent"),
    ("Worst day", "worst_day", "benchmark_worst_day", "signed_percent"),
    ("Turnover (one-way, per year)", "turnover", None, "ratio"),
    ("Exposure (mean gross)", "exposure", None, "percent"),
    ("Names held (mean)", "avg_names", None, "ratio"),
    ("Final equity", "final_equity", None, "money"),
    ("Beta", "beta", None, "ratio"),
    ("Alpha (annual)", "alpha", None, "signed_percent"),
    ("Correlation", "correlation", None, "ratio"),
    ("Tracking error", "tracking_error", None, "percent"),
    ("Information ratio", "information_ratio", None, "ratio"),
    ("Active return (CAGR difference)", "active_return", None, "signed_percent"),
)


def _missing(value) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and not math.isfinite(value)) \
        or (not isinstance(value, str) and pd.isna(value))


def percent(value, digits: int = 2, signed: bool = False) -> str:
    if _missing(value):
        return MISSING
    return f"{float(value):{'+' if signed else ''}.{digits}%}"


def number(value, digits: int = 2, signed: bool = False) -> str:
    if _missing(value):
        return MISSING
    return f"{float(value):{'+' if signed else ''},.{digits}f}"


def integer(value) -> str:
    return MISSING if _missing(value) else f"{int(value):,d}"


def money(value) -> str:
    return MISSING if _missing(value) else f"{float(value):,.0f}"


def day(value) -> str:
    return MISSING if _missing(value) else pd.Timestamp(value).date().isoformat()


def text(value) -> str:
    return MISSING if _missing(value) else str(value)


FORMATTERS = {"percent": percent, "signed_percent": lambda v: percent(v, signed=True), "ratio": number,
              "integer": integer, "money": money, "day": day, "text": text}

PERCENT_HINTS = ("return", "drawdown", "car", "weight", "before", "after", "depth", "exposure", "cagr",
                 "volatility", "vol", "alpha", "hit", "ar_", "diff")


def column_kind(name: str, series: pd.Series) -> str:
    """The formatter for a column of a run-folder table, from its dtype and name.

    Used for tables whose exact columns belong to other modules (event study,
    hedges, variants): fractions are recognised by the words their names use.
    """
    lowered = name.lower()
    if pd.api.types.is_datetime64_any_dtype(series) or lowered in {"date", "session", "session_date"} \
            or lowered.endswith(("_date", "_session")) and not pd.api.types.is_numeric_dtype(series):
        return "day"
    if pd.api.types.is_bool_dtype(series):
        return "text"
    if pd.api.types.is_integer_dtype(series):
        return "integer"
    if pd.api.types.is_float_dtype(series):
        if lowered.endswith(("sessions", "_n", "count")) or lowered in {"n", "events", "offset"}:
            return "integer"
        return "percent" if any(hint in lowered for hint in PERCENT_HINTS) else "ratio"
    return "text"


def format_column(name: str, series: pd.Series) -> list[str]:
    formatter = FORMATTERS[column_kind(name, series)]
    return [formatter(value) for value in series.tolist()]


def parse_number(cell: str) -> float | None:
    """Inverse of the formatters (for checks): '+27.99%' → 0.2799, '1,234' → 1234.0, 'n/a' → None."""
    cell = cell.strip().replace(",", "")
    if cell == MISSING:
        return None
    if cell.endswith("%"):
        return float(cell[:-1]) / 100.0
    return float(cell)
