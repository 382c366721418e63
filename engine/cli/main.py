"""The `rulebook` command line: argument parsing and printing over the Python API (rulebook/).

Every command calls the same functions a notebook does (rulebook.run, rulebook.compare, ...),
so the two cannot drift. Heavy libraries load inside the commands: `rulebook --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from engine.cli.attribute import attribute_command
from engine.cli.compare import compare_command
from engine.cli.console import DEBUG, console, user_errors
from engine.cli.data import data_app
from engine.cli.events import events_command
from engine.cli.scenarios import scenarios_command
from engine.cli.today import today_command

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Backtest portfolio rules from a YAML config on Parquet data.")

ConfigArg = Annotated[Path, typer.Argument(help="YAML config, e.g. configs/column.yaml")]
DataOpt = Annotated[Optional[Path], typer.Option("--data", help="dataset folder (default: the config's, "
                                                 "else the bundled synthetic sample)")]

# the terminal shows these rows of the report's headline table, formatted the same way
SUMMARY_KEYS = ("total_return", "cagr", "volatility", "sharpe", "sortino", "max_drawdown", "calmar", "turnover",
                "exposure", "beta", "alpha", "information_ratio")


def _period(start: str | None, end: str | None) -> dict:
    return {key: value for key, value in {"period.start": start, "period.end": end}.items() if value is not None}


@app.command()
def run(
    config: ConfigArg,
    data: DataOpt = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="run folder (default: reports/<name>-<UTC time>)")] = None,
    start: Annotated[Optional[str], typer.Option("--start", help="first session, YYYY-MM-DD")] = None,
    end: Annotated[Optional[str], typer.Option("--end", help="last session, YYYY-MM-DD")] = None,
    no_report: Annotated[bool, typer.Option("--no-report", help="skip report.html / report.pdf")] = False,
) -> None:
    """Run a backtest and write its run folder."""
    import rulebook
    from engine.cli.events import print_study
    from engine.report.write import reports_line

    with user_errors(), rulebook.pdf_in_background(not no_report), console.status("Running the backtest…") as status:
        if out is not None:
            rulebook.check_destination(out)  # before the work, not after it
        result = rulebook.run(config, data=data, **_period(start, end))
        study = None
        if result.config.event_study.enabled:
            status.update("Event study…")
            study = rulebook.event_study(result)
        formats = result.config.report.formats if result.config.report.enabled and not no_report else []
        status.update("Writing the run folder" + (" and its reports" if formats else "") + "…")
        folder = result.save(out, reports=formats, event_study=study or False)
        _print_summary(result, folder)
        if study is not None:
            print_study(study, folder)
        if formats:
            console.print(reports_line(folder, formats))


@app.command()
def validate(config: ConfigArg, data: DataOpt = None) -> None:
    """Check a config and the data it needs, without running."""
    import rulebook

    with user_errors():
        checked = rulebook.validate(config, data=data)
    dataset = checked.data
    console.print(f"[green]OK[/green] {config}: {len(checked.config.universe.symbols)} symbols, {len(dataset.sessions)} "
                  f"sessions {dataset.sessions[0].date()} → {dataset.sessions[-1].date()} "
                  f"from {checked.data_dir}" + (" [bold red](SYNTHETIC SAMPLE DATA)[/]" if dataset.synthetic else ""))
    if len(dataset.gaps):
        console.print(f"[yellow]{len(dataset.gaps)} gap(s) of missing sessions were forward-filled:[/]")
        console.print(dataset.gaps.to_string(index=False))


@app.command()
def sample(
    out: Annotated[Optional[Path], typer.Option("--out", help="folder to write (default: data/sample)")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="random seed (default: the documented one)")] = None,
) -> None:
    """Regenerate the bundled SYNTHETIC sample dataset."""
    from rulebook.data import make_sample

    with user_errors():
        target = make_sample(out, seed=seed)
    console.print(f"Wrote SYNTHETIC sample data to {target}")


@app.command()
def audit(
    config: ConfigArg,
    data: DataOpt = None,
    cutoffs: Annotated[int, typer.Option("--cutoffs", min=1, help="cutoff sessions to perturb the future after")] = 3,
    seed: Annotated[int, typer.Option("--seed", help="seed of the perturbations")] = 0,
) -> None:
    """Check a config for look-ahead: perturb the future after N cutoffs; exit 1 if anything decided before moved."""
    import rulebook

    with user_errors(), console.status("Running the config and its perturbed futures…"):
        name = rulebook.load_config(config).name
        checks = rulebook.audit(config, data=data, cutoffs=cutoffs, seed=seed)
    table = Table(title=f"look-ahead audit of {name}: {len(checks)} perturbed runs")
    for column in ("cutoff T", "future redrawn", "result"):
        table.add_column(column)
    for check in checks:
        what = "after T" if check.perturbation == "after" else "from the close of T+1 (open of T+1 kept)"
        result = "[green]clean[/]" if check.clean else f"[bold red]moved[/]: {escape(str(check.moved))}"
        table.add_row(f"{check.cutoff:%Y-%m-%d}", what, result)
    console.print(table)
    moved = [check for check in checks if not check.clean]
    if moved:
        console.print(f"[bold red]{len(moved)} of {len(checks)} runs moved[/]: a decision, order or fill at or "
                      "before its cutoff depends on data after it. The first one: " + escape(str(moved[0].moved)))
        raise typer.Exit(1)
    console.print("[green]clean[/]: nothing decided at or before a cutoff moved when the future changed.")


app.command("events")(events_command)
app.command("compare")(compare_command)
app.command("scenarios")(scenarios_command)
app.command("attribute")(attribute_command)
app.command("today")(today_command)
app.add_typer(data_app, name="data")


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="run folder written by `rulebook run`")],
    formats: Annotated[str, typer.Option("--format", help="html, pdf or html,pdf")] = "html,pdf",
    page_size: Annotated[Optional[str], typer.Option("--page-size", help="A4 or Letter (default: the run's config)")] = None,
) -> None:
    """Write report.html / report.pdf for a run folder."""
    import rulebook
    from engine.report.write import parse_formats, reports_line

    with user_errors():
        chosen = parse_formats(formats)
    with user_errors(), rulebook.pdf_in_background("pdf" in chosen), console.status("Writing the reports…"):
        rulebook.open_run(run_dir).report(chosen, page_size)
        console.print(reports_line(run_dir, chosen))


@app.callback()
def _options(debug: Annotated[bool, typer.Option("--debug", help="show the full traceback of an unexpected error")] = False) -> None:
    DEBUG["on"] = debug


def _print_summary(result, folder: Path) -> None:
    from engine.report.formatting import FORMATTERS, HEADLINE

    metrics = result.metrics
    benchmark = result.config.benchmark if "benchmark" in result.equity else None
    if result.data.synthetic:
        console.print("[bold red]SYNTHETIC SAMPLE DATA[/] — results illustrate the method, not the market.")
    table = Table(title=f"{result.config.name}: {metrics['start']} → {metrics['end']}")
    table.add_column("metric")
    table.add_column("strategy", justify="right")
    if benchmark is not None:
        table.add_column(f"benchmark ({benchmark})", justify="right")
    for label, key, bench_key, kind in HEADLINE:
        if key not in SUMMARY_KEYS or key not in metrics:
            continue
        row = [label, FORMATTERS[kind](metrics.get(key))]
        if benchmark is not None:
            row.append(FORMATTERS[kind](metrics.get(bench_key)) if bench_key else "")
        table.add_row(*row)
    console.print(table)
    console.print(f"Run folder: [bold]{folder}[/]")
