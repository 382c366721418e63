"""The compiled step of strategies.profit_taking (imported when a simulation first runs the rule)."""

from __future__ import annotations

import numpy as np

from engine.sim.kernel_cache import kernel
from engine.sim.orders import FLOAT_NOISE_WEIGHT
from engine.sim.rule_kernels import exit_by_rule_nb, record_nb
from engine.sim.rule_layout import COST
from strategies.profit_taking import (BASE, BY_GAIN, BY_SURGE, BY_SURGE_Z, CAPPED, COOLDOWN, FIRED, N_STAGES, PEAK,
                                      PULLBACK, STAGE_GAIN, STAGE_SELL, STOP, SURGE_RETURN, SURGE_SESSIONS, SURGE_Z,
                                      SURGE_Z_SESSIONS, SURGE_Z_WINDOW, TRAILING_STOP)


@kernel(inline="always")
def surge_nb(marks, prev, col, sessions, threshold):
    """The return over the last ``sessions`` closes reached ``threshold``."""
    if sessions <= 0 or prev - sessions < 0:
        return False
    return marks[prev, col] / marks[prev - sessions, col] - 1.0 >= threshold


@kernel
def surge_z_nb(marks, prev, col, sessions, z, window):
    """The ``sessions``-close return over (daily volatility of ``window`` returns x sqrt(sessions)) reached z.
    The volatility is np.std's sums in np.std's order (numba's), as loops: no array per name and session."""
    if sessions <= 0 or prev - max(sessions, window) < 0:
        return False
    total = 0.0
    for day in range(prev - window + 1, prev + 1):
        total += marks[day, col] / marks[day - 1, col] - 1.0
    mean, squares = total / window, 0.0
    for day in range(prev - window + 1, prev + 1):
        move = marks[day, col] / marks[day - 1, col] - 1.0 - mean
        squares += move * move
    vol = (squares / window) ** 0.5 * np.sqrt(window / (window - 1.0))
    if not vol > 0:
        return False
    return (marks[prev, col] / marks[prev - sessions, col] - 1.0) / (vol * np.sqrt(sessions)) >= z


def profit_taking_step(i, col, k, pos, price, w_fill, equity, due, target, marks, rules, p, state, s, log,
                       log_count, c):
    """Stop or stages for one held name: (weight cap left by fired stages (inf = none), the name's
    new target where profit-taking acted, else NaN)."""
    mark = marks[i - 1, k]
    fired = int(state[col, s + FIRED])
    if fired > 0:
        state[col, s + PEAK] = max(state[col, s + PEAK], mark)
        peak = state[col, s + PEAK]
        if mark <= peak * (1.0 - rules[col, p + TRAILING_STOP]):  # NaN stop never triggers
            record_nb(log, log_count, i, col, c + STOP, w_fill, 0.0, mark / peak - 1.0, peak)
            exit_by_rule_nb(state, col, i, price, rules[col, p + COOLDOWN], rules[col, p + PULLBACK])
            return 0.0, 0.0
    gain = mark * pos / state[col, COST] - 1.0
    n_stages = rules[col, p + N_STAGES]
    count, code = 0, BY_GAIN
    while fired + count < n_stages and gain >= rules[col, p + STAGE_GAIN + fired + count]:
        count += 1
    if count == 0 and fired < n_stages:
        if surge_nb(marks, i - 1, k, int(rules[col, p + SURGE_SESSIONS]), rules[col, p + SURGE_RETURN]):
            count, code = 1, BY_SURGE
        elif rules[col, p + SURGE_Z_SESSIONS] > 0 and surge_z_nb(  # off: no call per held name and session
                marks, i - 1, k, int(rules[col, p + SURGE_Z_SESSIONS]), rules[col, p + SURGE_Z],
                int(rules[col, p + SURGE_Z_WINDOW])):
            count, code = 1, BY_SURGE_Z
    if count > 0:
        if fired == 0:
            state[col, s + BASE] = pos
        fired += count
        state[col, s + FIRED] = fired
        state[col, s + PEAK] = mark
    if fired == 0:
        return np.inf, np.nan
    sold = 0.0
    for stage in range(fired):
        sold += rules[col, p + STAGE_SELL + stage]
    left = max(1.0 - sold, 0.0)
    limit = w_fill * (min(state[col, s + BASE] * left, pos) / pos) if left > 1e-12 else 0.0  # at the sizing price
    if count > 0:
        record_nb(log, log_count, i, col, c + code, w_fill, limit, fired, gain)
        if limit == 0.0:
            exit_by_rule_nb(state, col, i, price, rules[col, p + COOLDOWN], rules[col, p + PULLBACK])
        return limit, limit if np.isnan(due) else min(due, limit)
    if due > limit + FLOAT_NOISE_WEIGHT and due > w_fill + FLOAT_NOISE_WEIGHT:
        record_nb(log, log_count, i, col, c + CAPPED, due, limit, fired, left)
        return limit, limit
    return limit, np.nan
