"""The compiled step of strategies.staged_entry (imported when a simulation first runs the rule)."""

from __future__ import annotations

import numpy as np

from engine.sim.orders import FLOAT_NOISE_WEIGHT
from engine.sim.rule_kernels import record_nb
from engine.sim.rule_layout import PENDING
from strategies.staged_entry import EVERY, NEAR_ZERO_WEIGHT, PULLBACK, TRANCHE, TRANCHE_I, TRANCHE_PX, TRANCHES


def staged_entry_step(i, col, k, pos, price, w_fill, equity, due, target, marks, rules, p, state, s, log,
                      log_count, c):
    """(unused, the weight to buy to this session; NaN = wait for the next tranche)."""
    mark = marks[i - 1, k]
    tranches = rules[col, p + TRANCHES]
    done = state[col, s + TRANCHE]
    if done == 0 and w_fill >= NEAR_ZERO_WEIGHT:
        return np.inf, target  # not an entry from zero: an ordinary top-up
    if done > 0:
        next_due = i - state[col, s + TRANCHE_I] >= rules[col, p + EVERY] or mark <= state[col, s + TRANCHE_PX] * (
            1.0 - rules[col, p + PULLBACK])
        if not next_due:
            state[col, PENDING] = 1.0
            return np.inf, np.nan
    done += 1
    step = target if done >= tranches else min(target, w_fill + target / tranches)
    record_nb(log, log_count, i, col, c, w_fill, step, done, tranches)
    if step >= target - FLOAT_NOISE_WEIGHT:
        state[col, s + TRANCHE] = 0.0
    else:
        state[col, s + TRANCHE], state[col, s + TRANCHE_I], state[col, s + TRANCHE_PX] = done, i, price
        state[col, PENDING] = 1.0
    return np.inf, step
