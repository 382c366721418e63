"""`rulebook today`: parse, call rulebook.today and rulebook.save_today, print the orders (work: engine.practice)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from engine.cli.console import console, user_errors


def today_command(
    config: Annotated[Path, typer.Argument(help="YAML config whose rules you follow")],
    holdings: Annotated[Path, typer.Option("--holdings", help="holdings CSV: symbol, shares[, avg_cost, opened]; "
                                           "a CASH row for cash; broker export headers are recognised")],
    date: Annotated[Optional[str], typer.Option("--date", help="decide at the close of this session, "
                                                "YYYY-MM-DD (default: the data's last session)")] = None,
    data: Annotated[Optional[Path], typer.Option("--data", help="dataset folder (default: the config's)")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="write the orders to this .csv or .json "
                                                "(and the rule state next to it)")] = None,
    state: Annotated[Optional[Path], typer.Option("--state", help="rule state from the last run (read, then "
                                                  "rewritten after this decision)")] = None,
    mapping: Annotated[Optional[list[str]], typer.Option("--map", help="SRC=FIELD for a column the reader "
                                                         "does not recognise, e.g. 'Qty (Units)=shares'")] = None,
    report: Annotated[bool, typer.Option("--report", help="also write a one-page rule check (HTML and PDF) "
                                         "next to --out")] = False,
) -> None:
    """What the config's rules tell this book to do at the close of DATE."""
    import rulebook

    with user_errors(), console.status("Applying the rules to the book…"):
        result = rulebook.today(config, holdings, date=date, state=state, mapping=mapping,
                                **({"data.dir": str(data.resolve())} if data else {}))
        written = rulebook.save_today(result, out, state=state, rule_check=(out or holdings).with_suffix("") if report else None)
    if result.decision.data.synthetic:
        console.print("[bold red]SYNTHETIC SAMPLE DATA[/] — orders illustrate the method, not the market.")
    console.print(f"[bold]{result.config.name}[/] at the close of {result.as_of.date()}: book {result.equity:,.0f} "
                  f"({result.cash:,.0f} cash)")
    console.print(order_table(result.orders))
    if len(result.hedges):
        console.print(hedge_table(result.hedges))
    for note in result.notes:
        console.print(f"[yellow]note:[/] {escape(note)}", soft_wrap=True)
    for path in written:
        console.print(f"Wrote [bold]{path}[/]")


def order_table(orders) -> Table:
    table = Table(title=f"Orders ({len(orders)}; estimated at the last close, fill at the next session)",
                  box=box.SIMPLE_HEAD)
    for column, justify in (("symbol", "left"), ("side", "left"), ("shares", "right"), ("notional", "right"),
                            ("weight", "right"), ("rule", "left"), ("reason", "left")):
        table.add_column(column, justify=justify, overflow="fold", no_wrap=column in ("symbol", "side", "shares"))
    for o in orders.itertuples(index=False):
        table.add_row(o.symbol, o.side, f"{o.shares:,.2f}", f"{o.notional:,.0f}",
                      f"{o.weight_now:.1%} → {o.weight_after:.1%}", o.rule, escape(o.reason))
    if not len(orders):
        table.add_row("—", "", "", "", "", "", "no order: every name is where the rules want it")
    return table


def hedge_table(hedges) -> Table:
    import pandas as pd

    table = Table(title="Hedges", box=box.SIMPLE_HEAD)
    for column in ("hedge", "action", "leg", "strike", "expiry", "contracts", "reason"):
        table.add_column(column, overflow="fold")
    for h in hedges.itertuples(index=False):
        leg = "" if pd.isna(h.right) else f"{h.right}"
        table.add_row(h.hedge, h.action, leg, "" if pd.isna(h.strike) else f"{h.strike:,.2f}",
                      "" if pd.isna(h.expiry) else str(h.expiry),
                      "" if pd.isna(h.contracts) else f"{h.contracts:+,.0f}", escape(h.reason))
    return table
