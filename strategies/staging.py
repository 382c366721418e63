"""Config of the stateful rules (staged profit-taking, re-entry, staged entry) and
their compilation into the per-column arrays the simulation kernels read.

These rules depend on the path the book took (average cost, stages fired, the
exit price), so they cannot be decided before the simulation: engine.sim.rule_kernels
runs them every session inside it. Gains are measured on the simulated
(total-return) prices against the average cost, which includes slippage and fees.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import ConfigDict, Field, model_validator

from engine.sim.rule_kernels import KernelRules, RuleParams
from engine.strict import StrictModel
from strategies.caps import CapsConfig


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


class ReentryConfig(StrictModel):
    cooldown: int = Field(ge=0, description="sessions after a profit-taking exit fill before a buy may fill")
    pullback: float | None = Field(None, gt=0, lt=1, description="a close this fraction below the exit price "
                                   "also allows re-entry")


class ProfitTakingConfig(StrictModel):
    stages: list[StageConfig] = Field(min_length=1, description="in order of rising gain")
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


class StagedEntryConfig(StrictModel):
    tranches: int = Field(3, ge=2, description="a buy from zero is split into this many tranches")
    every: int = Field(1, ge=1, description="sessions between tranches")
    pullback: float | None = Field(None, gt=0, lt=1, description="buy the next tranche early on a close this "
                                   "fraction below the previous tranche's fill")


def compile_rules(
    symbols: list[str],
    groups: dict[str, list[str]],
    caps: CapsConfig | None = None,
    profit_taking: ProfitTakingConfig | None = None,
    staged_entry: StagedEntryConfig | None = None,
    gross_limit: pd.Series | None = None,
    no_buy: pd.DataFrame | None = None,
) -> KernelRules:
    """The rules for one simulated book whose columns are ``symbols`` (None = rule off)."""
    n = len(symbols)
    caps_on = caps if caps is not None else CapsConfig()
    name_cap = caps_on.name_caps(symbols)
    group_names, members, group_cap = caps_on.group_arrays(symbols, groups)
    stages = profit_taking.stages if profit_taking else []
    surge, surge_z = (profit_taking.surge, profit_taking.surge_z) if profit_taking else (None, None)
    reentry = profit_taking.reentry if profit_taking else None
    params = RuleParams(
        name_cap=name_cap,
        drift_band=_column(n, caps.band if caps else np.inf),  # no caps config: no drift trims
        gross_cap=_column(n, caps_on.gross_limit()),
        group_members=members,
        group_cap=group_cap,
        stage_gain=np.tile(np.array([s.gain for s in stages], dtype=float), (n, 1)).reshape(n, len(stages)),
        stage_sell=np.tile(np.array([s.sell for s in stages], dtype=float), (n, 1)).reshape(n, len(stages)),
        n_stages=_column(n, len(stages), int),
        surge_sessions=_column(n, surge.sessions if surge else 0, int),
        surge_return=_column(n, surge.return_ if surge else np.nan),
        surge_z_sessions=_column(n, surge_z.sessions if surge_z else 0, int),
        surge_z=_column(n, surge_z.z if surge_z else np.nan),
        surge_z_window=_column(n, surge_z.vol_window if surge_z else 2, int),
        trailing_stop=_column(n, _or_nan(profit_taking.trailing_stop if profit_taking else None)),
        reentry_cooldown=_column(n, reentry.cooldown if reentry else -1, int),
        reentry_pullback=_column(n, _or_nan(reentry.pullback if reentry else None)),
        entry_tranches=_column(n, staged_entry.tranches if staged_entry else 0, int),
        entry_every=_column(n, staged_entry.every if staged_entry else 1, int),
        entry_pullback=_column(n, _or_nan(staged_entry.pullback if staged_entry else None)),
    )
    if no_buy is not None:
        no_buy = no_buy[symbols].astype(bool)
    return KernelRules(params=params, group_names=tuple(group_names), gross_limit=gross_limit, no_buy=no_buy)


def _column(n: int, value, dtype=float) -> np.ndarray:
    return np.full(n, value, dtype=dtype)


def _or_nan(value: float | None) -> float:
    return np.nan if value is None else value
