"""The sections every run folder supports after the summary and the metrics: drawdowns, returns,
rolling statistics, exposure, trades, and the appendix (configuration and provenance)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.analysis.drawdowns import drawdown_series, drawdown_table
from engine.analysis.return_stats import period_returns, session_returns
from engine.report import performance as perf
from engine.report.config_diff import non_default_yaml
from engine.report.formatting import FORMATTERS, MISSING, day, format_column, integer, money, percent
from engine.report.headline import benchmark_name
from engine.report.model import Chart, Code, Paragraph, Section, Table
from engine.run.folder import RunFolder
from engine.config.report import ReportConfig

WORST_DRAWDOWNS = 10


def frame_table(title: str, frame: pd.DataFrame, kinds: dict[str, str] | None = None, key: str = "") -> Table:
    """A Table from a DataFrame: columns formatted by ``kinds`` (formatter names) or by their dtype/name."""
    kinds = kinds or {}
    columns = {name: ([FORMATTERS[kinds[name]](v) for v in frame[name].tolist()] if name in kinds
                      else format_column(str(name), frame[name])) for name in frame.columns}
    numeric = [pd.api.types.is_numeric_dtype(frame[name]) and not pd.api.types.is_bool_dtype(frame[name])
               for name in frame.columns]
    rows = [list(cells) for cells in zip(*columns.values())] if len(frame) else []
    return Table(title, [str(name) for name in frame.columns], rows, numeric, key)


def drawdowns_section(run: RunFolder, settings: ReportConfig) -> Section:
    underwater = pd.DataFrame({"Strategy": drawdown_series(run.equity["equity"])})
    if run.has_benchmark:
        underwater[benchmark_name(run)] = drawdown_series(run.equity["benchmark"])
    worst = drawdown_table(run.equity["equity"], top=WORST_DRAWDOWNS)
    rows = [[str(rank), day(r.peak), day(r.trough), day(r.recovery) if pd.notna(r.recovery) else "not recovered",
             percent(r.depth), integer(r.length_sessions),
             integer(r.recovery_sessions) if pd.notna(r.recovery_sessions) else MISSING]
            for rank, r in enumerate(worst.itertuples(), start=1)]
    table = Table(f"The {WORST_DRAWDOWNS} worst drawdowns", ["#", "Peak", "Trough", "Recovery", "Depth",
                                                             "Length (sessions)", "Trough to recovery (sessions)"],
                  rows, [True, False, False, False, True, True, True], key="worst_drawdowns")
    text = ("Fall from the running high at each close. Length counts sessions from the peak to the recovery "
            "(or to the last session when not recovered).")
    chart = Chart("underwater", "Underwater: drawdown from the running high", "area", underwater, "drawdown",
                  percent=True, height=0.8)
    return Section("drawdowns", "Drawdowns", [Paragraph(text), chart, table])


def _distribution(curves: dict[str, pd.Series], bins: int) -> pd.DataFrame:
    """Share of periods per return bin, the same bins for every curve (1st to 99th percentile of all)."""
    values = np.concatenate([series.dropna().to_numpy(dtype=float) for series in curves.values()])
    low, high = np.percentile(values, [1, 99])
    if not high > low:  # flat returns (a run that never traded): one narrow bin around them
        low, high = low - 1e-4, high + 1e-4
    edges = np.linspace(low, high, bins + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    shares = {name: np.histogram(np.clip(series.dropna(), low, high), edges)[0] / max(series.notna().sum(), 1)
              for name, series in curves.items()}
    return pd.DataFrame(shares, index=pd.Index(np.round(centres, 6), name="return"))


def returns_section(run: RunFolder, settings: ReportConfig) -> Section:
    equity = run.equity["equity"]
    grid = perf.monthly_table(equity)
    yearly = pd.DataFrame({"Strategy": period_returns(equity, "YE")})
    daily = {"Strategy": session_returns(equity)}
    monthly = {"Strategy": period_returns(equity, "ME")}
    if run.has_benchmark:
        benchmark = run.equity["benchmark"].dropna()
        yearly[benchmark_name(run)] = period_returns(benchmark, "YE")
        daily[benchmark_name(run)] = session_returns(benchmark)
        monthly[benchmark_name(run)] = period_returns(benchmark, "ME")
    yearly.index = [str(stamp.year) for stamp in yearly.index]
    table = yearly.rename(columns={benchmark_name(run): "Benchmark"})
    if run.has_benchmark:
        table["Difference"] = table["Strategy"] - table["Benchmark"]
    table.insert(0, "Year", table.index)
    kinds = {name: "signed_percent" for name in table.columns if name != "Year"}
    return Section("returns", "Monthly and yearly returns", [
        Paragraph("Compounded return of each calendar month and year, from month-end (year-end) closes; "
                  "the first period starts at the first session's close."),
        Chart("monthly_heatmap", "Monthly returns", "heatmap", grid, "year", percent=True, x_label="month",
              height=0.3 + 0.06 * len(grid)),
        Chart("yearly_bars", "Yearly returns vs benchmark", "bars", yearly, "return", percent=True, x_label="year",
              height=0.7),
        frame_table("Yearly returns", table.reset_index(drop=True), kinds, key="yearly"),
        Paragraph("Distributions: the share of sessions (months) whose return fell in each bin; the outer bins "
                  "hold everything beyond the 1st and 99th percentiles."),
        Chart("daily_distribution", "Distribution of daily returns", "bars", _distribution(daily, 41),
              "share of sessions", percent=True, x_label="daily return", x_percent=True, height=0.7),
        Chart("monthly_distribution", "Distribution of monthly returns", "bars", _distribution(monthly, 21),
              "share of months", percent=True, x_label="monthly return", x_percent=True, height=0.7),
    ])


def rolling_section(run: RunFolder, settings: ReportConfig) -> Section:
    ppy = perf.periods_per_year(run.config.get("data", {}).get("calendar", "XNYS"), run.equity.index)
    benchmark = run.equity["benchmark"] if run.has_benchmark else None
    stats = perf.rolling_statistics(run.equity["equity"], benchmark, ppy, float(run.config.get("risk_free") or 0))
    names = {"strategy": "Strategy", "benchmark": benchmark_name(run), "beta": "Beta"}
    window = perf.rolling_window(ppy)
    blocks = [Paragraph(f"Over the last {window} sessions (six months) at each close, annualised with "
                        f"{ppy:.2f} sessions per year.")]
    for key, title, label, percent_axis in (("sharpe", "Rolling 6-month Sharpe", "Sharpe", False),
                                            ("sortino", "Rolling 6-month Sortino", "Sortino", False),
                                            ("volatility", "Rolling 6-month volatility", "volatility", True),
                                            ("beta", "Rolling 6-month beta to the benchmark", "beta", False)):
        if key in stats:
            blocks.append(Chart(f"rolling_{key}", title, "lines", stats[key].rename(columns=names), label,
                                percent=percent_axis, height=0.6))
    return Section("rolling", "Rolling statistics", blocks)


def exposure_section(run: RunFolder, settings: ReportConfig) -> Section:
    groups = (run.config.get("universe") or {}).get("groups") or {}
    by_group = perf.exposure_by_group(run.weights, groups)
    gross = perf.gross_exposure(run.weights)
    summary = pd.DataFrame({"Group": by_group.columns, "Mean": by_group.mean().to_numpy(),
                            "Max": by_group.max().to_numpy(), "Last": by_group.iloc[-1].to_numpy()})
    owner = perf.symbol_groups(list(run.weights.columns), groups)
    weights = run.weights.fillna(0.0)
    names = pd.DataFrame({"Symbol": weights.columns, "Group": [owner[s] for s in weights.columns],
                          "Mean": weights.mean().to_numpy(), "Max": weights.max().to_numpy(),
                          "Last": weights.iloc[-1].to_numpy()}).sort_values("Mean", ascending=False, kind="stable")
    kinds = {"Mean": "percent", "Max": "percent", "Last": "percent"}
    text = (f"Weights are position value / equity at each close. Mean gross exposure {percent(gross.mean())}, "
            f"last {percent(gross.iloc[-1])}; the rest is cash."
            + (" Groups come from the config's universe.groups; names in no group are 'other'." if groups else ""))
    return Section("exposure", "Exposure and weights", [
        Paragraph(text),
        Chart("exposure_groups", "Weights by group (stacked)", "stacked_area", by_group, "weight", percent=True),
        frame_table("Exposure by group", summary, kinds, key="exposure_groups"),
        frame_table("Weights by name", names, kinds, key="exposure_names"),
    ])


def trades_section(run: RunFolder, settings: ReportConfig) -> Section:
    trades = run.trades
    if trades.empty:
        return Section("trades", "Trades", [Paragraph("The strategy made no trades.")])
    signed = trades["notional"].abs()
    buys = trades["side"].astype(str).str.lower().eq("buy")
    years = pd.DatetimeIndex(trades["session"]).year.astype(str)
    by_year = pd.DataFrame({"Fills": 1, "Buys": buys.astype(int), "Sells": (~buys).astype(int),
                            "Bought": signed.where(buys, 0.0), "Sold": signed.where(~buys, 0.0),
                            "Fees": trades["fees"]}).groupby(years).sum()
    by_year = by_year.rename_axis("Year").reset_index()
    by_symbol = (pd.DataFrame({"Symbol": trades["symbol"].astype(str), "Fills": 1, "Traded": signed,
                               "Fees": trades["fees"]}).groupby("Symbol").sum()
                 .sort_values("Traded", ascending=False).reset_index())
    money_kinds = {"Bought": "money", "Sold": "money", "Fees": "money", "Traded": "money"}
    text = (f"{integer(len(trades))} fills, {money(signed.sum())} traded, {money(trades['fees'].sum())} paid in fees. "
            "Each fill is on the session after its decision.")
    largest = trades.assign(notional=signed).nlargest(15, "notional")[
        ["session", "decided", "symbol", "side", "shares", "price", "notional", "fees"]]
    return Section("trades", "Trades", [
        Paragraph(text),
        frame_table("Trades by year", by_year, money_kinds, key="trades_by_year"),
        frame_table("Trades by name", by_symbol, money_kinds, key="trades_by_symbol"),
        frame_table("Largest fills", largest, {"notional": "money", "fees": "money", "shares": "ratio",
                                               "price": "ratio"}, key="largest_trades"),
    ])


def _window_note(run: RunFolder) -> str:
    """The event study's window when `rulebook events --window` set it apart from the config's."""
    window, configured = run.event_window, (run.config.get("event_study") or {}).get("window")
    if window is None or not configured or list(configured) == list(window):
        return ""
    return (f"\n# the event study files were written with `rulebook events --window {window[0]}:{window[1]}`; "
            f"event_study.window above is the run's")


def provenance_section(run: RunFolder, settings: ReportConfig) -> Section:
    manifest, data = run.manifest, run.manifest.get("data", {})
    facts = [
        ("Run", manifest.get("run")), ("Created (UTC)", manifest.get("created_utc")),
        ("Period", f"{manifest.get('start')} to {manifest.get('end')}"),
        ("Sessions", integer(manifest.get("sessions"))),
        ("Data folder", data.get("dir")),
        ("Data", "SYNTHETIC SAMPLE DATA (illustrates the method, not the market)" if data.get("synthetic")
         else "as given in the data folder"),
        ("Data fingerprint (SHA-256)", data.get("fingerprint")),
        ("Forward-filled gaps", integer(len(data.get("gaps_filled") or []))),
        ("Fundamentals on assumed filing dates", f"{data.get('fundamentals_assumed_dates', 0)} of "
         f"{data.get('fundamentals_rows', 0)} filings (period end + --assumed-lag)"),
        ("Wall time (s)", manifest.get("wall_seconds")), ("Python", manifest.get("python")),
        ("Command", " ".join(manifest.get("command") or [])),
    ]
    packages = [[name, str(version)] for name, version in (manifest.get("packages") or {}).items()]
    return Section("provenance", "Appendix: configuration and provenance", [
        Paragraph("The keys of the run's config that differ from their defaults; the full resolved config, "
                  "every default written out, is config.yaml in the run folder."),
        Code("Configuration (keys that differ from the defaults)", non_default_yaml(run.config) + _window_note(run)),
        Table("Provenance", ["Item", "Value"], [[label, str(value)] for label, value in facts], [False, False],
              key="provenance"),
        Table("Package versions", ["Package", "Version"], packages, [False, False], key="packages"),
    ])
