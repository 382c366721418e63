"""The path-dependent rules' compiled steps and the primitives they share (log records, exit marks, resets).

The rules are declared in engine.sim.rule_layout (parameters, state, log codes, where the step
is); engine.sim.session_step composes the steps of the rules a run uses into the session step the
loop calls, and documents what happens to each name's target at a session. Each step is compiled
once, with its phase's signature (SIGNATURES), whatever composition calls it; an exit or entry step
(run per name) without numba's runtime, so it allocates nothing (it may call kernels that do).

Rule-made orders ignore the execution band. State columns declared ``reset="flat"`` reset
when a fill leaves the name flat (``record_fill_nb``); ``reset="satisfied"`` ones when a decision
asks for no more than is held. Every action is written to a preallocated log buffer as (i, col,
code, before, after, a, b) (``record_nb``); KernelLayout.describe words a record from its code's
declaration. The small helpers are inlined where they are called (numba ``inline="always"``).
"""

from __future__ import annotations

from typing import Any

from numba import types

from engine.sim.kernel_cache import kernel
from engine.sim.rule_layout import BLOCK_COOLDOWN, BLOCK_PULLBACK, BLOCKED, COST, EXIT_I, EXIT_PX, StatefulRule

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


_STEPS: dict[int, Any] = {}


def step_kernel(rule: StatefulRule):
    """The rule's step as a kernel, not compiled yet (one per step function and process). A name's step runs
    without numba's reference counting, which would count every array argument up and down per held name and
    session; a book's step (once per book and session) keeps it and may allocate (the cap-drift cut does)."""
    function = rule.step_function()
    if id(function) not in _STEPS:  # a step outside rulebook is stamped by its own file too
        _STEPS[id(function)] = kernel(function, _nrt=rule.phase == "book")
    return _STEPS[id(function)]


def compiled(rule: StatefulRule):
    """The rule's step compiled with its phase's signature, and only that one (numba caches it on disk):
    every composition calling it (engine.sim.session_step) links the same compiled step, and LLVM inlines
    it there (``alwaysinline`` on the module numba links): a call passed ~50 words of arguments per held
    name and session, about a quarter of the simulation's time, and numba's own ``inline="always"`` would
    type the step again in every composition."""
    step = step_kernel(rule)
    if not step.overloads:
        step.compile(SIGNATURES[rule.phase])
        step.disable_compile()
        compiled_step = next(iter(step.overloads.values()))
        linked = compiled_step.library._get_module_for_linking()  # numba's, also when loaded from the cache
        linked.get_function(compiled_step.fndesc.llvm_func_name).add_function_attribute("alwaysinline")
    return step


@kernel(inline="always")
def record_nb(log, log_count, i, col, code, before, after, a, b):
    """Append one record; past the capacity count the records dropped instead."""
    n = log_count[0]
    if n >= log.shape[0]:
        log_count[1] += 1
        return
    row = log[n]
    row[0], row[1], row[2], row[3], row[4], row[5], row[6] = i, col, code, before, after, a, b
    log_count[0] = n + 1


@kernel(inline="always")
def exit_by_rule_nb(state, col, i, price, cooldown, pullback):
    """A rule exited the name at ``price``: buying waits ``cooldown`` sessions (< 0: not at all)
    or a close ``pullback`` below the exit price (NaN: no pullback)."""
    if cooldown >= 0:
        state[col, BLOCKED] = 1.0
        state[col, BLOCK_COOLDOWN] = cooldown
        state[col, BLOCK_PULLBACK] = pullback
    state[col, EXIT_I] = i
    state[col, EXIT_PX] = price


@kernel(inline="always")
def _reset_nb(state, col, mask):
    for j in range(mask.shape[0]):
        if mask[j]:
            state[col, j] = 0.0


@kernel(inline="always")
def record_fill_nb(state, col, is_buy, size, price, fees, position_before, position_now, reset_flat):
    """Cost basis of the shares held after a fill (fees and slippage included); a full exit resets
    the state columns declared ``reset="flat"``."""
    if is_buy:
        state[col, COST] += size * price + fees
    elif position_before > 0:
        state[col, COST] *= position_now / position_before
    if position_now == 0.0:
        _reset_nb(state, col, reset_flat)
