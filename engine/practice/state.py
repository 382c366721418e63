"""The rule state a broker file lacks, kept between `rulebook today` runs in a small JSON file.

Profit-taking and re-entry depend on the book's path: stages already fired, the shares held when
the first one fired, the peak close since, the last exit, tranches of a staged entry, a buy held
back. The compiled rules keep these per name (engine.sim.rule_kernels' state columns); this module
turns them into a readable file (dates, as-traded prices, real shares) and back.

Without a file every name starts as if no stage had fired since it was opened and no exit or
entry were under way; ``notes`` says so, name by name where it matters.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from engine.atomic import write_file_atomically
from engine.errors import DataError
from engine.sim import rule_kernels as rk
from strategies import profit_taking as pt
from strategies import staged_entry as se
from strategies.registry import kernel_layout

VERSION = 1
# file field -> (rule owning the state column, None = the kernel's own; its column; kind): kind says how it
# converts between the file and the kernel. Other rules' state (stop-loss, drawdown exit, plugins) is not kept.
FIELDS = {
    "stages_fired": ("profit_taking", pt.FIRED, "count"),
    "base_shares": ("profit_taking", pt.BASE, "shares"),
    "peak_close": ("profit_taking", pt.PEAK, "price"),
    "reentry_blocked": (None, rk.BLOCKED, "flag"),
    "reentry_cooldown": (None, rk.BLOCK_COOLDOWN, "count"),  # of the rule that exited the name
    "reentry_pullback": (None, rk.BLOCK_PULLBACK, "weight"),
    "exit_date": (None, rk.EXIT_I, "session"),
    "exit_price": (None, rk.EXIT_PX, "price"),
    "standing_target": (None, rk.STANDING, "weight"),
    "buy_pending": (None, rk.PENDING, "flag"),
    "tranches_done": ("staged_entry", se.TRANCHE, "count"),
    "last_tranche_date": ("staged_entry", se.TRANCHE_I, "session"),
    "last_tranche_price": ("staged_entry", se.TRANCHE_PX, "price"),
}


def state_column(field: str) -> int:
    """A file field's kernel state column: the kernel's own, or in its rule's block of the registered layout."""
    rule, column, _ = FIELDS[field]
    return column if rule is None else kernel_layout().state_at[rule] + column


def empty_state(n_names: int) -> np.ndarray:
    """The kernel's state before any fill (as engine.sim.simulate starts every book)."""
    return kernel_layout().initial_state(n_names)


def read_state(path: Path) -> dict:
    """The names' records of a state file written by ``write_state``."""
    path = Path(path)
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(path, None, "not found", "leave out --state to start without one, or give the file "
                        "`rulebook today` wrote next to its output") from None
    except json.JSONDecodeError as error:
        raise DataError(path, None, f"not JSON ({error.msg}, line {error.lineno})",
                        "give the state file `rulebook today` wrote, unedited, or leave out --state") from None
    if not isinstance(record, dict) or record.get("version") != VERSION or not isinstance(record.get("names"), dict):
        raise DataError(path, "version", f"not a rulebook state file of version {VERSION}",
                        "give the file `rulebook today` wrote, or leave out --state")
    for symbol, fields in record["names"].items():
        unknown = set(fields) - set(FIELDS)
        if unknown:
            raise DataError(path, f"names.{symbol}.{sorted(unknown)[0]}", "unknown field",
                            f"fields are {', '.join(FIELDS)}")
    return record


def kernel_state(names: dict, symbols: list[str], sessions: pd.DatetimeIndex, price_scale: np.ndarray,
                 path: Path | str = "state") -> np.ndarray:
    """Kernel state rows for ``symbols`` from a state file's ``names``. ``price_scale`` per symbol turns an
    as-traded price at the decision into the simulator's total-return price (shares divide by it)."""
    state = empty_state(len(symbols))
    for k, symbol in enumerate(symbols):
        for field, value in names.get(symbol, {}).items():
            state[k, state_column(field)] = _to_kernel(path, symbol, field, FIELDS[field][2], value, sessions,
                                                       price_scale[k])
    return state


def state_names(state: np.ndarray, symbols: list[str], sessions: pd.DatetimeIndex,
                price_scale: np.ndarray) -> dict:
    """A state file's ``names`` from kernel state rows (names with nothing to remember are left out)."""
    names = {}
    for k, symbol in enumerate(symbols):
        row = state[k]
        if not any(row[state_column(field)] > 0
                   for field in ("stages_fired", "reentry_blocked", "buy_pending", "tranches_done")):
            continue
        names[symbol] = {field: _from_kernel(kind, row[state_column(field)], sessions, price_scale[k])
                         for field, (_, _, kind) in FIELDS.items()}
    return names


def write_state(path: Path, *, config: str, as_of: pd.Timestamp, names: dict) -> Path:
    record = {"version": VERSION, "config": config, "as_of": as_of.date().isoformat(), "names": names}
    text = json.dumps(record, indent=2, allow_nan=False) + "\n"
    return write_file_atomically(Path(path), lambda tmp: tmp.write_text(text))


def _to_kernel(path, symbol: str, field: str, kind: str, value, sessions: pd.DatetimeIndex, scale: float) -> float:
    where = f"names.{symbol}.{field}"
    if value is None:
        return np.nan if kind in ("weight", "price") else 0.0
    if kind == "flag":
        return 1.0 if value else 0.0
    if kind == "session":
        try:
            day = pd.Timestamp(value)
        except ValueError:
            raise DataError(path, where, f"'{value}' is not a date", "write YYYY-MM-DD") from None
        # sessions after the data (a fill on the session after the decision) count on from the last one
        position = sessions.searchsorted(day)
        return float(position)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
        raise DataError(path, where, f"{value!r} is not a number >= 0", "give the value the file was written with")
    if kind == "price":
        return float(value) * scale
    if kind == "shares":
        return float(value) / scale
    return float(value)


def _from_kernel(kind: str, value: float, sessions: pd.DatetimeIndex, scale: float):
    if kind == "flag":
        return bool(value > 0)
    if kind == "count":
        return int(value)
    if kind == "session":
        return sessions[int(value)].date().isoformat() if 0 < value < len(sessions) else None
    if not math.isfinite(value) or (kind == "price" and value == 0.0):
        return None
    if kind == "price":
        return float(value) / scale
    if kind == "shares":
        return float(value) * scale
    return float(value)
