"""Drawdown exit: sell a name out once its close falls ``drawdown`` from its peak close since
entry (path-dependent).

The peak is the highest close seen while the name is held (from the close of the session its
entry filled), checked at each session t on the close of t-1; the exit fills at t. A full
exit resets the peak; ``reentry`` governs when buying may start again.
"""

from __future__ import annotations

from pydantic import Field

from engine.strict import StrictModel
from engine.sim.rule_layout import LogCode, State, StatefulRule, columns
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


DRAWDOWN_EXIT = StatefulRule(
    "drawdown_exit", "exit", PARAMS, (State("peak", unit="price", meaning="peak close since entry"),),
    (LogCode("drawdown_exit", "close {a:.1%} from the peak close {b:.2f} since entry: exit {move}"),),
    "strategies.steps.drawdown_exit:drawdown_exit_step", _values)

RULES = (Rule("drawdown_exit", "path", DrawdownExitConfig, "exit a name that falls from its peak since entry",
              {"drawdown": 0.15, "reentry": {"cooldown": 10, "pullback": 0.05}}, kernel=DRAWDOWN_EXIT),)
