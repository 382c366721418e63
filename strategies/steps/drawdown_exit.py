"""The compiled step of strategies.drawdown_exit (imported when a simulation first runs the rule)."""

from __future__ import annotations

import numpy as np

from engine.sim.rule_kernels import exit_by_rule_nb, record_nb
from strategies.drawdown_exit import COOLDOWN, DRAWDOWN, PEAK, PULLBACK


def drawdown_exit_step(i, col, k, pos, price, w_fill, equity, due, target, marks, rules, p, state, s, log,
                       log_count, c):
    """(inf, 0 on an exit, else NaN)."""
    mark = marks[i - 1, k]
    peak = max(state[col, s + PEAK], mark)
    state[col, s + PEAK] = peak
    if not mark <= peak * (1.0 - rules[col, p + DRAWDOWN]):
        return np.inf, np.nan
    record_nb(log, log_count, i, col, c, w_fill, 0.0, mark / peak - 1.0, peak)
    exit_by_rule_nb(state, col, i, price, rules[col, p + COOLDOWN], rules[col, p + PULLBACK])
    return 0.0, 0.0
