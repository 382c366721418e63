"""The sections every run folder supports: headline, equity, drawdowns, returns, rolling,
exposure, trades, and configuration/provenance."""

from __future__ import annotations

import pandas as pd

from engine.analysis.drawdowns import drawdown_table
from engine.report import performance as perf
from engine.report.formatting import FORMATTERS, HEADLINE, MISSING, day, format_column, integer, money, percent
from engine.report.model import Chart, Code, Paragraph, RunFolder, Section, Table
from engine.config.report import ReportConfig

BLANK = ""


def frame_table(title: str, frame: pd.DataFrame, kinds: dict[str, str] | None = None, key: str = "") -> Table:
    """A Table from a DataFrame: columns formatted by ``kinds`` (formatter names) or by their dtype/name."""
    kinds = kinds or {}
    columns = {name: ([FORMATTERS[kinds[name]](v) for v in frame[name].tolist()] if name in kinds
                      else format_column(str(name), frame[name])) for name in frame.columns}
    numeric = [pd.api.types.is_numeric_dtype(frame[name]) and not pd.api.types.is_bool_dtype(frame[name])
               for name in frame.columns]
    rows = [list(cells) for cells in zip(*columns.values())] if len(frame) else []
    return Table(title, [str(name) for name in frame.columns], rows, numeric, key)


def headline_section(run: RunFolder, settings: ReportConfig) -> Section:
    metrics, bench = run.metrics, run.has_benchmark
    benchmark = run.config.get("benchmark")
    rows = []
    for label, key, bench_key, kind in HEADLINE:
        if key not in metrics:
            continue
        row = [label, FORMATTERS[kind](metrics[key])]
        if bench:
            row.append(FORMATTERS[kind](metrics[bench_key]) if bench_key in metrics else BLANK)
        rows.append(row)
    columns = ["Metric", "Strategy"] + ([f"Benchmark ({benchmark})"] if bench else [])
    summary = (f"From {metrics['start']} to {metrics['end']} ({integer(metrics['sessions'])} sessions) the strategy "
               f"returned {percent(metrics['total_return'], signed=True)} ({percent(metrics['cagr'], signed=True)} a year)"
               + (f" against {percent(metrics.get('benchmark_total_return'), signed=True)} for {benchmark}" if bench else "")
               + f". Its deepest drawdown was {percent(metrics['max_drawdown'])}"
               + (f", from {metrics['max_drawdown_peak']} to a trough on {metrics['max_drawdown_trough']}, "
                  + (f"recovered on {metrics['max_drawdown_recovery']}." if metrics.get("max_drawdown_recovery")
                     else "not recovered by the end of the run.") if metrics.get("max_drawdown_peak") else "."))
    table = Table("Headline metrics", columns, rows, [False, True, True][: len(columns)], key="headline")
    return Section("headline", "Headline metrics", [Paragraph(summary), table])


def equity_section(run: RunFolder, settings: ReportConfig) -> Section:
    curves = run.equity[["equity"] + (["benchmark"] if run.has_benchmark else [])]
    curves = curves.rename(columns={"equity": "Strategy", "benchmark": f"Benchmark ({run.config.get('benchmark')})"})
    text = (f"Portfolio value at each session close, starting from {money(run.equity['equity'].iloc[0])}, "
            "after fees and slippage" + (" (logarithmic axis)." if settings.log_scale else "."))
    chart = Chart("equity", "Equity curve", "lines", curves, y_label="value", log_y=settings.log_scale)
    return Section("equity", "Equity curve vs benchmark", [Paragraph(text), chart])


def drawdowns_section(run: RunFolder, settings: ReportConfig) -> Section:
    underwater = pd.DataFrame({"Strategy": perf.drawdown_curve(run.equity["equity"])})
    if run.has_benchmark:
        underwater[f"Benchmark ({run.config.get('benchmark')})"] = perf.drawdown_curve(run.equity["benchmark"])
    worst = drawdown_table(run.equity["equity"], top=5)
    rows = [[str(rank), day(r.peak), day(r.trough), day(r.recovery) if pd.notna(r.recovery) else "not recovered",
             percent(r.depth), integer(r.length_sessions),
             integer(r.recovery_sessions) if pd.notna(r.recovery_sessions) else MISSING]
            for rank, r in enumerate(worst.itertuples(), start=1)]
    table = Table("Five worst drawdowns", ["#", "Peak", "Trough", "Recovery", "Depth", "Length (sessions)",
                                           "Trough to recovery (sessions)"], rows,
                  [True, False, False, False, True, True, True], key="worst_drawdowns")
    text = ("Fall from the running high at each close. Length counts sessions from the peak to the recovery "
            "(or to the last session when not recovered).")
    chart = Chart("underwater", "Underwater (drawdown from running high)", "area", underwater, "drawdown",
                  percent=True, height=0.8)
    return Section("drawdowns", "Drawdowns", [Paragraph(text), chart, table])


def returns_section(run: RunFolder, settings: ReportConfig) -> Section:
    grid = perf.monthly_table(run.equity["equity"])
    yearly = pd.DataFrame({"Strategy": perf.period_returns(run.equity["equity"], "YE")})
    if run.has_benchmark:
        yearly["Benchmark"] = perf.period_returns(run.equity["benchmark"], "YE")
        yearly["Difference"] = yearly["Strategy"] - yearly["Benchmark"]
    yearly.insert(0, "Year", [str(stamp.year) for stamp in yearly.index])
    kinds = {name: "signed_percent" for name in yearly.columns if name != "Year"}
    blocks = [
        Paragraph("Compounded return of each calendar month and year, from month-end (year-end) closes; "
                  "the first period starts at the first session's close."),
        Chart("monthly_heatmap", "Monthly returns", "heatmap", grid, percent=True, height=0.2 + 0.06 * len(grid)),
        frame_table("Yearly returns", yearly, kinds, key="yearly"),
    ]
    return Section("returns", "Monthly and yearly returns", blocks)


def rolling_section(run: RunFolder, settings: ReportConfig) -> Section:
    ppy = perf.periods_per_year(run.config.get("data", {}).get("calendar", "XNYS"), run.equity.index)
    benchmark = run.equity["benchmark"] if run.has_benchmark else None
    stats = perf.rolling_statistics(run.equity["equity"], benchmark, ppy, float(run.config.get("risk_free") or 0))
    names = {"strategy": "Strategy", "benchmark": "Benchmark", "beta": "Beta"}
    window = perf.rolling_window(ppy)
    blocks = [Paragraph(f"Over the last {window} sessions (six months) at each close, annualised with "
                        f"{ppy:.2f} sessions per year.")]
    blocks.append(Chart("rolling_sharpe", "Rolling 6-month Sharpe", "lines", stats["sharpe"].rename(columns=names),
                        "Sharpe", height=0.6))
    blocks.append(Chart("rolling_volatility", "Rolling 6-month volatility", "lines",
                        stats["volatility"].rename(columns=names), "volatility", percent=True, height=0.6))
    if "beta" in stats:
        blocks.append(Chart("rolling_beta", "Rolling 6-month beta to the benchmark", "lines",
                            stats["beta"].rename(columns=names), "beta", height=0.6))
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
        ("Wall time (s)", manifest.get("wall_seconds")), ("Python", manifest.get("python")),
        ("Command", " ".join(manifest.get("command") or [])),
    ]
    packages = [[name, str(version)] for name, version in (manifest.get("packages") or {}).items()]
    return Section("provenance", "Configuration and provenance", [
        Table("Provenance", ["Item", "Value"], [[label, str(value)] for label, value in facts], [False, False],
              key="provenance"),
        Table("Package versions", ["Package", "Version"], packages, [False, False], key="packages"),
        Code("Resolved configuration (config.yaml)", run.config_text),
    ])


CORE_SECTIONS = (headline_section, equity_section, drawdowns_section, returns_section, rolling_section,
                 exposure_section)
