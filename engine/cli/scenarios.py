"""`rulebook scenarios`: parse, call rulebook.scenarios, print the P&L table (work: engine.analysis.scenario_run)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from engine.cli.console import console, user_errors


def scenarios_command(
    target: Annotated[Path, typer.Argument(help="run folder (from `rulebook run`) or YAML config (run first)")],
    set_file: Annotated[Optional[Path], typer.Option("--set", help="scenario-set YAML (default: the config's "
                                                     "scenarios block)")] = None,
    date: Annotated[Optional[str], typer.Option("--date", help="portfolio session, YYYY-MM-DD "
                                                "(default: the set's as_of, else the run's last session)")] = None,
) -> None:
    """Scenarios, stress replay and scorecard of a run's portfolio; writes parquet files into the run folder."""
    import rulebook
    from rulebook.analyses import add_to_run

    with user_errors(), console.status("Scenarios…"):
        outcome, folder = add_to_run(target, lambda run: rulebook.scenarios(run, set_file, date))
    _print(outcome.tables, folder)


def _print(tables: dict, folder: Path) -> None:
    impact = tables["scenarios.parquet"]
    cases = impact[impact["measure"].isin(["low", "mid", "high", "expected"])]
    table = Table(title=f"Scenario P&L on {impact['as_of'].iloc[0].date()} (fraction of equity)")
    for name in ("scenario", "p", "measure", "unhedged", "with hedges"):
        table.add_column(name, justify="left" if name in ("scenario", "measure") else "right")
    for (scenario, measure), rows in cases.groupby(["scenario", "measure"], sort=False):
        ret = rows.set_index("with_hedges")["ret"]
        table.add_row(scenario, f"{rows['probability'].iloc[0]:.0%}", measure, f"{ret[False]:+.2%}", f"{ret[True]:+.2%}")
    console.print(table)
    console.print(f"Wrote {', '.join(tables)} into [bold]{folder}[/]")
