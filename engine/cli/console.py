"""What every command prints through: the consoles, and one line for every failure a user sees.

RulebookError (bad input: names the file, key and fix) and OS errors naming a path exit 2;
Ctrl-C exits 130 (the atomic writers have left nothing half-written); anything else is a bug:
one line and the hint to rerun with `rulebook --debug`, exit 1 (--debug shows the traceback).
"""

from __future__ import annotations

import click
import typer
from rich.console import Console
from rich.markup import escape

from rulebook import RulebookError

console = Console()
err_console = Console(stderr=True)
DEBUG = {"on": False}  # set by `rulebook --debug`


class user_errors:
    """Every failure a user sees is one line, never a traceback (unless `rulebook --debug`)."""

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
            error_line(str(error))
            raise typer.Exit(2)
        if isinstance(error, OSError) and error.filename:
            error_line(f"{error.filename}: {error.strerror or error}. Fix: check the path and its permissions")
            raise typer.Exit(2)
        error_line(f"unexpected {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}. "
                   "This is a bug in rulebook: rerun with `rulebook --debug ...` to see the traceback and report it")
        raise typer.Exit(1)


def error_line(text: str) -> None:
    """One red line on stderr."""
    err_console.print(f"[bold red]error:[/] {escape(text)}", highlight=False, soft_wrap=True)
