"""Path-dependent rules by declaration, and the per-session step of the compiled loop that runs them.

A path-dependent rule is declared once (``StatefulRule``): its phase, its parameter names, its
per-name state columns and when they reset, its log codes and their wording, and one small
numba step with its phase's signature. From the declarations of the registered rules
(``KernelLayout``) the kernel derives the packed parameter matrix's columns (each rule's block
starts with an ``enabled`` flag), the state matrix's columns (the kernel's own columns first),
the resets and the log decoding; no core file names a rule.

At session t (decision information = the close of t-1; weights are of the equity the loop sizes
orders on: the close of t-1 with ``execution.size_at: decision``, the fill prices of t with
``fill``) each name's target goes through, in order:

1. ``exit`` rules, on held names (profit-taking and its trailing stop, stop-loss, drawdown
   exit): each returns (the weight the name is capped at, the target it forces or NaN); the
   first full exit ends the phase. ``exit_by_rule_nb`` records an exit for re-entry.
2. buys a rule holds back wait (``PENDING``) for the pipeline's standing target: after a
   rule's exit until its re-entry condition holds (``cooldown`` sessions since the exit fill,
   or a close ``pullback`` below the exit price), and while the event ``no_buy`` mask is set.
3. ``entry`` rules shape the buys that passed (staged entry).
4. ``book`` rules see every name of the book at once (cap drift trims).

Rule-made orders ignore the execution band. State columns declared ``reset="flat"`` reset
when a fill leaves the name flat; ``reset="satisfied"`` ones when a decision asks for no more
than is held. Every action is written to a preallocated log buffer as (i, col, code, before,
after, a, b); ``describe`` words a record from its code's declaration.

Steps are compiled on first use with their phase's signature (engine.sim.kernel_cache.kernel)
and passed to the loop as first-class functions, so the loop compiles (and caches) once per
number of rules per phase, whatever the rules are.
"""

from __future__ import annotations

from collections.abc import Callable
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd
from numba import types
from numba.core.errors import NumbaExperimentalFeatureWarning

from engine.sim.kernel_cache import kernel
from engine.sim.orders import FLOAT_NOISE_WEIGHT

# first-class functions are how the loop calls the rules' steps; numba flags the feature on every call
warnings.filterwarnings("ignore", category=NumbaExperimentalFeatureWarning)

# the kernel's own state columns; rules' columns follow
COST, STANDING, PENDING, BLOCKED, EXIT_I, EXIT_PX, BLOCK_COOLDOWN, BLOCK_PULLBACK = range(8)
N_CORE_STATE = 8
# the kernel's own log codes; rules' codes follow
REENTRY_BLOCK, NO_BUY = range(2)
LOG_FIELDS = ("i", "col", "code", "before", "after", "a", "b")
N_SCRATCH = 6  # rows of the per-book scratch buffer: 0-2 the kernel's, 3-5 free for book rules

Phase = Literal["exit", "entry", "book"]
_M, _V, _I = types.float64[:, ::1], types.float64[::1], types.int64[::1]
_f8, _i8 = types.float64, types.int64
# exit / entry: (i, col, k, position, fill price, weight at fill, equity, decided target (NaN = none),
#   target so far, marks, params, p, state, s, log, log_count, c) -> (weight cap, forced target or NaN)
NAME_STEP = types.UniTuple(_f8, 2)(_i8, _i8, _i8, _f8, _f8, _f8, _f8, _f8, _f8, _M, _M, _i8, _M, _i8, _M, _I, _i8)
# book: (i, from_col, to_col, weights at the close of t-1, at the fill, tradable, regime gross cap, params, p,
#   group members, group caps, log, log_count, c, targets, forced, scratch, group scratch) -> None
BOOK_STEP = types.void(_i8, _i8, _i8, _V, _V, _V, _f8, _M, _i8, types.boolean[:, ::1], _V, _M, _I, _i8, _V,
                       types.boolean[::1], _M, _V)
SIGNATURES = {"exit": NAME_STEP, "entry": NAME_STEP, "book": BOOK_STEP}


@dataclass(frozen=True)
class State:
    name: str
    reset: Literal["flat", "satisfied", "never"] = "flat"


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
    ``step``: a plain Python function numba compiles with SIGNATURES[phase]."""

    name: str
    phase: Phase
    params: tuple[str, ...]
    state: tuple[State, ...]
    log: tuple[LogCode, ...]
    step: Callable
    values: Callable[[Any, list[str]], dict[str, Any]]
    arrays: dict[str, int] = field(default_factory=dict)

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


_COMPILED: dict[int, Any] = {}


def _name_placeholder(i, col, k, pos, price, w_fill, equity, wanted, target, marks, rules, p, state, s, log,
                      log_count, c):
    return np.inf, np.nan


def _book_placeholder(i, from_col, to_col, w_prev, w_fill, tradable, gross_limit, rules, p, members, group_cap, log,
                      log_count, c, target, forced, scratch, group_scratch):
    return None


_PLACEHOLDERS = {"exit": _name_placeholder, "entry": _name_placeholder, "book": _book_placeholder}


def _placeholder(phase: str):
    """The step a phase without rules passes the loop (never called: its parameter column is -1)."""
    return compiled(StatefulRule(name=f"no {phase} rule", phase=phase, params=(), state=(), log=(),
                                 step=_PLACEHOLDERS[phase], values=lambda block, symbols: {}))


def compiled(rule: StatefulRule):
    """The rule's step compiled with its phase's signature (once per process; numba caches it on disk)."""
    if id(rule.step) not in _COMPILED:
        step = kernel(rule.step)  # cached like every kernel (a step outside rulebook: stamped by its own file too)
        step.compile(SIGNATURES[rule.phase])
        step.disable_compile()  # one signature: the loop passes it as a first-class function
        _COMPILED[id(rule.step)] = step
    return _COMPILED[id(rule.step)]


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
        mask[COST] = when == "flat"
        for r in self.rules:
            for j, column in enumerate(r.state):
                mask[self.state_at[r.name] + j] = column.reset == when
        return mask

    def initial_state(self, n_columns: int) -> np.ndarray:
        state = np.zeros((n_columns, self.n_state))
        state[:, STANDING] = np.nan
        return state

    def steps(self, phase: str) -> tuple[tuple, np.ndarray]:
        """(compiled steps, their (parameter, state, code) offsets) for one phase. numba cannot type a
        loop over an empty tuple, so a phase no rule uses gets one placeholder step at parameter -1,
        which the loop never calls."""
        chosen = [r for r in self.rules if r.phase == phase]
        if not chosen:
            return (_placeholder(phase),), np.array([[-1, 0, 0]], dtype=np.int64)
        at = np.array([[self.param_at[r.name], self.state_at[r.name], self.code_at[r.name]] for r in chosen],
                      dtype=np.int64)
        return tuple(compiled(r) for r in chosen), at

    def describe(self, record: np.ndarray, group_names: tuple[str, ...]) -> str:
        """The reason a kernel log record shows a reader."""
        _, _, code, before, after, a, b = record
        group = group_names[int(b)] if 0 <= int(b) < len(group_names) else ""
        return self.codes[int(code)].wording.format(before=before, after=after, a=a, b=b, group=group,
                                                    move=f"{before:.1%} → {after:.1%}")


_REGISTERED: list[KernelLayout] = [KernelLayout(())]


def registered_layout() -> KernelLayout:
    """The layout of every registered rule (strategies.registry keeps it current): what a run without
    rules passes the loop, so one compiled loop serves runs with and without rules."""
    return _REGISTERED[0]


def use_layout(layout: KernelLayout) -> None:
    _REGISTERED[0] = layout


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


@kernel
def record_nb(log, log_count, i, col, code, before, after, a, b):
    """Append one record; past the capacity count the records dropped instead."""
    n = log_count[0]
    if n >= log.shape[0]:
        log_count[1] += 1
        return
    row = log[n]
    row[0], row[1], row[2], row[3], row[4], row[5], row[6] = i, col, code, before, after, a, b
    log_count[0] = n + 1


@kernel
def exit_by_rule_nb(state, col, i, price, cooldown, pullback):
    """A rule exited the name at ``price``: buying waits ``cooldown`` sessions (< 0: not at all)
    or a close ``pullback`` below the exit price (NaN: no pullback)."""
    if cooldown >= 0:
        state[col, BLOCKED] = 1.0
        state[col, BLOCK_COOLDOWN] = cooldown
        state[col, BLOCK_PULLBACK] = pullback
    state[col, EXIT_I] = i
    state[col, EXIT_PX] = price


@kernel
def _reset_nb(state, col, mask):
    for j in range(mask.shape[0]):
        if mask[j]:
            state[col, j] = 0.0


@kernel
def session_targets_nb(i, from_col, to_col, position, val_price, fill_price, marks, cash, equity, due, due_from,
                       no_buy, gross_limit, rules, members, group_cap, state, reset_satisfied, log, log_count,
                       target, forced, scratch, group_scratch, exit_steps, exit_at, entry_steps, entry_at,
                       book_steps, book_at):
    """Targets (weights of the equity orders are sized on, NaN = no order) for one book's names at session i >= 1.

    Name k of the book is column ``from_col + k`` of the per-column inputs (``rules``, ``state``,
    ``no_buy``, the log), column k of the prices every book shares (``fill_price``, ``marks``) and
    of the book's own ``position`` and ``val_price``, and column ``due_from + k`` of ``due`` (books
    with the same decisions share them). ``scratch`` (N_SCRATCH x names) and ``group_scratch`` (one
    per capped group) are buffers the caller allocates once per book: this runs every session, and
    allocating here would dominate its cost. ``*_steps``/``*_at``: KernelLayout.steps per phase."""
    n = to_col - from_col
    prev = i - 1
    equity_prev = cash
    for k in range(n):
        if position[k] > 0:
            equity_prev += position[k] * marks[prev, k]
    w_fill, w_prev, tradable = scratch[0], scratch[1], scratch[2]
    tradable[:] = 0.0
    for k in range(n):
        col = from_col + k
        pos, price, mark, wanted = position[k], fill_price[i, k], marks[prev, k], due[i, due_from + k]
        w_fill[k] = pos * val_price[k] / equity if pos > 0 else 0.0
        w_prev[k] = pos * mark / equity_prev if pos > 0 else 0.0
        target[k], forced[k] = wanted, False
        if not np.isnan(wanted):
            state[col, STANDING] = wanted
            if wanted <= w_fill[k] + FLOAT_NOISE_WEIGHT:
                _reset_nb(state, col, reset_satisfied)  # the pipeline no longer asks for more
        if not np.isfinite(price):
            target[k] = np.nan
            continue
        tradable[k] = 1.0
        limit, acted = np.inf, np.nan
        if pos > 0:
            j = 0
            for step in exit_steps:
                p = exit_at[j, 0]
                if p >= 0 and rules[col, p] > 0 and acted != 0.0:
                    cap, forces = step(i, col, k, pos, price, w_fill[k], equity, wanted, target[k], marks, rules, p,
                                       state, exit_at[j, 1], log, log_count, exit_at[j, 2])
                    limit = min(limit, cap)
                    if not np.isnan(forces):
                        acted = forces if np.isnan(acted) else min(acted, forces)
                j += 1
            if not np.isnan(acted):
                target[k], forced[k] = min(acted, limit), True
                if target[k] == 0.0:
                    continue
        if np.isnan(target[k]) and state[col, PENDING] > 0:
            target[k] = min(state[col, STANDING], limit)
        state[col, PENDING] = 0.0
        if not target[k] > w_fill[k] + FLOAT_NOISE_WEIGHT:
            continue
        if state[col, BLOCKED] > 0:
            since = i - state[col, EXIT_I]
            if since >= state[col, BLOCK_COOLDOWN] or mark <= state[col, EXIT_PX] * (1.0 - state[col, BLOCK_PULLBACK]):
                state[col, BLOCKED] = 0.0
            else:
                if not np.isnan(wanted):
                    record_nb(log, log_count, i, col, REENTRY_BLOCK, w_fill[k], w_fill[k], since,
                              state[col, BLOCK_COOLDOWN])
                target[k], state[col, PENDING] = np.nan, 1.0
                continue
        if no_buy[i, col]:
            if not np.isnan(wanted):
                record_nb(log, log_count, i, col, NO_BUY, w_fill[k], w_fill[k], 0.0, 0.0)
            target[k], state[col, PENDING] = np.nan, 1.0
            continue
        j = 0
        for step in entry_steps:
            p = entry_at[j, 0]
            if p >= 0 and rules[col, p] > 0 and not np.isnan(target[k]):
                _, buy_to = step(i, col, k, pos, price, w_fill[k], equity, wanted, target[k], marks, rules, p, state,
                                 entry_at[j, 1], log, log_count, entry_at[j, 2])
                if buy_to != target[k]:
                    target[k], forced[k] = buy_to, True
            j += 1
    j = 0
    for step in book_steps:
        p = book_at[j, 0]
        if p >= 0 and rules[from_col, p] > 0:
            step(i, from_col, to_col, w_prev, w_fill, tradable, gross_limit, rules, p, members, group_cap, log,
                 log_count, book_at[j, 2], target, forced, scratch, group_scratch)
        j += 1


@kernel
def record_fill_nb(state, col, is_buy, size, price, fees, position_before, position_now, reset_flat):
    """Cost basis of the shares held after a fill (fees and slippage included); a full exit resets
    the state columns declared ``reset="flat"``."""
    if is_buy:
        state[col, COST] += size * price + fees
    elif position_before > 0:
        state[col, COST] *= position_now / position_before
    if position_now == 0.0:
        _reset_nb(state, col, reset_flat)
