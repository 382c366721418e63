"""`rulebook attribute`: what each rule of a config earned (engine.sweep.attribution), printed and saved."""

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
    from engine.config.run_config import load_config
    from engine.atomic import check_destination
    from engine.report.attribution_section import add_one_in_rows, leave_one_out_rows
    from engine.report.write import reports_line, write_reports
    from engine.run.backtest import run_backtest
    from engine.sweep.attribution import save_attribution
    import rulebook
    from engine.sweep.compare import dataset

    began = time.perf_counter()
    with user_errors(), console.status("Running every rule on and off…") as status:
        base = load_config(config)
        if out is not None:
            check_destination(out)  # before the work, not after it
        attribution = rulebook.attribute(config)
        data = dataset(base)
        formats = base.report.formats if base.report.enabled and not no_report else []

        def reports(folder: Path) -> None:
            status.update("Writing the reports…")
            write_reports(folder, formats)

        folder = save_attribution(out, attribution, run_backtest(base, data), wall_seconds=time.perf_counter() - began,
                                  extras=[reports] if formats else [])
        if data.synthetic:
            console.print("[bold red]SYNTHETIC SAMPLE DATA[/] — results illustrate the method, not the market.")
        console.print(rule_table(f"{base.name}: each rule added alone to the baseline", add_one_in_rows(attribution.table)))
        console.print(rule_table("… and left out of the full rule set", leave_one_out_rows(attribution.table)))
        console.print("Changes: CAGR, volatility and costs in points a year; drawdowns in points (pt) of depth "
                      "(+ = shallower); the Sharpe difference's paired bootstrap 95% interval.")
        if formats:
            console.print(reports_line(folder, formats))
        console.print(f"Attribution folder: [bold]{folder}[/] ({time.perf_counter() - began:.1f} s)")


def rule_table(title: str, rows: list[list[str]]) -> Table:
    from engine.report.attribution_section import COLUMNS  # the report's columns (imported late: `--help` stays fast)

    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    for i, column in enumerate(COLUMNS):
        table.add_column(column, justify="left" if i == 0 else "right", overflow="fold", no_wrap=i > 0,
                         min_width=16 if i == 0 else None)
    for row in rows:
        table.add_row(*row, end_section=row[0] in ("baseline", "interaction"))
    return table

