"""Cap drift trims (path-dependent part of the caps) and the caps' registration.

Between rebalances prices move weights: a name, a group or the gross whose weight at the close
of t-1 exceeds its cap + ``rules.caps.band`` is cut back to the cap at t (sells only; the cash
waits for the next rebalance). Float noise never triggers a trim: right after a fill a group
sits at its cap to within 1e-16, and with band 0 that noise alone would decide whether a real
trade follows. The stateless caps are strategies.caps.
"""

from __future__ import annotations

import numpy as np

from engine.sim.kernel_cache import kernel
from engine.sim.orders import FLOAT_NOISE_WEIGHT
from engine.sim.rule_kernels import LogCode, StatefulRule, columns, record_nb
from engine.sim.cap_kernel import cap_row_nb
from strategies.caps import CapsConfig
from strategies.rule_types import Rule

PARAMS = ("name_cap", "band", "gross_cap")
NAME_CAP, BAND, GROSS_CAP = columns(PARAMS, 1)
BY_NAME, BY_GROSS, BY_GROUP = range(3)  # log codes


def _values(cfg: CapsConfig, symbols: list[str]) -> dict:
    return {"name_cap": cfg.name_caps(symbols), "band": cfg.band, "gross_cap": cfg.gross_limit()}


@kernel
def _group_over_nb(weights, members, g, limit):
    """Group g's weights sum past ``limit`` (by more than float noise)."""
    total = 0.0
    for k in range(weights.shape[0]):
        if members[k, g]:
            total += weights[k]
    return total > limit + FLOAT_NOISE_WEIGHT


def drift_trims_step(i, from_col, to_col, w_prev, w_fill, tradable, gross_limit, rules, p, all_members,
                     all_group_cap, log, log_count, c, target, forced, scratch, group_cap):
    """Cut names, groups and the gross that closed (at t-1) above cap + band back to the cap."""
    n = to_col - from_col
    band = rules[from_col, p + BAND]
    intended_prev, intended, name_cap = scratch[3], scratch[4], scratch[5]
    members = all_members[from_col:to_col]
    triggered = False
    for k in range(n):
        undecided = np.isnan(target[k])
        intended_prev[k] = w_prev[k] if undecided else target[k]
        intended[k] = w_fill[k] if undecided else target[k]
        name_cap[k] = np.inf
        if intended_prev[k] > rules[from_col + k, p + NAME_CAP] + band + FLOAT_NOISE_WEIGHT:
            name_cap[k] = rules[from_col + k, p + NAME_CAP]
            triggered = True
    for g in range(all_group_cap.shape[0]):
        group_cap[g] = np.inf
        if _group_over_nb(intended_prev, members, g, all_group_cap[g] + band):
            group_cap[g] = all_group_cap[g]
            triggered = True
    gross = min(rules[from_col, p + GROSS_CAP], gross_limit)
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
        code, cap, group = BY_GROSS, gross, -1
        if trimmed[k] >= name_cap[k] * (1 - 1e-9):
            code, cap = BY_NAME, name_cap[k]
        else:
            for g in range(group_cap.shape[0]):
                if members[k, g] and (trimmed * members[:, g]).sum() >= group_cap[g] * (1 - 1e-9):
                    code, cap, group = BY_GROUP, group_cap[g], g
                    break
        record_nb(log, log_count, i, from_col + k, c + code, intended[k], trimmed[k], cap, group)
        target[k], forced[k] = trimmed[k], True


DRIFT_TRIMS = StatefulRule(
    "caps_drift", "book", PARAMS, (),
    (LogCode("caps_drift", "drift above name cap {a:.0%} + band: {move}"),
     LogCode("caps_drift", "drift above gross cap {a:.0%} + band: {move}"),
     LogCode("caps_drift", "drift above group {group} {a:.0%} + band: {move}")),
    drift_trims_step, _values)

RULES = (Rule("caps", "caps", CapsConfig, "name, group and gross caps, cash floor, drift band",
              {"name": 0.3, "band": 0.02}, kernel=DRIFT_TRIMS),)
