"""Path-dependent rules by declaration, and where each sits in the simulation kernel's inputs.

A path-dependent rule is declared once (``StatefulRule``): its phase, its parameter names, its
per-name state columns and when they reset, its log codes and their wording, and where its
per-session numba step is. From the declarations of the registered rules (``KernelLayout``) the
kernel derives the packed parameter matrix's columns (each rule's block starts with an
``enabled`` flag), the state matrix's columns (the kernel's own columns first), the resets and
the log decoding; no core file names a rule.

Nothing here imports numba or vectorbt: the config models, the rule registry and `rulebook
validate` read these declarations, and only a simulation compiles the steps
(engine.sim.rule_kernels, which documents what the steps do each session).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd

# the kernel's own state columns; rules' columns follow
COST, STANDING, PENDING, BLOCKED, EXIT_I, EXIT_PX, BLOCK_COOLDOWN, BLOCK_PULLBACK = range(8)
N_CORE_STATE = 8
# the kernel's own log codes; rules' codes follow
REENTRY_BLOCK, NO_BUY = range(2)
LOG_FIELDS = ("i", "col", "code", "before", "after", "a", "b")
N_SCRATCH = 6  # rows of the per-book scratch buffer: 0-2 the kernel's, 3-5 free for book rules

Phase = Literal["exit", "entry", "book"]


StateUnit = Literal["count", "flag", "price", "shares", "session", "fraction", "weight", "money", "number"]


@dataclass(frozen=True)
class State:
    """One per-name state column of a rule. ``unit`` says what its number is, so the state file of
    `rulebook today` (engine.practice.state) can write it readably and read it back: count, flag (0/1),
    price (the simulator's total-return price), shares (simulated), session (a session's index, 0 =
    none), fraction, weight (of equity), money, number (written as is). ``meaning``: one line for that file."""

    name: str
    reset: Literal["flat", "satisfied", "never"] = "flat"
    unit: StateUnit = "number"
    meaning: str = ""


# the kernel's own columns, declared like a rule's (in column order)
CORE_STATE = (
    State("cost", "flat", "money", "cost basis of the shares held, fees included"),
    State("standing_target", "never", "weight", "the target weight the pipeline last set"),
    State("buy_pending", "never", "flag", "a buy a rule held back, waiting for the standing target"),
    State("reentry_blocked", "never", "flag", "buying waits after a rule's exit"),
    State("exit_date", "never", "session", "fill session of the last exit by a rule"),
    State("exit_price", "never", "price", "fill price of that exit"),
    State("reentry_cooldown", "never", "count", "sessions after that exit before buying may start again"),
    State("reentry_pullback", "never", "fraction", "or a close this fraction below the exit price"),
)
assert len(CORE_STATE) == N_CORE_STATE


@dataclass(frozen=True)
class LogCode:
    """One kind of record: ``rule`` is its name in rules.parquet; ``wording`` a format string over
    before, after, a, b, move ('12.0% → 8.0%') and group (the capped group named by int(b))."""

    rule: str
    wording: str


def columns(names: tuple[str, ...], first: int = 0) -> range:
    """Column numbers of ``names`` in a block (parameters start at 1: column 0 is ``enabled``)."""
    return range(first, first + len(names))


@dataclass(frozen=True)
class StatefulRule:
    """A path-dependent rule's declaration. ``params``: scalar parameter names (columns 1..);
    ``arrays``: fixed-length parameter arrays after them ({name: length}); ``values(block, symbols)``
    returns {param: number, per-symbol array, or list for an array} for a config block;
    ``step``: a plain Python function numba compiles with SIGNATURES[phase] (an exit or entry step without
    numba's runtime: it allocates no array; a kernel it calls may)."""

    name: str
    phase: Phase
    params: tuple[str, ...]
    state: tuple[State, ...]
    log: tuple[LogCode, ...]
    step: str | Callable
    values: Callable[[Any, list[str]], dict[str, Any]]
    arrays: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not callable(self.step) and not (isinstance(self.step, str) and self.step.count(":") == 1):
            raise ValueError(f"rule '{self.name}': step {self.step!r} is neither a function nor 'module:function'")

    def step_function(self) -> Callable:
        """The step itself, its module imported on first use."""
        if callable(self.step):
            return self.step
        module, name = self.step.split(":")
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as error:
            raise ValueError(f"rule '{self.name}': cannot load its step {self.step!r}: {error}") from error

    @property
    def width(self) -> int:
        return 1 + len(self.params) + sum(self.arrays.values())

    def block(self, block_config: Any, symbols: list[str]) -> np.ndarray:
        """This rule's parameter block (names x width) for a config block; None = rule off (zeros)."""
        out = np.zeros((len(symbols), self.width))
        if block_config is None:
            return out
        values = self.values(block_config, symbols)
        unknown = set(values) - set(self.params) - set(self.arrays)
        if unknown:
            raise ValueError(f"{self.name}.values returned unknown parameters {sorted(unknown)}")
        out[:, 0] = 1.0
        for j, name in enumerate(self.params, start=1):
            out[:, j] = values.get(name, 0.0)
        at = 1 + len(self.params)
        for name, length in self.arrays.items():
            given = np.asarray(values.get(name, []), dtype=float)
            if len(given) > length:
                raise ValueError(f"{self.name}.{name}: {len(given)} values, at most {length}")
            out[:, at:at + len(given)] = given
            out[:, at + len(given):at + length] = np.nan
            at += length
        return out


@dataclass(frozen=True)
class KernelLayout:
    """Where each registered path-dependent rule lives in the packed parameters, the state and the log codes."""

    rules: tuple[StatefulRule, ...]

    @cached_property
    def param_at(self) -> dict[str, int]:
        starts = np.cumsum([0] + [r.width for r in self.rules])
        return {r.name: int(s) for r, s in zip(self.rules, starts)}

    @property
    def n_params(self) -> int:
        return sum(r.width for r in self.rules)

    @cached_property
    def state_at(self) -> dict[str, int]:
        starts = N_CORE_STATE + np.cumsum([0] + [len(r.state) for r in self.rules])
        return {r.name: int(s) for r, s in zip(self.rules, starts)}

    @property
    def n_state(self) -> int:
        return N_CORE_STATE + sum(len(r.state) for r in self.rules)

    @cached_property
    def codes(self) -> tuple[LogCode, ...]:
        core = (LogCode("reentry_block", "re-entry blocked: {a:.0f} of {b:.0f} cooldown sessions since the exit, "
                        "no pullback yet"), LogCode("no_buy", "event rule blocks new buying"))
        return core + tuple(code for r in self.rules for code in r.log)

    @cached_property
    def code_at(self) -> dict[str, int]:
        starts = 2 + np.cumsum([0] + [len(r.log) for r in self.rules])
        return {r.name: int(s) for r, s in zip(self.rules, starts)}

    def resets(self, when: str) -> np.ndarray:
        mask = np.zeros(self.n_state, dtype=np.bool_)
        mask[:N_CORE_STATE] = [column.reset == when for column in CORE_STATE]
        for r in self.rules:
            for j, column in enumerate(r.state):
                mask[self.state_at[r.name] + j] = column.reset == when
        return mask

    def initial_state(self, n_columns: int) -> np.ndarray:
        state = np.zeros((n_columns, self.n_state))
        state[:, STANDING] = np.nan
        return state

    def describe(self, record: np.ndarray, group_names: tuple[str, ...]) -> str:
        """The reason a kernel log record shows a reader."""
        _, _, code, before, after, a, b = record
        group = group_names[int(b)] if 0 <= int(b) < len(group_names) else ""
        return self.codes[int(code)].wording.format(before=before, after=after, a=a, b=b, group=group,
                                                    move=f"{before:.1%} → {after:.1%}")


@dataclass(frozen=True)
class KernelRules:
    """What the simulation needs to run the path-dependent rules of one book (strategies.staging.compile_rules)."""

    layout: KernelLayout
    params: np.ndarray  # names x layout.n_params
    group_members: np.ndarray  # bool, names x capped groups
    group_cap: np.ndarray  # float per capped group
    group_names: tuple[str, ...]  # name of each capped group, for the log
    gross_limit: pd.Series | None = None  # regime cap per decision session (NaN = none)
    no_buy: pd.DataFrame | None = None  # True where the decision session blocks new buying
    log_capacity: int | None = None  # kernel log records; default sessions x columns
