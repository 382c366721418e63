"""Drawdown exit: sell a name out once its close falls ``drawdown`` from its peak close since
entry (path-dependent).

The peak is the highest close seen while the name is held (from the close of the session its
entry filled), checked at each session t on the close of t-1; the exit fills at t. A full
exit resets the peak; ``reentry`` governs when buying may start again.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from engine.strict import StrictModel
from engine.sim.rule_kernels import LogCode, State, StatefulRule, columns, exit_by_rule_nb, record_nb
from strategies.reentry import ReentryConfig, reentry_values
from strategies.rule_types import Rule

PARAMS = ("drawdown", "cooldown", "pullback")
DRAWDOWN, COOLDOWN, PULLBACK = columns(PARAMS, 1)
PEAK = 0  # state: the peak close since entry


class DrawdownExitConfig(StrictModel):
    drawdown: float = Field(0.20, gt=0, lt=1, description="fall of the close from its peak since entry that "
                            "exits the name, e.g. 0.20")
    reentry: ReentryConfig | None = Field(None, description="after a drawdown exit, no buying until this holds; "
                                          "null = buy again at once")


def _values(cfg: DrawdownExitConfig, symbols: list[str]) -> dict:
    return {"drawdown": cfg.drawdown, **reentry_values(cfg.reentry)}


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


DRAWDOWN_EXIT = StatefulRule(
    "drawdown_exit", "exit", PARAMS, (State("peak"),),
    (LogCode("drawdown_exit", "close {a:.1%} from the peak close {b:.2f} since entry: exit {move}"),),
    drawdown_exit_step, _values)

RULES = (Rule("drawdown_exit", "path", DrawdownExitConfig, "exit a name that falls from its peak since entry",
              {"drawdown": 0.15, "reentry": {"cooldown": 10, "pullback": 0.05}}, kernel=DRAWDOWN_EXIT),)
