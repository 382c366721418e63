"""Cap drift trims (path-dependent part of the caps) and the caps' registration.

Between rebalances prices move weights: a name, a group or the gross whose weight at the close
of t-1 exceeds its cap + ``rules.caps.band`` is cut back to the cap at t (sells only; the cash
waits for the next rebalance). Float noise never triggers a trim: right after a fill a group
sits at its cap to within 1e-16, and with band 0 that noise alone would decide whether a real
trade follows. The stateless caps are strategies.caps.
"""

from __future__ import annotations

from engine.sim.rule_layout import LogCode, StatefulRule, columns
from strategies.caps import CapsConfig
from strategies.rule_types import Rule

PARAMS = ("name_cap", "band", "gross_cap")
NAME_CAP, BAND, GROSS_CAP = columns(PARAMS, 1)
BY_NAME, BY_GROSS, BY_GROUP = range(3)  # log codes


def _values(cfg: CapsConfig, symbols: list[str]) -> dict:
    return {"name_cap": cfg.name_caps(symbols), "band": cfg.band, "gross_cap": cfg.gross_limit()}


DRIFT_TRIMS = StatefulRule(
    "caps_drift", "book", PARAMS, (),
    (LogCode("caps_drift", "drift above name cap {a:.0%} + band: {move}"),
     LogCode("caps_drift", "drift above gross cap {a:.0%} + band: {move}"),
     LogCode("caps_drift", "drift above group {group} {a:.0%} + band: {move}")),
    "strategies.steps.cap_drift:drift_trims_step", _values)

RULES = (Rule("caps", "caps", CapsConfig, "name, group and gross caps, cash floor, drift band",
              {"name": 0.3, "band": 0.02}, kernel=DRIFT_TRIMS),)
