"""Following the rules in practice: what they tell a real book today (`rulebook today`).

    import rulebook
    decision = rulebook.today("configs/column.yaml", "my_book.csv")       # -> engine.practice.today.Today
    decision.orders                                                       # symbol, side, shares, price, ...
    rulebook.save_today(decision, "orders.csv")                           # orders + orders.state.json
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def today(config, holdings, *, date=None, state: Path | str | None = None,
          mapping: dict[str, str] | list[str] | None = None, **overrides: Any):
    """The orders the config's rules give ``holdings`` at the close of ``date`` (default: the data's last
    session), as `rulebook today` prints them: exactly the trades a backtest holding this book would decide
    there. ``config``: a path, dict or config model; ``holdings``: a holdings CSV path (broker headers
    recognised; ``mapping``: {source column: field}, or ``"SRC=FIELD"`` strings as --map takes them) or an
    engine.practice.holdings.Holdings; ``date``: a date or YYYY-MM-DD text; ``state``: the state file of
    the last run (None: no stage fired since each position was opened). Returns an
    engine.practice.today.Today (``orders``, ``hedges``, ``book``, ``notes``, ``save(path)``,
    ``write_state(path)``)."""
    from engine.practice.holdings import Holdings, parse_map, read_holdings
    from engine.practice.today import today as decide_today
    from rulebook.api import load_config, session_date

    cfg = load_config(config, **overrides)
    if not isinstance(holdings, Holdings):
        pairs = mapping if isinstance(mapping, dict) else parse_map(mapping)
        holdings = read_holdings(Path(holdings), pairs)
    return decide_today(cfg, holdings, date=session_date(date), state_path=None if state is None else Path(state))


def save_today(decision, out: Path | str | None = None, *, state: Path | str | None = None,
               rule_check: Path | str | None = None) -> list[Path]:
    """Write what `rulebook today` writes, as one set (all of them appear, or none): the orders to ``out``
    (.csv or .json), the rule state after the orders to ``state`` (default: next to ``out``,
    orders.state.json), and with ``rule_check`` (a path without suffix) the one-page rule check as
    ``<rule_check>.rule-check.html`` and ``.pdf`` (the config's report.page_size). Returns the paths written."""
    from engine.atomic import file_set
    from engine.practice.today import default_state_path

    out = None if out is None else Path(out)
    state_out = Path(state) if state is not None else (default_state_path(out) if out is not None else None)
    with file_set():
        written = [decision.save(out)] if out is not None else []
        if state_out is not None:
            written.append(decision.write_state(state_out))
        if rule_check is not None:
            from engine.practice.rule_check_page import write_rule_check

            written += write_rule_check(decision, Path(rule_check))
    return written
