"""The report's first page and its metrics: the summary in words with the key numbers and the
equity curve, the full metrics table and trailing returns (strategy and benchmark side by side).

metrics.json gives the strategy's and the benchmark's standard metrics (engine.analysis.metrics);
the tear-sheet statistics come from engine.analysis.return_stats on equity.parquet, computed the
same way for both curves.
"""

from __future__ import annotations

import pandas as pd

from engine.analysis import return_stats as stats
from engine.analysis.drawdowns import drawdown_table
from engine.report import performance as perf
from engine.report.formatting import FORMATTERS, HEADLINE, integer, percent
from engine.report.glossary import anchor
from engine.report.model import Chart, Paragraph, Section, Table
from engine.run.folder import RunFolder
from engine.config.report import ReportConfig

BLANK = ""
SUMMARY_KEYS = ("total_return", "cagr", "volatility", "sharpe", "sortino", "max_drawdown", "calmar", "beta",
                "alpha", "information_ratio")
# label, key in the tear-sheet statistics, formatter, glossary key
EXTRA = (
    ("VaR 95% (daily)", "var_95", "signed_percent", "var_95"),
    ("CVaR 95% (daily)", "cvar_95", "signed_percent", "cvar_95"),
    ("Skew", "skew", "ratio", "skew"),
    ("Kurtosis (excess)", "kurtosis", "ratio", "kurtosis"),
    ("Best month", "best_month", "signed_percent", "best_month"),
    ("Worst month", "worst_month", "signed_percent", "best_month"),
    ("Best year", "best_year", "signed_percent", "best_month"),
    ("Worst year", "worst_year", "signed_percent", "best_month"),
    ("Positive months", "positive_months", "percent", "positive_months"),
    ("Average up month", "avg_up_month", "signed_percent", "avg_up_month"),
    ("Average down month", "avg_down_month", "signed_percent", "avg_up_month"),
    ("Time invested", "time_invested", "percent", "time_invested"),
)
GLOSSARY_OF = {"worst_day": "best_day", "final_equity": "", "avg_names": "exposure"}


def curve_statistics(run: RunFolder, column: str) -> dict:
    """Tear-sheet statistics of one equity.parquet column (the benchmark is fully invested)."""
    curve = run.equity[column].dropna()
    result = stats.tail_and_shape(stats.session_returns(curve)) | stats.calendar_stats(curve)
    result["time_invested"] = stats.time_invested(run.weights)["time_invested"] if column == "equity" else 1.0
    return result


def benchmark_name(run: RunFolder) -> str:
    return f"Benchmark ({run.config.get('benchmark')})"


def _metric_rows(run: RunFolder, keys: tuple[str, ...] | None) -> tuple[list[list[str]], list[str]]:
    metrics, bench = run.metrics, run.has_benchmark
    rows, links = [], []
    for label, key, bench_key, kind in HEADLINE:
        if key not in metrics or (keys is not None and key not in keys):
            continue
        row = [label, FORMATTERS[kind](metrics[key])]
        if bench:
            row.append(FORMATTERS[kind](metrics.get(bench_key)) if bench_key else BLANK)
        rows.append(row)
        links.append(anchor(GLOSSARY_OF.get(key, key)) if GLOSSARY_OF.get(key, key) else "")
    return rows, links


def _columns(run: RunFolder) -> list[str]:
    return ["Metric", "Strategy"] + ([benchmark_name(run)] if run.has_benchmark else [])


def summary_words(run: RunFolder) -> str:
    """The headline paragraph: return against the benchmark, deepest drawdown, and any cash at the start."""
    metrics, bench, benchmark = run.metrics, run.has_benchmark, run.config.get("benchmark")
    text = (f"From {metrics['start']} to {metrics['end']} ({integer(metrics['sessions'])} sessions) the strategy "
            f"returned {percent(metrics['total_return'], signed=True)} ({percent(metrics['cagr'], signed=True)} a "
            "year" + (f") against {percent(metrics.get('benchmark_total_return'), signed=True)} "
                      f"({percent(metrics.get('benchmark_cagr'), signed=True)} a year) for {benchmark}" if bench
                      else ")")
            + f", with a Sharpe ratio of {FORMATTERS['ratio'](metrics.get('sharpe'))}"
            + (f" against {FORMATTERS['ratio'](metrics.get('benchmark_sharpe'))}" if bench else "")
            + f". Its deepest drawdown was {percent(metrics['max_drawdown'])}")
    if metrics.get("max_drawdown_peak"):
        text += (f", from {metrics['max_drawdown_peak']} to a trough on {metrics['max_drawdown_trough']}, "
                 + (f"recovered on {metrics['max_drawdown_recovery']}." if metrics.get("max_drawdown_recovery")
                    else "not recovered by the end of the run."))
    else:
        text += "."
    invested = stats.time_invested(run.weights)
    if invested["first_invested"] is None:
        return text + " It never held a position."
    if invested["cash_sessions_at_start"] > 0:
        text += (f" It sat in cash for its first {integer(invested['cash_sessions_at_start'])} sessions (until "
                 f"{invested['first_invested']}, marked on the chart) while its rules' history requirements "
                 "warmed up; every figure counts those sessions.")
    return text + f" It held positions at {percent(invested['time_invested'], 0)} of session closes."


def equity_chart(run: RunFolder, settings: ReportConfig, worst: int = 5) -> Chart:
    curves = run.equity[["equity"] + (["benchmark"] if run.has_benchmark else [])]
    curves = curves.rename(columns={"equity": "Strategy", "benchmark": benchmark_name(run)})
    episodes = drawdown_table(run.equity["equity"], top=worst)
    last = run.equity.index[-1]
    spans = tuple((row.peak, row.recovery if pd.notna(row.recovery) else last, f"#{rank}")
                  for rank, row in enumerate(episodes.itertuples(), start=1))
    invested = stats.time_invested(run.weights)
    marks = ((invested["first_invested"], f"first invested {invested['first_invested']}"),) \
        if invested["first_invested"] and invested["cash_sessions_at_start"] > 0 else ()
    return Chart("equity", "Equity vs benchmark (worst drawdowns shaded)", "lines", curves,
                 y_label="portfolio value (USD)", log_y=settings.log_scale, money=True, spans=spans, marks=marks,
                 height=1.3)


def summary_section(run: RunFolder, settings: ReportConfig) -> Section:
    rows, links = _metric_rows(run, SUMMARY_KEYS)
    invested = stats.time_invested(run.weights)
    rows.append(["Time invested", percent(invested["time_invested"])] + (["100.00%"] if run.has_benchmark else []))
    links.append(anchor("time_invested"))
    table = Table("Key metrics", _columns(run), rows, [False, True, True][: len(_columns(run))], key="summary",
                  links=tuple(links))
    return Section("summary", "Summary", [Paragraph(summary_words(run)), table, equity_chart(run, settings)])


def metrics_section(run: RunFolder, settings: ReportConfig) -> Section:
    """Every metric, strategy and benchmark; each label links to its glossary entry."""
    rows, links = _metric_rows(run, None)
    strategy = curve_statistics(run, "equity")
    benchmark = curve_statistics(run, "benchmark") if run.has_benchmark else {}
    for label, key, kind, glossary_key in EXTRA:
        rows.append([label, FORMATTERS[kind](strategy[key])]
                    + ([FORMATTERS[kind](benchmark[key])] if run.has_benchmark else []))
        links.append(anchor(glossary_key))
    ppy = perf.periods_per_year(run.config.get("data", {}).get("calendar", "XNYS"), run.equity.index)
    columns = _columns(run)
    numeric = [False, True, True][: len(columns)]
    trailing = {"Strategy": stats.trailing_returns(run.equity["equity"], ppy)}
    if run.has_benchmark:
        trailing[benchmark_name(run)] = stats.trailing_returns(run.equity["benchmark"].dropna(), ppy)
    periods = list(trailing["Strategy"])
    trailing_rows = [[period] + [percent(values[period], signed=True) for values in trailing.values()]
                     for period in periods]
    return Section("metrics", "Performance metrics", [
        Paragraph(f"Strategy and benchmark over the same sessions, annualised with {ppy:.2f} sessions a year "
                  "(the exchange calendar's mean). Each metric's name links to how it is computed (Glossary). "
                  "Relative metrics (beta to active return) compare the strategy with the benchmark, so the "
                  "benchmark has none of its own."),
        Table("Headline metrics", columns, rows, numeric, key="headline", links=tuple(links)),
        Table(f"Trailing returns to {run.metrics['end']}", ["Period"] + list(trailing), trailing_rows,
              [False, True, True][: len(trailing) + 1], key="trailing",
              links=tuple(anchor("trailing") for _ in periods)),
    ])
