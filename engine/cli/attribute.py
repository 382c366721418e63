"""`rulebook attribute`: parse, call rulebook.attribute, print the two tables (work: engine.sweep.attribution)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich import box
from rich.table import Table

from engine.cli.console import console, user_errors


def attribute_command(
    config: Annotated[Path, typer.Argument(help="YAML config with rules (and/or hedges)")],
    out: Annotated[Optional[Path], typer.Option("--out", help="output folder (default: "
                                                "reports/<name>-attribute-<UTC time>)")] = None,
    no_report: Annotated[bool, typer.Option("--no-report", help="skip report.html / report.pdf")] = False,
) -> None:
    """Each rule's contribution: added alone to the baseline, and left out of the full rule set."""
    import rulebook

    began = time.perf_counter()
    with user_errors(), console.status("Running every rule on and off…") as status:
        if out is not None:
            rulebook.check_destination(out)  # before the work, not after it
        attribution = rulebook.attribute(config)
        base = attribution.config
        formats = base.report.formats if base.report.enabled and not no_report else []
        status.update("Writing the attribution folder" + (" and its reports" if formats else "") + "…")
        folder = attribution.save(out, reports=formats)
    _print(attribution, folder, formats, time.perf_counter() - began)


def _print(attribution, folder: Path, formats: list[str], seconds: float) -> None:
    from engine.report.attribution_section import add_one_in_rows, leave_one_out_rows
    from engine.report.write import reports_line

    if attribution.base.data.synthetic:
        console.print("[bold red]SYNTHETIC SAMPLE DATA[/] — results illustrate the method, not the market.")
    console.print(rule_table(f"{attribution.config.name}: each rule added alone to the baseline",
                             add_one_in_rows(attribution.table)))
    console.print(rule_table("… and left out of the full rule set", leave_one_out_rows(attribution.table)))
    console.print("Changes: CAGR, volatility and costs in points a year; drawdowns in points (pt) of depth "
                  "(+ = shallower); the Sharpe difference's paired bootstrap 95% interval.")
    if formats:
        console.print(reports_line(folder, formats))
    console.print(f"Attribution folder: [bold]{folder}[/] ({seconds:.1f} s)")


def rule_table(title: str, rows: list[list[str]]) -> Table:
    from engine.report.attribution_section import COLUMNS  # the report's columns (imported late: `--help` stays fast)

    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    for i, column in enumerate(COLUMNS):
        table.add_column(column, justify="left" if i == 0 else "right", overflow="fold", no_wrap=i > 0,
                         min_width=16 if i == 0 else None)
    for row in rows:
        table.add_row(*row, end_section=row[0] in ("baseline", "interaction"))
    return table

