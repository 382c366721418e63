"""The per-session step of the compiled loop that runs the path-dependent rules.

The rules are declared in engine.sim.rule_layout (parameters, state, log codes, where the step
is); this module compiles their steps and runs them inside the simulation.

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
after, a, b); KernelLayout.describe words a record from its code's declaration.

Steps are compiled on first use with their phase's signature (engine.sim.kernel_cache.kernel)
and passed to the loop as first-class functions, so the loop compiles (and caches) once per
number of rules per phase, whatever the rules are.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from numba import types
from numba.core.errors import NumbaExperimentalFeatureWarning

from engine.sim.kernel_cache import kernel
from engine.sim.orders import FLOAT_NOISE_WEIGHT
from engine.sim.rule_layout import (BLOCK_COOLDOWN, BLOCK_PULLBACK, BLOCKED, COST, EXIT_I, EXIT_PX, NO_BUY, PENDING,
                                    REENTRY_BLOCK, STANDING, KernelLayout, StatefulRule)

# first-class functions are how the loop calls the rules' steps; numba flags the feature on every call
warnings.filterwarnings("ignore", category=NumbaExperimentalFeatureWarning)

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
    function = rule.step_function()
    if id(function) not in _COMPILED:
        step = kernel(function)  # cached like every kernel (a step outside rulebook: stamped by its own file too)
        step.compile(SIGNATURES[rule.phase])
        step.disable_compile()  # one signature: the loop passes it as a first-class function
        _COMPILED[id(function)] = step
    return _COMPILED[id(function)]


def phase_steps(layout: KernelLayout, phase: str) -> tuple[tuple, np.ndarray]:
    """(compiled steps, their (parameter, state, code) offsets) for one phase of ``layout``. numba
    cannot type a loop over an empty tuple, so a phase no rule uses gets one placeholder step at
    parameter -1, which the loop never calls."""
    chosen = [r for r in layout.rules if r.phase == phase]
    if not chosen:
        return (_placeholder(phase),), np.array([[-1, 0, 0]], dtype=np.int64)
    at = np.array([[layout.param_at[r.name], layout.state_at[r.name], layout.code_at[r.name]] for r in chosen],
                  dtype=np.int64)
    return tuple(compiled(r) for r in chosen), at


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
