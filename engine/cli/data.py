"""`rulebook data ...`: import prices, market series, fundamentals and events, pull from yfinance, read SEC
companyfacts, check a dataset folder. Parsing and printing only: the work is in engine.data, through rulebook.data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from engine.cli.console import console, user_errors

data_app = typer.Typer(no_args_is_help=True, help="Bring your own data in: import, pull, fundamentals, check.")
import_app = typer.Typer(no_args_is_help=True, help="Import files into a dataset folder.")
pull_app = typer.Typer(no_args_is_help=True, help="Download data into a dataset folder.")
fundamentals_app = typer.Typer(no_args_is_help=True, help="Write point-in-time fundamentals into a dataset folder.")
data_app.add_typer(import_app, name="import")
data_app.add_typer(pull_app, name="pull")
data_app.add_typer(fundamentals_app, name="fundamentals")

OutOpt = Annotated[Path, typer.Option("--out", help="dataset folder to write into (created if absent)")]
ModeOpt = Annotated[str, typer.Option("--mode", help="append: add new dates, update overlapping ones; "
                                      "replace: drop the symbol's old rows first")]
CalendarOpt = Annotated[str, typer.Option("--calendar", help="exchange calendar the dates must be sessions of")]
DEFAULT_CALENDAR = "XNYS"  # engine.data.calendar.DEFAULT_CALENDAR, not imported: `--help` stays fast (tests/test_api.py)
Paths = Annotated[Optional[list[Path]], typer.Option(help="file or folder (repeatable)")]


def _day(value: str | None):
    import pandas as pd

    return None if value is None else pd.Timestamp(value)


@import_app.command("prices")
def import_prices_command(
    files: Annotated[list[Path], typer.Argument(help="CSV or Parquet files: long, per symbol (NVDA.csv) or wide")],
    out: OutOpt,
    mapping: Annotated[Optional[list[str]], typer.Option("--map", help="SOURCE=TARGET column, e.g. 'Adj Close=adj_close'")] = None,
    adj_close: Annotated[Optional[list[Path]], typer.Option("--adj-close", help="adjusted-close files, or a folder of SYMBOL.csv")] = None,
    dividends: Annotated[Optional[list[Path]], typer.Option("--dividends", help="cash dividends (date, dividend) files, or a folder of SYMBOL_dividends.csv; adj_close is computed from them")] = None,
    splits: Annotated[Optional[list[Path]], typer.Option("--splits", help="splits (date, ratio) files or a folder of SYMBOL_splits.csv, for unadjusted prices")] = None,
    wide_field: Annotated[Optional[str], typer.Option("--wide-field", help="field held by wide files' symbol columns, e.g. close")] = None,
    symbol: Annotated[Optional[str], typer.Option("--symbol", help="symbol of a single-symbol file (default: the file name)")] = None,
    date_format: Annotated[Optional[str], typer.Option("--date-format", help="strftime format, e.g. '%m/%d/%Y' (default ISO)")] = None,
    start: Annotated[Optional[str], typer.Option("--start", help="first date to import")] = None,
    end: Annotated[Optional[str], typer.Option("--end", help="last date to import")] = None,
    mode: ModeOpt = "append",
    calendar: CalendarOpt = DEFAULT_CALENDAR,
) -> None:
    """Import price files into DIR/prices.parquet (checked, per symbol, atomically)."""
    from rulebook.data import ImportSources, ReadOptions, import_prices, parse_mapping

    with user_errors():
        options = ReadOptions(mapping=parse_mapping(mapping or []), date_format=date_format, wide_field=wide_field,
                              symbol=symbol, start=_day(start), end=_day(end))
        sources = ImportSources(tuple(files), tuple(adj_close or ()), tuple(dividends or ()), tuple(splits or ()))
        reports = import_prices(sources, out, options, mode=mode, calendar=calendar)
    print_import(reports, out)


MapOpt = Annotated[Optional[list[str]], typer.Option("--map", help="SOURCE=TARGET column (repeatable)")]
DateFormatOpt = Annotated[Optional[str], typer.Option("--date-format", help="strftime format, e.g. '%m/%d/%Y' (default ISO)")]


def _pairs(items: list[str] | None) -> dict[str, str]:
    from rulebook import DataError

    mapping = {}
    for item in items or []:
        source, sep, target = item.partition("=")
        if not sep or not source.strip() or not target.strip():
            raise DataError("--map", item, "expected SOURCE=TARGET", "write e.g. --map fiscal_period_end=period_end")
        mapping[source.strip()] = target.strip()
    return mapping


@import_app.command("market")
def import_market_command(
    files: Annotated[list[Path], typer.Argument(help="FRED (date,SERIES), OHLC index (DATE,...,CLOSE) or long (date,series,value) files")],
    out: OutOpt,
    series: Annotated[Optional[str], typer.Option("--series", help="series name for a one-series file (default: its column header)")] = None,
    value_column: Annotated[Optional[str], typer.Option("--value-column", help="the column holding the values, e.g. CLOSE")] = None,
    mapping: MapOpt = None,
    lag_days: Annotated[int, typer.Option("--lag-days", help="re-date values N calendar days later, to when they became known")] = 0,
    date_format: DateFormatOpt = None,
    mode: ModeOpt = "append",
) -> None:
    """Import market series (rates, VIX, spreads) into DIR/market.parquet (atomically, per series)."""
    from rulebook.data import MarketOptions, import_market

    with user_errors():
        options = MarketOptions(series=series, value_column=value_column, mapping=_pairs(mapping), lag_days=lag_days,
                                date_format=date_format)
        reports = import_market(files, out, options, mode=mode)
    table = report_table(f"market → {Path(out) / 'market.parquet'}", "series", "rows", "first", "last", "added",
                         "updated", "removed", "blank", "lag")
    for r in reports:
        table.add_row(r.series, str(r.rows), f"{r.first:%Y-%m-%d}", f"{r.last:%Y-%m-%d}", str(r.added),
                      str(r.updated), str(r.removed), str(r.missing), str(r.lag_days))
    console.print(table)


@import_app.command("fundamentals")
def import_fundamentals_command(
    file: Annotated[Path, typer.Argument(help="quarterly sheet (CSV or Parquet), one row per symbol and quarter")],
    out: OutOpt,
    mapping: MapOpt = None,
    units: Annotated[str, typer.Option("--units", help="unit of the sheet's amounts: millions, thousands or units (USD)")] = "millions",
    assumed_lag: Annotated[Optional[int], typer.Option("--assumed-lag", help="date rows without filing/release date period end + DAYS (flagged filed_assumed)")] = None,
    date_format: DateFormatOpt = None,
    mode: ModeOpt = "append",
) -> None:
    """Import a fundamentals sheet into DIR/fundamentals.parquet, dated by when the figures became public."""
    from rulebook.data import FundamentalsOptions, import_fundamentals

    with user_errors():
        options = FundamentalsOptions(mapping=_pairs(mapping), units=units, assumed_lag=assumed_lag, date_format=date_format)
        reports = import_fundamentals(file, out, options, mode=mode)
    table = report_table(f"fundamentals → {Path(out) / 'fundamentals.parquet'}", "symbol", "rows", "first",
                         "last", "added", "upd", "rem", "release", "assumed")
    for r in reports:
        table.add_row(r.symbol, str(r.rows), f"{r.first:%Y-%m-%d}", f"{r.last:%Y-%m-%d}", str(r.added),
                      str(r.updated), str(r.removed), str(r.from_release), str(r.assumed))
    console.print(table)
    assumed = sum(r.assumed for r in reports)
    if assumed:
        console.print(f"[yellow]warning[/] {assumed} row(s) rest on assumed dates (period end + {assumed_lag} days)",
                      highlight=False)
    for r in reports:
        for warning in r.warnings:
            console.print(f"[yellow]warning[/] {escape(warning)}", highlight=False, soft_wrap=True)


@import_app.command("events")
def import_events_command(
    file: Annotated[Path, typer.Argument(help="events CSV or Parquet (date, session, kind, symbols, title, ...)")],
    out: OutOpt,
    mode: Annotated[str, typer.Option("--mode", help="append: add the events not already there; replace: write the calendar as given")] = "append",
    calendar: CalendarOpt = DEFAULT_CALENDAR,
) -> None:
    """Validate an events calendar and write DIR/events.parquet."""
    from rulebook.data import import_events

    with user_errors():
        report = import_events(file, out, mode=mode, calendar=calendar)
    console.print(f"events → {Path(out) / 'events.parquet'}: {report.rows} event(s) {report.first:%Y-%m-%d}.."
                  f"{report.last:%Y-%m-%d} naming {report.symbols} ticker(s); {report.added} added, "
                  f"{report.already_there} already there", highlight=False)


@pull_app.command("yfinance")
def pull_yfinance_command(
    symbols: Annotated[list[str], typer.Argument(help="Yahoo tickers, e.g. NVDA MSFT SPY")],
    out: OutOpt,
    start: Annotated[str, typer.Option("--start", help="first date, YYYY-MM-DD")],
    end: Annotated[str, typer.Option("--end", help="last date (included), YYYY-MM-DD")],
    mode: ModeOpt = "append",
    calendar: CalendarOpt = DEFAULT_CALENDAR,
) -> None:
    """Download daily bars with yfinance (pip install 'rulebook[yfinance]') into DIR/prices.parquet."""
    from rulebook.data import pull_yfinance

    with user_errors():
        reports = pull_yfinance(symbols, start, end, out, mode=mode, calendar=calendar)
    print_import(reports, out)


@fundamentals_app.command("edgar")
def edgar_command(
    source: Annotated[Path, typer.Argument(help="companyfacts JSON file, or a folder of them")],
    out: OutOpt,
    symbol: Annotated[Optional[list[str]], typer.Option("--symbol", help="FILE_STEM_OR_CIK=TICKER, e.g. CIK0001341439=ORCL")] = None,
) -> None:
    """SEC EDGAR companyfacts → DIR/fundamentals.parquet, point in time by filing date."""
    from rulebook.data import import_companyfacts
    from rulebook import DataError

    with user_errors():
        pairs = [item.partition("=") for item in symbol or []]
        bad = next((item for item, (_, sep, ticker) in zip(symbol or [], pairs) if not sep or not ticker), None)
        if bad is not None:
            raise DataError("--symbol", None, f"expected NAME=TICKER, got {bad!r}", "write e.g. --symbol CIK0001341439=ORCL")
        rows = import_companyfacts(source, out, {name.strip(): ticker.strip() for name, _, ticker in pairs})
    summary = rows.groupby("symbol").agg(quarters=("period_end", "nunique"), rows=("filed", "size"),
                                         first=("period_end", "min"), last=("period_end", "max"))
    table = Table(title=f"fundamentals → {Path(out) / 'fundamentals.parquet'}")
    for column in ("symbol", "quarters", "rows (incl. restatements)", "first quarter", "last quarter"):
        table.add_column(column)
    for name, row in summary.iterrows():
        table.add_row(name, str(row["quarters"]), str(row["rows"]), f"{row['first']:%Y-%m-%d}", f"{row['last']:%Y-%m-%d}")
    console.print(table)


@data_app.command("check")
def check_command(
    folder: Annotated[Path, typer.Argument(help="dataset folder")],
    calendar: CalendarOpt = DEFAULT_CALENDAR,
    max_fill_sessions: Annotated[int, typer.Option("--max-fill-sessions", help="longest hole the load fills")] = 3,
) -> None:
    """Data-quality report; exits 1 when there are errors, 0 with warnings only."""
    from rulebook.data import check_dataset

    with user_errors():
        report = check_dataset(folder, calendar=calendar, max_fill_sessions=max_fill_sessions)
    if len(report.coverage):
        table = Table(title=f"coverage vs {calendar} sessions: {folder}")
        for column in report.coverage.columns:
            table.add_column(column, justify="left" if column == "symbol" else "right")
        for row in report.coverage.itertuples(index=False):
            table.add_row(row.symbol, f"{row.first:%Y-%m-%d}", f"{row.last:%Y-%m-%d}", str(row.rows), str(row.expected),
                          str(row.missing), f"{row.coverage:.2%}")
        console.print(table)
    for finding in report.findings:
        colour = "red" if finding.severity == "error" else "yellow"
        console.print(f"[{colour}]{finding.severity}[/] " + escape(f"[{finding.check}] {finding.message}"),
                      highlight=False, soft_wrap=True)
    console.print(f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)")
    if report.errors:
        raise typer.Exit(1)


def report_table(title: str, *columns: str) -> Table:
    """An import report: the first column names the symbol or series, the rest are right-aligned, never wrapped."""
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    for i, column in enumerate(columns):
        table.add_column(column, justify="left" if i == 0 else "right", no_wrap=True,
                         min_width=10 if column in ("first", "last") else len(column))
    return table


def print_import(reports, out: Path) -> None:
    table = report_table(f"prices → {Path(out) / 'prices.parquet'}", "symbol", "rows", "first", "last", "added",
                         "updated", "removed", "duplicates")
    for r in reports:
        table.add_row(r.symbol, str(r.rows), f"{r.first:%Y-%m-%d}", f"{r.last:%Y-%m-%d}", str(r.added), str(r.updated),
                      str(r.removed), str(r.duplicates))
    console.print(table)
    for r in reports:
        for warning in r.warnings:
            console.print(f"[yellow]warning[/] {warning}", highlight=False, soft_wrap=True)
