"""rules.time_stop: sell a name out after it has been held ``sessions`` sessions (path-dependent).

The holding counts from the session its entry filled; at session t (on what is known at the
close of t-1) a name held for ``sessions`` sessions or more is sold at t's fill. Buying may
start again after ``cooldown`` sessions. The declaration below is all rulebook needs: its
parameters, one state column (reset when the name is flat), one log code and where the step is
(time_stop_step.py, compiled with numba only when a simulation runs the rule, so reading a
config never imports numba).
"""

from __future__ import annotations

from pydantic import Field

from engine.strict import StrictModel
from engine.sim.rule_layout import LogCode, State, StatefulRule, columns
from strategies.rule_types import Rule

PARAMS = ("sessions", "cooldown")
SESSIONS, COOLDOWN = columns(PARAMS, 1)  # parameter columns (0 is the rule's on/off flag)
ENTERED = 0  # state column: 1 + the session the entry filled (0 = not held)


class TimeStopConfig(StrictModel):
    sessions: int = Field(ge=1, description="sessions a name may be held before it is sold")
    cooldown: int = Field(0, ge=0, description="sessions after the exit before it may be bought again")


TIME_STOP = StatefulRule(
    "time_stop", "exit", PARAMS, (State("entered", reset="flat", unit="session",
                                          meaning="first session seen held (the entry filled the one before)"),),
    (LogCode("time_stop", "held {a:.0f} sessions ≥ {b:.0f}: exit {move}"),),
    "rulebook_example_plugin.time_stop_step:time_stop_step",
    lambda cfg, symbols: {"sessions": cfg.sessions, "cooldown": cfg.cooldown})

RULE = Rule("time_stop", "path", TimeStopConfig, "sell a name after a holding period (example plugin)",
            {"sessions": 60, "cooldown": 5}, kernel=TIME_STOP)
