"""The compiled step of rules.time_stop: numba compiles it with the exit phase's signature."""

from __future__ import annotations

import numpy as np

from engine.sim.rule_kernels import exit_by_rule_nb, record_nb
from rulebook_example_plugin.time_stop import COOLDOWN, ENTERED, SESSIONS


def time_stop_step(i, col, k, pos, price, w_fill, equity, due, target, marks, rules, p, state, s, log,
                   log_count, c):
    """(weight cap, forced target): (0, 0) once the name has been held long enough, else (inf, NaN)."""
    if state[col, s + ENTERED] == 0.0:
        state[col, s + ENTERED] = i  # first session seen held: the entry filled at i - 1
    held_for = i - (state[col, s + ENTERED] - 1.0)
    if held_for < rules[col, p + SESSIONS]:
        return np.inf, np.nan
    record_nb(log, log_count, i, col, c, w_fill, 0.0, held_for, rules[col, p + SESSIONS])
    exit_by_rule_nb(state, col, i, price, rules[col, p + COOLDOWN], np.nan)
    return 0.0, 0.0
