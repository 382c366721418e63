"""The rule state a broker file lacks, kept between `rulebook today` runs in a small JSON file.

Path-dependent rules remember things per name (stages fired, the peak close since entry, the
last exit, tranches of an entry, a buy held back). Each rule declares its state columns with a
unit and a meaning (engine.sim.rule_layout.State), and so does the kernel for its own columns
(CORE_STATE); this module derives the file from those declarations, so a plugin's stateful rule
is saved and restored like a shipped one. Per name the file keeps what is not at its starting
value: the kernel's fields at the top, each rule's under its name; units are converted to what a
reader expects (a session as its date, a price as traded, real shares) and back. ``fields``
explains every field written. The cost basis is not kept: it comes from the holdings' avg_cost.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from engine.atomic import write_file_atomically
from engine.errors import DataError
from engine.sim.rule_layout import CORE_STATE, COST, KernelLayout, State
from strategies.registry import kernel_layout

VERSION = 2


@dataclass(frozen=True)
class StateField:
    rule: str | None  # None = the kernel's own
    column: int  # in the kernel's state matrix
    state: State

    @property
    def key(self) -> str:
        return self.state.name if self.rule is None else f"{self.rule}.{self.state.name}"

    @property
    def explained(self) -> str:
        return f"{self.state.unit}: {self.state.meaning}" if self.state.meaning else self.state.unit


def state_fields(layout: KernelLayout | None = None) -> dict[str, StateField]:
    """Every field a state file may hold, by key ('exit_date', 'profit_taking.fired', ...)."""
    layout = layout or kernel_layout()
    fields = [StateField(None, j, s) for j, s in enumerate(CORE_STATE) if j != COST]  # cost: from avg_cost
    fields += [StateField(r.name, layout.state_at[r.name] + j, s) for r in layout.rules for j, s in enumerate(r.state)]
    return {f.key: f for f in fields}


def empty_state(n_names: int) -> np.ndarray:
    """The kernel's state before any fill (as engine.sim.simulate starts every book)."""
    return kernel_layout().initial_state(n_names)


def read_state(path: Path) -> dict:
    """A state file written by ``write_state``: its ``as_of`` and its names' fields, flat by key."""
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
    try:
        as_of = pd.Timestamp(record.get("as_of"))
    except (TypeError, ValueError):
        as_of = pd.NaT
    if pd.isna(as_of):
        raise DataError(path, "as_of", f"'{record.get('as_of')}' is not a date", "write YYYY-MM-DD")
    known = state_fields()
    names = {}
    for symbol, fields in record["names"].items():
        flat = _flatten(fields if isinstance(fields, dict) else {})
        for key in flat:
            if key not in known:
                rule = key.split(".")[0]
                fix = (f"{rule} keeps {', '.join(k for k in known if k.startswith(rule + '.'))}"
                       if any(k.startswith(rule + ".") for k in known) and "." in key
                       else f"no registered rule keeps it (a plugin not installed?); fields are {', '.join(known)}")
                raise DataError(path, f"names.{symbol}.{key}", "unknown field", fix)
        names[symbol] = flat
    return {"as_of": as_of.normalize(), "names": names}


def kernel_state(names: dict, symbols: list[str], sessions: pd.DatetimeIndex, price_scale: np.ndarray,
                 path: Path | str = "state") -> np.ndarray:
    """Kernel state rows for ``symbols`` from a state file's ``names`` (flat keys). ``price_scale`` per
    symbol (adj_factor at the file's as_of) turns a price as traded then into the simulator's
    total-return price (shares divide by it)."""
    fields = state_fields()
    state = empty_state(len(symbols))
    for k, symbol in enumerate(symbols):
        for key, value in names.get(symbol, {}).items():
            field = fields[key]
            state[k, field.column] = _to_kernel(path, f"names.{symbol}.{key}", field.state.unit, value, sessions,
                                                price_scale[k])
    return state


def state_names(state: np.ndarray, symbols: list[str], sessions: pd.DatetimeIndex,
                price_scale: np.ndarray) -> dict:
    """A state file's ``names`` from kernel state rows: per name the fields not at their starting value
    (kernel fields first, each rule's nested under its name); names with nothing to remember are left out."""
    initial, fields = empty_state(1)[0], list(state_fields().values())
    names = {}
    for k, symbol in enumerate(symbols):
        record: dict = {}
        for field in fields:
            value = state[k, field.column]
            if value == initial[field.column] or (math.isnan(value) and math.isnan(initial[field.column])):
                continue
            written = _from_kernel(field.state.unit, value, sessions, price_scale[k])
            (record if field.rule is None else record.setdefault(field.rule, {}))[field.state.name] = written
        if record:
            names[symbol] = record
    return names


def write_state(path: Path, *, config: str, as_of: pd.Timestamp, names: dict) -> Path:
    fields = state_fields()
    used = {key for fields_ in names.values() for key in _flatten(fields_)}
    record = {"version": VERSION, "config": config, "as_of": as_of.date().isoformat(),
              "fields": {key: field.explained for key, field in fields.items() if key in used}, "names": names}
    text = json.dumps(record, indent=2, allow_nan=False) + "\n"
    return write_file_atomically(Path(path), lambda tmp: tmp.write_text(text))


def assumed_without_state(layout: KernelLayout, configured: list[str]) -> str:
    """What `today` assumes without a state file, from the configured stateful rules' declarations."""
    remembered = [f"no {r.name} state ({', '.join(s.meaning or s.name for s in r.state)})" for r in layout.rules
                  if r.name in configured]
    return ("no state file: assuming the rules remember nothing since each position was opened: "
            + "; ".join(remembered + ["no exit by a rule, re-entry wait or held-back buy"]))


def _flatten(fields: dict) -> dict:
    flat = {}
    for key, value in fields.items():
        if isinstance(value, dict):
            flat.update({f"{key}.{inner}": v for inner, v in value.items()})
        else:
            flat[key] = value
    return flat


def _to_kernel(path, where: str, unit: str, value, sessions: pd.DatetimeIndex, scale: float) -> float:
    if value is None:
        return np.nan
    if unit == "flag":
        if not isinstance(value, bool):
            raise DataError(path, where, f"{value!r} is not true or false", "give the value the file was written with")
        return 1.0 if value else 0.0
    if unit == "session":
        try:
            day = pd.Timestamp(value)
        except (TypeError, ValueError):
            raise DataError(path, where, f"'{value}' is not a date", "write YYYY-MM-DD") from None
        # a session after the data (a fill on the session after the decision) counts on from the last one
        return float(sessions.searchsorted(day))
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or (
            value < 0 and unit in ("count", "price", "shares")):
        raise DataError(path, where, f"{value!r} is not a {unit} (a finite number" + (", >= 0)" if unit in (
            "count", "price", "shares") else ")"), "give the value the file was written with")
    if unit == "price":
        return float(value) * scale
    if unit == "shares":
        return float(value) / scale
    return float(value)


def _from_kernel(unit: str, value: float, sessions: pd.DatetimeIndex, scale: float):
    if math.isnan(value):
        return None
    if unit == "flag":
        return bool(value > 0)
    if unit == "count":
        return int(value)
    if unit == "session":
        return sessions[int(value)].date().isoformat() if 0 <= value < len(sessions) else None
    if unit == "price":
        return float(value) / scale
    if unit == "shares":
        return float(value) * scale
    return float(value)
