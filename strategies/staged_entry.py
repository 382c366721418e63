"""Staged entry: build a new position in tranches (path-dependent).

A buy from (near) zero goes in tranches of target/N, one every ``every`` sessions (earlier on
a close ``pullback`` below the last tranche's fill); the N-th tranche buys whatever is left to
the target (more than target/N if prices fell). An entry ends when the pipeline no longer asks
for more than is held.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from engine.strict import StrictModel
from engine.sim.rule_layout import LogCode, State, StatefulRule, columns
from strategies.rule_types import Rule

NEAR_ZERO_WEIGHT = 1e-6  # a name below this weight is flat for staged entry
PARAMS = ("tranches", "every", "pullback")
TRANCHES, EVERY, PULLBACK = columns(PARAMS, 1)
TRANCHE, TRANCHE_I, TRANCHE_PX = range(3)  # state: tranches bought, session and fill price of the last


class StagedEntryConfig(StrictModel):
    tranches: int = Field(3, ge=2, description="a buy from zero is split into this many tranches")
    every: int = Field(1, ge=1, description="sessions between tranches")
    pullback: float | None = Field(None, gt=0, lt=1, description="buy the next tranche early on a close this "
                                   "fraction below the previous tranche's fill")


def _values(cfg: StagedEntryConfig, symbols: list[str]) -> dict:
    return {"tranches": cfg.tranches, "every": cfg.every, "pullback": np.nan if cfg.pullback is None else cfg.pullback}


STAGED_ENTRY = StatefulRule(
    "staged_entry", "entry", PARAMS, (State("tranche", "satisfied", "count", "tranches bought of the entry under way"),
                                      State("tranche_i", "never", "session", "fill session of the last tranche"),
                                      State("tranche_px", "never", "price", "fill price of the last tranche")),
    (LogCode("staged_entry", "tranche {a:.0f} of {b:.0f}: {move}"),),
    "strategies.steps.staged_entry:staged_entry_step", _values)

RULES = (Rule("staged_entry", "path", StagedEntryConfig, "build new positions in tranches",
              {"tranches": 3, "every": 2}, kernel=STAGED_ENTRY),)
