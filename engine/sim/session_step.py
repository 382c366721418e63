"""The per-session step of the compiled loop, composed from the steps of the rules a run uses.

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

The rules' steps are wired into one compiled function: each phase is a chain of closures, one per rule that some book switches on, each calling
its rule's step directly with the rule's offsets (parameter, state and log-code columns) as
constants. numba links the steps in and LLVM inlines them (engine.sim.rule_kernels.compiled marks
them ``alwaysinline``), where a first-class function pointer would be an opaque call per name and
session; a run compiles only the steps its config uses.

A composition is keyed by its rules, their offsets and the bytes of their steps' files
(``SessionStep.key``): built once per process, and cached on disk under that key
(engine.sim.kernel_cache.kernel), so a second run of any config with the same rules loads it.
"""

from __future__ import annotations

import hashlib
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.sim.kernel_cache import frozen_constants, kernel
from engine.sim.orders import FLOAT_NOISE_WEIGHT
from engine.sim.rule_kernels import _reset_nb, compiled, record_nb, step_kernel
from engine.sim.rule_layout import (BLOCK_COOLDOWN, BLOCK_PULLBACK, BLOCKED, EXIT_I, EXIT_PX, NO_BUY, PENDING,
                                    REENTRY_BLOCK, STANDING, KernelLayout)


@dataclass(frozen=True)
class SessionStep:
    """A compiled session step (``targets``) and the key of its composition (what the loop is cached under)."""

    key: str
    targets: Any


_STEPS: dict[str, SessionStep] = {}


def session_step(layout: KernelLayout, params: np.ndarray) -> SessionStep:
    """The session step for the rules of ``layout`` that ``params`` (columns x layout.n_params) switches
    on for some column, in layout order."""
    used = [r for r in layout.rules if (params[:, layout.param_at[r.name]] > 0).any()]
    placed = [(r, layout.param_at[r.name], layout.state_at[r.name], layout.code_at[r.name]) for r in used]
    key = _key(placed)
    if key not in _STEPS:
        phases = {phase: [p for p in placed if p[0].phase == phase] for phase in ("exit", "entry", "book")}
        exit_rules = _chain(phases["exit"], _exit_link, _no_exit_nb)
        entry_rules = _chain(phases["entry"], _entry_link, _no_entry_nb)
        book_rules = _chain(phases["book"], _book_link, _no_book_nb)
        # each step gets its one signature before the session first compiles (not when a run loads it)
        targets = kernel(_session(exit_rules, entry_rules, book_rules), key=key, _nrt=False,
                         before_compile=lambda: [compiled(rule) for rule in used])
        _STEPS[key] = SessionStep(key, targets)
    return _STEPS[key]


_KEYS: dict[tuple, str] = {}


def _key(placed: list) -> str:
    """_digest(placed), once per process for each placement (it reads and hashes the steps' files)."""
    placement = tuple((rule.name, rule.phase, rule.step, p, s, c) for rule, p, s, c in placed)
    if placement not in _KEYS:
        _KEYS[placement] = _digest(placed)
    return _KEYS[placement]


def _digest(placed: list) -> str:
    """sha256 over each rule's phase, name, offsets, step, the bytes of the step's file and the constants
    the step reads from other modules (kernel_cache.frozen_constants)."""
    digest = hashlib.sha256(b"session")
    for rule, p, s, c in placed:
        step = rule.step_function()
        source = Path(inspect.getsourcefile(step)).read_bytes()
        digest.update(f"\0{rule.phase}\0{rule.name}\0{p},{s},{c}\0{step.__module__}.{step.__qualname__}\0".encode())
        digest.update(hashlib.sha256(source).digest())
        digest.update(frozen_constants(step).encode())
    return digest.hexdigest()[:24]


def _chain(placed: list, link, last):
    """The phase's rules as nested closures, the first rule outermost; ``last`` ends the chain."""
    rest = last
    for depth in range(len(placed) - 1, -1, -1):
        rule, p, s, c = placed[depth]
        rest = kernel(link(step_kernel(rule), p, s, c, rest), key=_key(placed[depth:]), inline="always")
    return rest


def _exit_link(step, p, s, c, rest):
    def exit_rules(i, col, k, pos, price, w_fill, equity, wanted, target, marks, rules, state, log, log_count,
                   limit, acted):
        """Run this exit rule (when on and no earlier rule exited the name), then the rest of the phase."""
        if rules[col, p] > 0 and acted != 0.0:
            cap, forces = step(i, col, k, pos, price, w_fill, equity, wanted, target, marks, rules, p, state, s,
                               log, log_count, c)
            limit = min(limit, cap)
            if not np.isnan(forces):
                acted = forces if np.isnan(acted) else min(acted, forces)
        return rest(i, col, k, pos, price, w_fill, equity, wanted, target, marks, rules, state, log, log_count,
                    limit, acted)

    return exit_rules


@kernel(inline="always")
def _no_exit_nb(i, col, k, pos, price, w_fill, equity, wanted, target, marks, rules, state, log, log_count,
                limit, acted):
    return limit, acted


def _entry_link(step, p, s, c, rest):
    def entry_rules(i, col, k, pos, price, w_fill, equity, wanted, target, forced, marks, rules, state, log,
                    log_count):
        """Shape the buy with this entry rule (when on), then with the rest of the phase."""
        if rules[col, p] > 0 and not np.isnan(target):
            _, buy_to = step(i, col, k, pos, price, w_fill, equity, wanted, target, marks, rules, p, state, s, log,
                             log_count, c)
            if buy_to != target:
                target, forced = buy_to, True
        return rest(i, col, k, pos, price, w_fill, equity, wanted, target, forced, marks, rules, state, log,
                    log_count)

    return entry_rules


@kernel(inline="always")
def _no_entry_nb(i, col, k, pos, price, w_fill, equity, wanted, target, forced, marks, rules, state, log,
                 log_count):
    return target, forced


def _book_link(step, p, s, c, rest):
    def book_rules(i, from_col, to_col, w_prev, w_fill, tradable, gross_limit, rules, members, group_cap, log,
                   log_count, target, forced, scratch, group_scratch):
        """Run this book rule (when on), then the rest of the phase."""
        if rules[from_col, p] > 0:
            step(i, from_col, to_col, w_prev, w_fill, tradable, gross_limit, rules, p, members, group_cap, log,
                 log_count, c, target, forced, scratch, group_scratch)
        rest(i, from_col, to_col, w_prev, w_fill, tradable, gross_limit, rules, members, group_cap, log, log_count,
             target, forced, scratch, group_scratch)

    return book_rules


@kernel(inline="always")
def _no_book_nb(i, from_col, to_col, w_prev, w_fill, tradable, gross_limit, rules, members, group_cap, log,
                log_count, target, forced, scratch, group_scratch):
    return None


def _session(exit_rules, entry_rules, book_rules):
    def session_targets_nb(i, from_col, to_col, position, val_price, fill_price, marks, cash, equity, due, due_from,
                           no_buy, gross_limit, rules, members, group_cap, state, reset_satisfied, log, log_count,
                           target, forced, scratch, group_scratch):
        """Targets (weights of the equity orders are sized on, NaN = no order) for one book's names at session
        i >= 1.

        Name k of the book is column ``from_col + k`` of the per-column inputs (``rules``, ``state``,
        ``no_buy``, the log), column k of the prices every book shares (``fill_price``, ``marks``) and
        of the book's own ``position`` and ``val_price``, and column ``due_from + k`` of ``due`` (books
        with the same decisions share them). ``scratch`` (N_SCRATCH x names) and ``group_scratch`` (one
        per capped group) are buffers the caller allocates once: this runs every session, and
        allocating here would dominate its cost."""
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
                limit, acted = exit_rules(i, col, k, pos, price, w_fill[k], equity, wanted, target[k], marks, rules,
                                          state, log, log_count, limit, acted)
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
            target[k], forced[k] = entry_rules(i, col, k, pos, price, w_fill[k], equity, wanted, target[k], forced[k],
                                               marks, rules, state, log, log_count)
        book_rules(i, from_col, to_col, w_prev, w_fill, tradable, gross_limit, rules, members, group_cap, log,
                   log_count, target, forced, scratch, group_scratch)

    return session_targets_nb
