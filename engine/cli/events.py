"""`rulebook events`: parse, call rulebook.event_study, print the headline tables (work: engine.analysis.event_run)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from engine.cli.console import console, user_errors

SHOWN_WARNINGS = 12


def events_command(
    target: Annotated[Path, typer.Argument(help="run folder (from `rulebook run`) or YAML config (run first)")],
    events: Annotated[Optional[Path], typer.Option("--events", help="events CSV/Parquet "
                                                   "(default: the config's event_study.file, else the dataset's)")] = None,
    window: Annotated[Optional[str], typer.Option("--window", help="sessions before:after day 0, e.g. -10:20")] = None,
) -> None:
    """Event study: prices and the strategy around each event; writes event files into the run folder."""
    import rulebook
    from rulebook.analyses import add_to_run

    with user_errors(), console.status("Event study…"):
        study, folder = add_to_run(target, lambda run: rulebook.event_study(run, events, window))
    print_study(study, folder)


def print_study(result, folder: Path) -> None:
    """Headline tables: price reaction by kind, strategy vs holding by kind, and what was skipped."""
    from engine.report.event_section import REACTION_COLUMNS, coverage_note, event_coverage, reaction_rows

    coverage = event_coverage(result.strategy, result.events)
    table = Table(title="Involved symbols by event kind (CAR: market-model abnormal return over the window; "
                        "95% CI and t clustered by event date, as in the report)")
    for name in REACTION_COLUMNS:
        table.add_column(name, justify="left" if name == "kind" else "right")
    for row in reaction_rows(result.summary, coverage):
        table.add_row(*row)
    console.print(table)
    console.print(coverage_note(coverage), highlight=False)
    books = result.strategy
    if {"strategy", "holding"} <= set(books.get("book", ())):
        from engine.report.event_section import event_counts

        means = books.groupby(["kind", "book"])[["drawdown", "cum_return"]].mean().unstack("book")
        counts = event_counts(books)
        table = Table(title="Strategy vs equal-weight holding of the universe, same windows (mean over events)")
        for name in ("kind", "events", "DD strategy", "DD holding", "return strategy", "return holding"):
            table.add_column(name, justify="left" if name == "kind" else "right")
        for kind, row in means.iterrows():
            table.add_row(kind, str(int(counts[kind])), *(f"{row[(metric, book)]:+.1%}"
                                                          for metric in ("drawdown", "cum_return")
                                                          for book in ("strategy", "holding")))
        console.print(table)
    for line in result.warnings[:SHOWN_WARNINGS]:
        console.print(f"[yellow]warning:[/] {line}", highlight=False)
    if len(result.warnings) > SHOWN_WARNINGS:
        console.print(f"[yellow]… and {len(result.warnings) - SHOWN_WARNINGS} more warning(s)[/]")
    console.print(f"Event study files written to [bold]{folder}[/]")
