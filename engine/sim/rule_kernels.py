"""Path-dependent rules decided inside the simulation, one session at a time.

At session t (decision information = the close of t-1; weights are of the equity the
loop sizes orders on: the close of t-1 with ``execution.size_at: decision``, the fill
prices of t with ``fill``) each name's target goes through, in order:

1. profit-taking: the trailing stop (a close ``trailing_stop`` below the peak close
   since the last stage) exits the rest; else every stage whose gain (close over the
   average cost, which includes slippage and fees) is reached fires, or one stage on a
   surge; a stage sells its fraction of the shares held when the first stage fired.
   While stages have fired the name is capped at the shares left, so a rebalance
   cannot buy back what was sold.
2. buys a rule holds back wait (``pending``) for the pipeline's standing target: after
   a profit-taking exit until the re-entry condition holds (cooldown sessions since the
   exit fill, or a close ``pullback`` below the exit price), and while the event
   ``no_buy`` mask is set.
3. staged entry: a buy from (near) zero goes in tranches of target/N, one every
   ``every`` sessions (earlier on a pullback below the last tranche's fill); the N-th
   tranche buys whatever is left to the target (more than target/N if prices fell).
4. drift trims: a name, group or the gross whose weight at the close of t-1 exceeds its
   cap + band is cut back to the cap (sells only; the cash waits for the next rebalance).

Rule-made orders ignore the execution band. A full exit (however made) resets a
name's profit-taking state; the cost basis comes from the fills (``record_fill_nb``).
Every action is written to a preallocated log buffer.

engine.sim.loop calls these once per book and session. They compile with
engine.sim.kernel_cache.kernel, whose cache is keyed by a digest of every kernel source file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from engine.sim.kernel_cache import kernel
from engine.sim.orders import FLOAT_NOISE_WEIGHT
from engine.sim.cap_kernel import cap_row_nb

NEAR_ZERO_WEIGHT = 1e-6  # a name below this weight is flat for staged entry

RULES = ("caps_drift", "profit_taking", "trailing_stop", "reentry_block", "staged_entry", "no_buy")
DRIFT, PROFIT, STOP, REENTRY, ENTRY, NO_BUY = range(len(RULES))
# profit_taking record codes: what fired the stage, or a pipeline buy capped at what is left
BY_GAIN, BY_SURGE, BY_SURGE_Z, CAPPED = range(4)
# drift record codes: >= 0 is the capped group's index
NAME_CAP, GROSS_CAP = -1, -2

# per-name state columns
COST, FIRED, BASE, PEAK, EXIT_I, EXIT_PX, BLOCKED, STANDING, PENDING, TRANCHE, TRANCHE_I, TRANCHE_PX = range(12)
N_STATE = 12
LOG_FIELDS = ("i", "col", "rule", "before", "after", "code", "a", "b")


class RuleParams(NamedTuple):
    """Rule parameters per simulated column (columns = variants x names; a variant's
    capped groups are its own entries of ``group_cap``). Off = inf / NaN / 0 as noted."""

    name_cap: np.ndarray  # float, inf = none
    drift_band: np.ndarray  # float
    gross_cap: np.ndarray  # float, read from a group's first column
    group_members: np.ndarray  # bool, columns x capped groups
    group_cap: np.ndarray  # float per capped group
    stage_gain: np.ndarray  # float, columns x max stages, NaN padded
    stage_sell: np.ndarray  # float, columns x max stages
    n_stages: np.ndarray  # int, 0 = no profit-taking
    surge_sessions: np.ndarray  # int, 0 = off
    surge_return: np.ndarray  # float
    surge_z_sessions: np.ndarray  # int, 0 = off
    surge_z: np.ndarray  # float
    surge_z_window: np.ndarray  # int
    trailing_stop: np.ndarray  # float, NaN = off
    reentry_cooldown: np.ndarray  # int, -1 = no re-entry block
    reentry_pullback: np.ndarray  # float, NaN = off
    entry_tranches: np.ndarray  # int, <= 1 = no staged entry
    entry_every: np.ndarray  # int
    entry_pullback: np.ndarray  # float, NaN = off


@dataclass(frozen=True)
class KernelRules:
    """What the simulation needs to run the stateful rules (built by strategies.staging.compile_rules)."""

    params: RuleParams
    group_names: tuple[str, ...]  # name of each capped group, for the log
    gross_limit: pd.Series | None = None  # regime cap per decision session (NaN = none)
    no_buy: pd.DataFrame | None = None  # True where the decision session blocks new buying
    log_capacity: int | None = None  # kernel log records; default sessions x columns


# The kernels read RuleParams packed into one float matrix (columns x fields): numba passes a
# NamedTuple of arrays by value, with a reference-count update per array on every call, which
# cost ~0.3 µs per name and session; one matrix costs one. Integer fields are exact as floats.
SCALAR_FIELDS = ("name_cap", "drift_band", "gross_cap", "n_stages", "surge_sessions", "surge_return",
                 "surge_z_sessions", "surge_z", "surge_z_window", "trailing_stop", "reentry_cooldown",
                 "reentry_pullback", "entry_tranches", "entry_every", "entry_pullback")
(P_NAME_CAP, P_DRIFT_BAND, P_GROSS_CAP, P_N_STAGES, P_SURGE_SESSIONS, P_SURGE_RETURN, P_SURGE_Z_SESSIONS, P_SURGE_Z,
 P_SURGE_Z_WINDOW, P_TRAILING_STOP, P_REENTRY_COOLDOWN, P_REENTRY_PULLBACK, P_ENTRY_TRANCHES, P_ENTRY_EVERY,
 P_ENTRY_PULLBACK) = range(len(SCALAR_FIELDS))
P_STAGES = len(SCALAR_FIELDS)  # then the stages' gains, then their sell fractions (max stages each)


def pack(params: RuleParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(columns x fields float matrix, group members, group caps) as the kernels read them."""
    scalars = [np.asarray(getattr(params, field), dtype=float) for field in SCALAR_FIELDS]
    matrix = np.column_stack([*scalars, params.stage_gain, params.stage_sell])
    return (np.ascontiguousarray(matrix, dtype=float), np.ascontiguousarray(params.group_members, dtype=np.bool_),
            np.array(params.group_cap, dtype=float))


@kernel
def stage_gain_nb(rules, col, stage):
    return rules[col, P_STAGES + stage]


@kernel
def stage_sell_nb(rules, col, stage):
    return rules[col, P_STAGES + (rules.shape[1] - P_STAGES) // 2 + stage]


@kernel
def record_nb(log, log_count, i, col, rule, before, after, code, a, b):
    """Append one record; past the capacity count the records dropped instead."""
    n = log_count[0]
    if n >= log.shape[0]:
        log_count[1] += 1
        return
    row = log[n]
    row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7] = i, col, rule, before, after, code, a, b
    log_count[0] = n + 1


@kernel
def surge_nb(marks, prev, col, sessions, threshold):
    """The return over the last ``sessions`` closes reached ``threshold``."""
    if sessions <= 0 or prev - sessions < 0:
        return False
    return marks[prev, col] / marks[prev - sessions, col] - 1.0 >= threshold


@kernel
def surge_z_nb(marks, prev, col, sessions, z, window):
    """The ``sessions``-close return over (daily volatility of ``window`` returns x sqrt(sessions)) reached z."""
    if sessions <= 0 or prev - max(sessions, window) < 0:
        return False
    daily = marks[prev - window + 1 : prev + 1, col] / marks[prev - window : prev, col] - 1.0
    vol = np.std(daily) * np.sqrt(window / (window - 1.0))
    if not vol > 0:
        return False
    return (marks[prev, col] / marks[prev - sessions, col] - 1.0) / (vol * np.sqrt(sessions)) >= z


@kernel
def _exit_by_rule_nb(state, col, rules, i, price):
    if rules[col, P_REENTRY_COOLDOWN] >= 0:
        state[col, BLOCKED] = 1.0
    state[col, EXIT_I] = i
    state[col, EXIT_PX] = price


@kernel
def _profit_taking_nb(i, col, k, pos, price, w_fill, equity, mark, due, marks, rules, state, log, log_count):
    """Stop or stages for one held name (column ``col``, price column ``k``): (weight cap left by
    fired stages (inf = none), the name's new target where profit-taking acted, else NaN)."""
    fired = int(state[col, FIRED])
    if fired > 0:
        state[col, PEAK] = max(state[col, PEAK], mark)
        stop = rules[col, P_TRAILING_STOP]
        if mark <= state[col, PEAK] * (1.0 - stop):  # NaN stop never triggers
            record_nb(log, log_count, i, col, STOP, w_fill, 0.0, 0, mark / state[col, PEAK] - 1.0, state[col, PEAK])
            _exit_by_rule_nb(state, col, rules, i, price)
            return 0.0, 0.0
    gain = mark * pos / state[col, COST] - 1.0
    n_stages = rules[col, P_N_STAGES]
    count, code = 0, BY_GAIN
    while fired + count < n_stages and gain >= stage_gain_nb(rules, col, fired + count):
        count += 1
    if count == 0 and fired < n_stages:
        if surge_nb(marks, i - 1, k, int(rules[col, P_SURGE_SESSIONS]), rules[col, P_SURGE_RETURN]):
            count, code = 1, BY_SURGE
        elif surge_z_nb(marks, i - 1, k, int(rules[col, P_SURGE_Z_SESSIONS]), rules[col, P_SURGE_Z],
                        int(rules[col, P_SURGE_Z_WINDOW])):
            count, code = 1, BY_SURGE_Z
    if count > 0:
        if fired == 0:
            state[col, BASE] = pos
        fired += count
        state[col, FIRED] = fired
        state[col, PEAK] = mark
    if fired == 0:
        return np.inf, np.nan
    sold = 0.0
    for stage in range(fired):
        sold += stage_sell_nb(rules, col, stage)
    left = max(1.0 - sold, 0.0)
    limit = w_fill * (min(state[col, BASE] * left, pos) / pos) if left > 1e-12 else 0.0  # at the sizing price
    if count > 0:
        record_nb(log, log_count, i, col, PROFIT, w_fill, limit, code, fired, gain)
        if limit == 0.0:
            _exit_by_rule_nb(state, col, rules, i, price)
        return limit, limit if np.isnan(due) else min(due, limit)
    if due > limit + FLOAT_NOISE_WEIGHT and due > w_fill + FLOAT_NOISE_WEIGHT:
        record_nb(log, log_count, i, col, PROFIT, due, limit, CAPPED, fired, left)
        return limit, limit
    return limit, np.nan


@kernel
def _staged_entry_nb(i, col, price, w_fill, mark, wanted, rules, state, log, log_count):
    """The weight to buy to this session (NaN = wait for the next tranche)."""
    tranches = rules[col, P_ENTRY_TRANCHES]
    done = state[col, TRANCHE]
    if done == 0 and w_fill >= NEAR_ZERO_WEIGHT:
        return wanted  # not an entry from zero: an ordinary top-up
    if done > 0:
        due = i - state[col, TRANCHE_I] >= rules[col, P_ENTRY_EVERY] or mark <= state[col, TRANCHE_PX] * (
            1.0 - rules[col, P_ENTRY_PULLBACK])
        if not due:
            state[col, PENDING] = 1.0
            return np.nan
    done += 1
    step = wanted if done >= tranches else min(wanted, w_fill + wanted / tranches)
    record_nb(log, log_count, i, col, ENTRY, w_fill, step, 0, done, tranches)
    if step >= wanted - FLOAT_NOISE_WEIGHT:
        state[col, TRANCHE] = 0.0
    else:
        state[col, TRANCHE], state[col, TRANCHE_I], state[col, TRANCHE_PX] = done, i, price
        state[col, PENDING] = 1.0
    return step


@kernel
def session_targets_nb(i, from_col, to_col, position, val_price, fill_price, marks, cash, equity, due, due_from,
                       no_buy, gross_limit, rules, members, group_cap, state, log, log_count, target, forced, scratch,
                       group_scratch):
    """Targets (weights of the equity orders are sized on, NaN = no order) for one book's names at session i >= 1.

    Name k of the book is column ``from_col + k`` of the per-column inputs (``rules``, ``state``,
    ``no_buy``, the log), column k of the prices every book shares (``fill_price``, ``marks``) and
    of the book's own ``position`` and ``val_price``, and column ``due_from + k`` of ``due`` (books
    with the same decisions share them). ``scratch`` (N_SCRATCH x names) and ``group_scratch`` (one
    per capped group) are buffers the caller allocates once per book: this runs every session, and
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
                state[col, TRANCHE] = 0.0  # the pipeline no longer asks for more: any entry is over
        if not np.isfinite(price):
            target[k] = np.nan
            continue
        tradable[k] = 1.0
        limit = np.inf
        if pos > 0 and rules[col, P_N_STAGES] > 0:
            limit, acted = _profit_taking_nb(i, col, k, pos, price, w_fill[k], equity, mark, wanted, marks, rules,
                                             state, log, log_count)
            if not np.isnan(acted):
                target[k], forced[k] = acted, True
                if acted == 0.0:
                    continue
        if np.isnan(target[k]) and state[col, PENDING] > 0:
            target[k] = min(state[col, STANDING], limit)
        state[col, PENDING] = 0.0
        if not target[k] > w_fill[k] + FLOAT_NOISE_WEIGHT:
            continue
        if state[col, BLOCKED] > 0:
            since = i - state[col, EXIT_I]
            pullback = rules[col, P_REENTRY_PULLBACK]
            if since >= rules[col, P_REENTRY_COOLDOWN] or mark <= state[col, EXIT_PX] * (1.0 - pullback):
                state[col, BLOCKED] = 0.0
            else:
                if not np.isnan(wanted):
                    record_nb(log, log_count, i, col, REENTRY, w_fill[k], w_fill[k], 0, since,
                              rules[col, P_REENTRY_COOLDOWN])
                target[k], state[col, PENDING] = np.nan, 1.0
                continue
        if no_buy[i, col]:
            if not np.isnan(wanted):
                record_nb(log, log_count, i, col, NO_BUY, w_fill[k], w_fill[k], 0, 0.0, 0.0)
            target[k], state[col, PENDING] = np.nan, 1.0
            continue
        if rules[col, P_ENTRY_TRANCHES] > 1:
            step = _staged_entry_nb(i, col, price, w_fill[k], mark, target[k], rules, state, log, log_count)
            if step != target[k]:
                target[k], forced[k] = step, True
    _drift_trims_nb(i, from_col, to_col, w_prev, w_fill, tradable, gross_limit, rules, members, group_cap, log,
                    log_count, target, forced, scratch, group_scratch)


N_SCRATCH = 6  # rows of session_targets_nb's scratch buffer


@kernel
def _drift_trims_nb(i, from_col, to_col, w_prev, w_fill, tradable, gross_limit, rules, all_members, all_group_cap,
                    log, log_count, target, forced, scratch, group_cap):
    """Cut names, groups and the gross that closed (at t-1) above cap + band back to the cap.

    Float noise never triggers a trim: right after a fill a group sits at its cap to within
    1e-16, and with band 0 that noise alone would decide whether a real trade follows."""
    n = to_col - from_col
    band = rules[from_col, P_DRIFT_BAND]
    intended_prev, intended, name_cap = scratch[3], scratch[4], scratch[5]
    members = all_members[from_col:to_col]
    triggered = False
    for k in range(n):
        undecided = np.isnan(target[k])
        intended_prev[k] = w_prev[k] if undecided else target[k]
        intended[k] = w_fill[k] if undecided else target[k]
        name_cap[k] = np.inf
        if intended_prev[k] > rules[from_col + k, P_NAME_CAP] + band + FLOAT_NOISE_WEIGHT:
            name_cap[k] = rules[from_col + k, P_NAME_CAP]
            triggered = True
    for g in range(all_group_cap.shape[0]):
        group_cap[g] = np.inf
        if _group_over_nb(intended_prev, members, g, all_group_cap[g] + band):
            group_cap[g] = all_group_cap[g]
            triggered = True
    gross = min(rules[from_col, P_GROSS_CAP], gross_limit)
    gross_eff = np.inf
    if intended_prev.sum() > gross + band + FLOAT_NOISE_WEIGHT:
        gross_eff = gross
        triggered = True
    if not triggered:
        return
    trimmed = cap_row_nb(intended, name_cap, members, group_cap, gross_eff, False)
    for k in range(n):
        if not (tradable[k] > 0 and trimmed[k] < intended[k] - FLOAT_NOISE_WEIGHT):
            continue
        code, cap = GROSS_CAP, gross
        if trimmed[k] >= name_cap[k] * (1 - 1e-9):
            code, cap = NAME_CAP, name_cap[k]
        else:
            for g in range(group_cap.shape[0]):
                if members[k, g] and (trimmed * members[:, g]).sum() >= group_cap[g] * (1 - 1e-9):
                    code, cap = g, group_cap[g]
                    break
        record_nb(log, log_count, i, from_col + k, DRIFT, intended[k], trimmed[k], code, cap, 0.0)
        target[k], forced[k] = trimmed[k], True


@kernel
def _group_over_nb(weights, members, g, limit):
    """Group g's weights sum past ``limit`` (by more than float noise)."""
    total = 0.0
    for k in range(weights.shape[0]):
        if members[k, g]:
            total += weights[k]
    return total > limit + FLOAT_NOISE_WEIGHT


@kernel
def record_fill_nb(state, col, is_buy, size, price, fees, position_before, position_now):
    """Cost basis of the shares held after a fill (fees and slippage included); a full exit resets profit-taking."""
    if is_buy:
        state[col, COST] += size * price + fees
    elif position_before > 0:
        state[col, COST] *= position_now / position_before
    if position_now == 0.0:
        state[col, COST] = state[col, FIRED] = state[col, BASE] = state[col, PEAK] = 0.0


def describe(record: np.ndarray, group_names: tuple[str, ...]) -> str:
    """The reason a kernel log record shows a reader."""
    _, _, rule, before, after, code, a, b = record
    rule, code = int(rule), int(code)
    move = f"{before:.1%} → {after:.1%}"
    if rule == DRIFT:
        capped = {NAME_CAP: "name cap", GROSS_CAP: "gross cap"}.get(code) or f"group {group_names[code]}"
        return f"drift above {capped} {a:.0%} + band: {move}"
    if rule == PROFIT:
        if code == CAPPED:
            return f"target capped at the {b:.1%} of the position left after {a:.0f} stage(s): {move}"
        why = {BY_GAIN: "gain", BY_SURGE: "surge, gain", BY_SURGE_Z: "volatility-scaled surge, gain"}[code]
        return f"stage {a:.0f} ({why} {b:+.1%} over average cost): {move}"
    if rule == STOP:
        return f"close {a:.1%} from the peak close {b:.2f} since the last stage: exit {move}"
    if rule == REENTRY:
        return f"re-entry blocked: {a:.0f} of {b:.0f} cooldown sessions since the exit, no pullback yet"
    if rule == ENTRY:
        return f"tranche {a:.0f} of {b:.0f}: {move}"
    return "event rule blocks new buying"
