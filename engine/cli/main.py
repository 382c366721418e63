"""The `rulebook` command line: run, validate, sample.

Errors a user can fix (RulebookError) print one clear message and exit 2,
without a traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import click
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from engine.errors import RulebookError
from engine.cli.attribute import attribute_command
from engine.cli.data import data_app
from engine.sweep.compare import compare_command
from engine.cli.events import events_command
from engine.cli.scenarios import scenarios_command
from engine.cli.today import today_command

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Backtest portfolio rules from a YAML config on Parquet data.")
console = Console()
err_console = Console(stderr=True)

ConfigArg = Annotated[Path, typer.Argument(help="YAML config, e.g. configs/column.yaml")]
DataOpt = Annotated[Optional[Path], typer.Option("--data", help="dataset folder (default: the config's, "
                                                 "else the bundled synthetic sample)")]

# the terminal shows these rows of the report's headline table, formatted the same way
SUMMARY_KEYS = ("total_return", "cagr", "volatility", "sharpe", "sortino", "max_drawdown", "calmar", "turnover",
                "exposure", "beta", "alpha", "information_ratio")


def _overrides(data: Path | None, start: str | None = None, end: str | None = None) -> dict:
    values = {"data.dir": str(data.resolve()) if data else None, "period.start": start, "period.end": end}
    return {key: value for key, value in values.items() if value is not None}


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
    from engine.atomic import check_destination
    from engine.config.run_config import load_config
    from engine.cli.events import print_study, write_event_study
    from engine.run.backtest import load_run_data, run_backtest
    from engine.run.folder import save_run
    from engine.report.write import reports_line, write_reports

    began = time.perf_counter()
    with user_errors(), console.status("Loading config and data…") as status:
        cfg = load_config(config, _overrides(data, start, end))
        if out is not None:
            check_destination(out)  # before the work, not after it
        dataset = load_run_data(cfg)
        status.update(f"Simulating {len(cfg.universe.symbols)} names over {len(dataset.sessions)} sessions…")
        result = run_backtest(cfg, dataset)
        studies, formats = [], cfg.report.formats if cfg.report.enabled and not no_report else []

        def event_study(folder: Path) -> None:
            status.update("Event study…")
            studies.append(write_event_study(folder, cfg, dataset))

        def reports(folder: Path) -> None:
            status.update("Writing the reports…")
            write_reports(folder, formats)

        status.update("Writing the run folder…")
        steps = [event_study] * cfg.event_study.enabled + [reports] * bool(formats)
        folder = save_run(result, out, wall_seconds=time.perf_counter() - began, extras=steps)
        _print_summary(result, folder)
        if studies:
            print_study(studies[0], folder)
        if formats:
            console.print(reports_line(folder, formats))


@app.command()
def validate(config: ConfigArg, data: DataOpt = None) -> None:
    """Check a config and the data it needs, without running."""
    from engine.config.run_config import load_config, resolved_data_dir
    from engine.run.backtest import load_run_data

    with user_errors():
        cfg = load_config(config, _overrides(data))
        dataset = load_run_data(cfg)
    console.print(f"[green]OK[/green] {config}: {len(cfg.universe.symbols)} symbols, {len(dataset.sessions)} "
                  f"sessions {dataset.sessions[0].date()} → {dataset.sessions[-1].date()} "
                  f"from {resolved_data_dir(cfg)}" + (" [bold red](SYNTHETIC SAMPLE DATA)[/]" if dataset.synthetic else ""))
    if len(dataset.gaps):
        console.print(f"[yellow]{len(dataset.gaps)} gap(s) of missing sessions were forward-filled:[/]")
        console.print(dataset.gaps.to_string(index=False))


@app.command()
def sample(
    out: Annotated[Optional[Path], typer.Option("--out", help="folder to write (default: data/sample)")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="random seed (default: the documented one)")] = None,
) -> None:
    """Regenerate the bundled SYNTHETIC sample dataset."""
    from engine.config.run_config import SAMPLE_DATA_DIR
    from engine.data.sample import generate_sample

    target = out or SAMPLE_DATA_DIR
    with user_errors():
        generate_sample(target, **({"seed": seed} if seed is not None else {}))
    console.print(f"Wrote SYNTHETIC sample data to {target}")


@app.command()
def audit(
    config: ConfigArg,
    data: DataOpt = None,
    cutoffs: Annotated[int, typer.Option("--cutoffs", min=1, help="cutoff sessions to perturb the future after")] = 3,
    seed: Annotated[int, typer.Option("--seed", help="seed of the perturbations")] = 0,
) -> None:
    """Check a config for look-ahead: perturb the future after N cutoffs; exit 1 if anything decided before moved."""
    from engine.run.audit import audit as audit_config
    from engine.config.run_config import load_config
    from engine.run.backtest import load_run_data

    with user_errors(), console.status("Running the config and its perturbed futures…"):
        loaded = load_config(config, _overrides(data))
        checks = audit_config(loaded, load_run_data(loaded), cutoffs, seed=seed)
    table = Table(title=f"look-ahead audit of {loaded.name}: {len(checks)} perturbed runs")
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
    from engine.report.write import parse_formats, reports_line, rewrite_reports

    with user_errors(), console.status("Writing the reports…"):
        chosen = parse_formats(formats)
        rewrite_reports(run_dir, chosen, page_size)
        console.print(reports_line(run_dir, chosen))


class user_errors:
    """Every failure a user sees is one line, never a traceback (unless `rulebook --debug`).

    RulebookError (bad input: names the file, key and fix) and OS errors naming a path exit 2;
    Ctrl-C exits 130 (the atomic writers have left nothing half-written); anything else is a
    bug: one line and the hint to rerun with --debug, exit 1.
    """

    def __enter__(self):
        return self

    def __exit__(self, kind, error, tb):
        if error is None or isinstance(error, (click.exceptions.Exit, click.exceptions.ClickException)):
            return False
        if isinstance(error, KeyboardInterrupt):
            err_console.print("[bold red]interrupted[/]: no half-written files were left", highlight=False)
            raise typer.Exit(130)
        if DEBUG["on"] or not isinstance(error, Exception):
            return False
        if isinstance(error, RulebookError):
            _error_line(str(error))
            raise typer.Exit(2)
        if isinstance(error, OSError) and error.filename:
            _error_line(f"{error.filename}: {error.strerror or error}. Fix: check the path and its permissions")
            raise typer.Exit(2)
        _error_line(f"unexpected {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}. "
                    "This is a bug in rulebook: rerun with `rulebook --debug ...` to see the traceback and report it")
        raise typer.Exit(1)


DEBUG = {"on": False}


@app.callback()
def _options(debug: Annotated[bool, typer.Option("--debug", help="show the full traceback of an unexpected error")] = False) -> None:
    DEBUG["on"] = debug


def _error_line(text: str) -> None:
    err_console.print(f"[bold red]error:[/] {escape(text)}", highlight=False, soft_wrap=True)


def _print_summary(result, folder: Path) -> None:
    from engine.report.formatting import FORMATTERS, HEADLINE

    metrics = result.metrics
    if result.data.synthetic:
        console.print("[bold red]SYNTHETIC SAMPLE DATA[/] — results illustrate the method, not the market.")
    table = Table(title=f"{result.config.name}: {metrics['start']} → {metrics['end']}")
    table.add_column("metric")
    table.add_column("strategy", justify="right")
    if result.benchmark is not None:
        table.add_column(f"benchmark ({result.config.benchmark})", justify="right")
    for label, key, bench_key, kind in HEADLINE:
        if key not in SUMMARY_KEYS or key not in metrics:
            continue
        row = [label, FORMATTERS[kind](metrics.get(key))]
        if result.benchmark is not None:
            row.append(FORMATTERS[kind](metrics.get(bench_key)) if bench_key else "")
        table.add_row(*row)
    console.print(table)
    console.print(f"Run folder: [bold]{folder}[/]")
