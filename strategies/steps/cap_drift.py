"""The compiled step of strategies.cap_drift (imported when a simulation first runs the caps)."""

from __future__ import annotations

import numpy as np

from engine.sim.cap_kernel import cap_row_nb
from engine.sim.kernel_cache import kernel
from engine.sim.orders import FLOAT_NOISE_WEIGHT
from engine.sim.rule_kernels import record_nb
from strategies.cap_drift import BAND, BY_GROSS, BY_GROUP, BY_NAME, GROSS_CAP, NAME_CAP


@kernel(inline="always")
def _group_sum_nb(weights, members, g):
    """Group g's weights summed in name order, with no array to allocate (the array expression
    ``(weights * members[:, g]).sum()`` gives the same total and was about an eighth of this step's compiled code)."""
    total = 0.0
    for k in range(weights.shape[0]):
        if members[k, g]:
            total += weights[k]
    return total


def drift_trims_step(i, from_col, to_col, w_prev, w_fill, tradable, gross_limit, rules, p, all_members,
                     all_group_cap, log, log_count, c, target, forced, scratch, group_cap):
    """Cut names, groups and the gross that closed (at t-1) above cap + band back to the cap. One pass
    over the names checks every cap (each group's weights summed in name order, as _group_sum_nb does)."""
    n = to_col - from_col
    band = rules[from_col, p + BAND]
    intended_prev, intended, name_cap = scratch[3], scratch[4], scratch[5]
    members = all_members[from_col:to_col]
    triggered = False
    total = 0.0  # intended_prev.sum() as numba sums it, without an array reduction to compile
    group_cap[:] = 0.0  # each group's intended_prev summed, then its cap or inf
    for k in range(n):
        undecided = np.isnan(target[k])
        intended_prev[k] = w_prev[k] if undecided else target[k]
        intended[k] = w_fill[k] if undecided else target[k]
        name_cap[k] = np.inf
        if intended_prev[k] > rules[from_col + k, p + NAME_CAP] + band + FLOAT_NOISE_WEIGHT:
            name_cap[k] = rules[from_col + k, p + NAME_CAP]
            triggered = True
        total += intended_prev[k]
        for g in range(all_group_cap.shape[0]):
            if members[k, g]:
                group_cap[g] += intended_prev[k]
    for g in range(all_group_cap.shape[0]):
        if group_cap[g] > all_group_cap[g] + band + FLOAT_NOISE_WEIGHT:
            group_cap[g] = all_group_cap[g]
            triggered = True
        else:
            group_cap[g] = np.inf
    gross = min(rules[from_col, p + GROSS_CAP], gross_limit)
    gross_eff = np.inf
    if total > gross + band + FLOAT_NOISE_WEIGHT:
        gross_eff = gross
        triggered = True
    if not triggered:
        return
    # water_fill False as a bool (triggered is True here), not a literal False: the pipeline's compile of cap_row_nb
    trimmed = cap_row_nb(intended, name_cap, members, group_cap, gross_eff, not triggered)
    for k in range(n):
        if not (tradable[k] > 0 and trimmed[k] < intended[k] - FLOAT_NOISE_WEIGHT):
            continue
        code, cap, group = BY_GROSS, gross, -1
        if trimmed[k] >= name_cap[k] * (1 - 1e-9):
            code, cap = BY_NAME, name_cap[k]
        else:
            for g in range(group_cap.shape[0]):
                if members[k, g] and _group_sum_nb(trimmed, members, g) >= group_cap[g] * (1 - 1e-9):
                    code, cap, group = BY_GROUP, group_cap[g], g
                    break
        record_nb(log, log_count, i, from_col + k, c + code, intended[k], trimmed[k], cap, group)
        target[k], forced[k] = trimmed[k], True
