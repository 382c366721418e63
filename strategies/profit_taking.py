"""Profit-taking in stages, a trailing stop on the rest, re-entry after the exit (path-dependent).

On a held name, at session t (on the close of t-1): the trailing stop (a close ``trailing_stop``
below the peak close since the last stage) exits the rest; else every stage whose gain (close
over the average cost, which includes slippage and fees, on the simulated total-return prices)
is reached fires, or one stage on a surge; a stage sells its fraction of the shares held when
the first stage fired. While stages have fired the name is capped at the shares left, so a
rebalance cannot buy back what was sold. A full exit resets the stages; after an exit by the
last stage or the stop, ``reentry`` governs when buying may start again.
"""

from __future__ import annotations

import numpy as np
from pydantic import ConfigDict, Field, model_validator

from engine.strict import StrictModel
from engine.sim.rule_layout import LogCode, State, StatefulRule, columns
from strategies.reentry import ReentryConfig, reentry_values
from strategies.rule_types import Rule

MAX_STAGES = 8
PARAMS = ("n_stages", "surge_sessions", "surge_return", "surge_z_sessions", "surge_z", "surge_z_window",
          "trailing_stop", "cooldown", "pullback")
(N_STAGES, SURGE_SESSIONS, SURGE_RETURN, SURGE_Z_SESSIONS, SURGE_Z, SURGE_Z_WINDOW, TRAILING_STOP, COOLDOWN,
 PULLBACK) = columns(PARAMS, 1)
STAGE_GAIN = 1 + len(PARAMS)
STAGE_SELL = STAGE_GAIN + MAX_STAGES
FIRED, BASE, PEAK = range(3)  # state: stages fired, shares held when the first fired, peak close since the last
BY_GAIN, BY_SURGE, BY_SURGE_Z, CAPPED, STOP = range(5)  # log codes


class StageConfig(StrictModel):
    gain: float = Field(gt=0, description="gain of the last close over the average cost that fires the stage")
    sell: float = Field(gt=0, le=1, description="fraction of the position held when the first stage fired")


class SurgeConfig(StrictModel):
    model_config = StrictModel.model_config | ConfigDict(populate_by_name=True)

    sessions: int = Field(ge=1, description="return measured over this many sessions")
    return_: float = Field(alias="return", gt=0, description="return that fires the next stage")


class SurgeZConfig(StrictModel):
    sessions: int = Field(ge=1, description="return measured over this many sessions")
    z: float = Field(gt=0, description="return / (daily volatility x sqrt(sessions)) that fires the next stage")
    vol_window: int = Field(63, ge=2, description="daily returns in the volatility estimate")


class ProfitTakingConfig(StrictModel):
    stages: list[StageConfig] = Field(min_length=1, max_length=MAX_STAGES, description="in order of rising gain")
    surge: SurgeConfig | None = Field(None, description="a short-term surge (N-session return) also fires the next stage")
    surge_z: SurgeZConfig | None = Field(None, description="a surge measured against the name's own volatility "
                                         "also fires the next stage")
    trailing_stop: float | None = Field(None, gt=0, lt=1, description="exit the rest on a close this fraction "
                                        "below the peak close since the last stage fired")
    reentry: ReentryConfig | None = Field(None, description="after a profit-taking exit (last stage or stop), "
                                          "no buying until this holds; null = buy again at once")

    @model_validator(mode="after")
    def _stages_in_order(self) -> "ProfitTakingConfig":
        gains = [s.gain for s in self.stages]
        if gains != sorted(gains) or len(set(gains)) != len(gains):
            raise ValueError(f"stages must have strictly rising gains, got {gains}")
        total = sum(s.sell for s in self.stages)
        if total > 1 + 1e-9:
            raise ValueError(f"stages sell {total:.3f} of the position in all; at most 1")
        return self


def _values(cfg: ProfitTakingConfig, symbols: list[str]) -> dict:
    surge, surge_z = cfg.surge, cfg.surge_z
    return {
        "n_stages": len(cfg.stages), "surge_sessions": surge.sessions if surge else 0,
        "surge_return": surge.return_ if surge else np.nan, "surge_z_sessions": surge_z.sessions if surge_z else 0,
        "surge_z": surge_z.z if surge_z else np.nan, "surge_z_window": surge_z.vol_window if surge_z else 2,
        "trailing_stop": np.nan if cfg.trailing_stop is None else cfg.trailing_stop,
        "stage_gain": [s.gain for s in cfg.stages], "stage_sell": [s.sell for s in cfg.stages],
        **reentry_values(cfg.reentry),
    }


PROFIT_TAKING = StatefulRule(
    "profit_taking", "exit", PARAMS,
    (State("fired", unit="count", meaning="stages fired in this holding"),
     State("base", unit="shares", meaning="shares held when the first stage fired"),
     State("peak", unit="price", meaning="peak close since the last stage fired")),
    (LogCode("profit_taking", "stage {a:.0f} (gain {b:+.1%} over average cost): {move}"),
     LogCode("profit_taking", "stage {a:.0f} (surge, gain {b:+.1%} over average cost): {move}"),
     LogCode("profit_taking", "stage {a:.0f} (volatility-scaled surge, gain {b:+.1%} over average cost): {move}"),
     LogCode("profit_taking", "target capped at the {b:.1%} of the position left after {a:.0f} stage(s): {move}"),
     LogCode("trailing_stop", "close {a:.1%} from the peak close {b:.2f} since the last stage: exit {move}")),
    "strategies.steps.profit_taking:profit_taking_step", _values, arrays={"stage_gain": MAX_STAGES, "stage_sell": MAX_STAGES})

RULES = (Rule("profit_taking", "path", ProfitTakingConfig, "sell in stages after gains or surges",
              {"stages": [{"gain": 0.15, "sell": 0.3}, {"gain": 0.3, "sell": 0.3}], "trailing_stop": 0.1,
               "reentry": {"cooldown": 5}}, kernel=PROFIT_TAKING),)
