"""`rulebook compare`: parse, call rulebook.compare, print the ranking (the work is in engine.sweep)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from engine.cli.console import console, user_errors

TOP_PRINTED = 15


def compare_command(
    config: Annotated[Path, typer.Argument(help="YAML config with a variants: block")],
    executor: Annotated[str, typer.Option("--executor", help="local, or dask to shard chunks over a cluster")] = "local",
    scheduler: Annotated[Optional[str], typer.Option("--scheduler", help="Dask scheduler address, e.g. "
                                                     "tcp://10.0.0.5:8786 (default: a local cluster)")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="output folder (default: "
                                                "reports/<name>-compare-<UTC time>)")] = None,
    chunk: Annotated[Optional[int], typer.Option("--chunk", min=1, help="variants per simulation (default: "
                                                 "as many as fit a memory budget)")] = None,
    no_report: Annotated[bool, typer.Option("--no-report", help="skip report.html / report.pdf")] = False,
) -> None:
    """Run every variant of a config, rank them and test them against the base config."""
    import gc
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
        TimeRemainingColumn

    import rulebook
    from engine.cli.progress import RateColumn, peak_memory_gb
    from engine.report.write import reports_line

    began = time.perf_counter()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), RateColumn(),
               TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())
    with user_errors():
        if out is not None:
            rulebook.check_destination(out)  # before the sweep, not after it
        bar = Progress(*columns, console=console)
        scoring = console.status("Scoring the variants against the base (bootstrap intervals, deflated Sharpe, "
                                 "PBO)…")

        def show(done: int, total: int) -> None:  # first called once the variants are valid
            if not bar.tasks:
                # the validated variants live as long as this process: the collector's passes skip them from
                # now on (5,000 variants: 1 s of CPU less in the sweep, the statistics and the files)
                gc.freeze()
                bar.start()
                bar.add_task("variants", total=total)
            bar.update(bar.tasks[0].id, completed=done)
            if done == total:  # the simulations are over: say what the wait is for now
                bar.stop()
                scoring.start()

        try:
            comparison = rulebook.compare(config, executor=executor, scheduler=scheduler, chunk=chunk, progress=show)
        finally:
            bar.stop()
            scoring.stop()
        base, data = comparison.config, comparison.base.data
        formats = base.report.formats if base.report.enabled and not no_report else []
        with console.status("Writing the comparison folder" + (" and its reports" if formats else "") + "…"):
            folder = comparison.save(out, reports=formats)
        console.print(f"{len(comparison.variants)} variants of {base.name} on {len(base.universe.symbols)} names × "
                      f"{len(data.sessions)} sessions" + (" [bold red](SYNTHETIC SAMPLE DATA)[/]" if data.synthetic else ""))
        console.print(_ranking_table(base.name, comparison.ranking))
        for sentence in comparison.summary["summary"]:
            console.print(sentence)
        if formats:
            console.print(reports_line(folder, formats))
        console.print(f"Comparison folder: [bold]{folder}[/] ({time.perf_counter() - began:.1f} s, "
                      f"peak memory {peak_memory_gb():.2f} GB)")


def _ranking_table(name: str, ranking):
    """The top of the ranking, narrow enough for an 80-column terminal (ranking.csv has the sentences)."""
    from rich.table import Table

    from engine.analysis.variant_stats import BASE_VERDICT, verdict_label

    table = Table(title=f"{name}: variants ranked by Sharpe (top {TOP_PRINTED}; sentences in ranking.csv)")
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("variant", min_width=16, overflow="fold")  # long names wrap at commas, never vanish
    for column in ("Sharpe", "CAGR", "max DD"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("ΔSharpe [95% CI]", justify="right")
    table.add_column("DSR", justify="right", no_wrap=True)
    table.add_column("verdict")
    for row in ranking.head(TOP_PRINTED).itertuples(index=False):
        base = row.verdict == BASE_VERDICT
        table.add_row(
            str(row.rank), row.variant.replace(",", ", "), f"{row.sharpe:.2f}", f"{row.cagr:+.1%}", f"{row.max_drawdown:.1%}",
            "" if base else f"{row.sharpe_diff:+.2f} [{row.diff_lower:+.2f}, {row.diff_upper:+.2f}]",
            "" if base else f"{row.dsr:.2f}",
            "base" if base else verdict_label(row.diff_lower, row.diff_upper, row.dsr),
        )
    return table
