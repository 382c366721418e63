"""Following the rules in practice: what they tell a real book today, and what each rule earned.

    import rulebook
    decision = rulebook.today("configs/column.yaml", "my_book.csv")       # -> engine.practice.today.Today
    decision.orders                                                       # symbol, side, shares, price, ...
    table = rulebook.attribute("configs/column.yaml").table               # attribution.parquet's rows
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd


def today(config, holdings, *, date=None, state: Path | str | None = None, mapping: dict[str, str] | None = None,
          **overrides: Any):
    """The orders the config's rules give ``holdings`` at the close of ``date`` (default: the data's last
    session), as `rulebook today` prints them: exactly the trades a backtest holding this book would decide
    there. ``config``: a path, dict or config model; ``holdings``: a holdings CSV path (broker headers
    recognised, ``mapping`` = --map) or an engine.practice.holdings.Holdings; ``state``: the state file of
    the last run (None: no stage fired since each position was opened). Returns an
    engine.practice.today.Today (``orders``, ``hedges``, ``book``, ``notes``, ``save(path)``,
    ``write_state(path)``)."""
    from engine.practice.holdings import Holdings, read_holdings
    from engine.practice.today import today as decide_today
    from rulebook.api import load_config

    book = holdings if isinstance(holdings, Holdings) else read_holdings(Path(holdings), mapping)
    day = None if date is None else pd.Timestamp(date).normalize()
    return decide_today(load_config(config, **overrides), book, date=day,
                        state_path=None if state is None else Path(state))


def attribute(config: Path | str, *, executor=None):
    """Each rule's contribution (engine.sweep.attribution): added alone to the baseline and left out of the
    full rule set, with the interaction, in one compare sweep. ``config``: a config file (the variants are
    overrides of its YAML). Returns an Attribution (``table``: attribution.parquet's rows; ``equity``)."""
    from engine.sweep.attribution import attribute as sweep

    return sweep(Path(config), executor=executor)
