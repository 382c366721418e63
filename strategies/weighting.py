"""Weighting: how the equity is shared among the eligible names on rebalance sessions.

Every weigher has one interface, ``weigh(ctx, eligible) -> weights``: a
sessions x symbols frame with a full row on each ``ctx.rebalance`` session (0 for
ineligible names, the eligible ones summing to 1) and all-NaN rows elsewhere.
A row sums to 0 (all cash) when no eligible name can be weighted. Inputs are
rows <= t of total-return prices (``close x adj_factor``).

- ``buy_and_hold``: equal weight among the names priced on the first session, bought
  once, never rebalanced (the baseline yardstick).
- ``equal`` (also ``equal_weight``): every eligible name gets the same weight.
- ``inverse_volatility``: weight ~ 1/sigma of the last ``lookback`` daily log
  returns; a name without ``lookback`` returns or with sigma 0 gets 0.
- ``fixed``: the configured weights, renormalised over the eligible names (a name
  excluded by selection or a screen hands its weight to the others pro rata).
- ``score``: momentum = total return over ``lookback`` sessions ending ``skip``
  sessions before t; the ``top_n`` best scores get weight ~ max(score, 0)^power.
  When none of them has a positive score, they share the equity equally (the
  least-bad names are still held; cash is a caps/regime decision).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from engine.errors import ConfigError
from engine.strict import StrictModel
from strategies.rule_types import Rule, RuleContext
from strategies.schedule import Frequency, rebalance_sessions

def normalised(scores: pd.DataFrame) -> pd.DataFrame:
    """Scale each row's scores to sum to 1; NaN scores (ineligible) and empty rows get 0."""
    totals = scores.sum(axis=1, min_count=1)
    return scores.div(totals.where(totals > 0), axis=0).fillna(0.0)


def on_decisions(weights: pd.DataFrame, decides: np.ndarray) -> pd.DataFrame:
    """Keep the rows a strategy decides on; every other row becomes all NaN."""
    return weights.where(pd.Series(decides, index=weights.index), axis=0)


def _total_return(ctx: RuleContext) -> pd.DataFrame:
    return ctx.data.adjusted("close")[ctx.symbols]


@dataclass(frozen=True)
class EqualWeights:
    def weigh(self, ctx: RuleContext, eligible: pd.DataFrame) -> pd.DataFrame:
        return on_decisions(normalised(ctx.frame(1.0).where(eligible)), ctx.rebalance)


@dataclass(frozen=True)
class InverseVolatilityWeights:
    lookback: int = 63

    def __post_init__(self) -> None:
        if self.lookback < 2:
            raise ValueError(f"lookback must be at least 2 returns to estimate a volatility, got {self.lookback}")

    def weigh(self, ctx: RuleContext, eligible: pd.DataFrame) -> pd.DataFrame:
        log_returns = np.log(_total_return(ctx)).diff()
        sigma = log_returns.rolling(self.lookback, min_periods=self.lookback).std(ddof=1)
        return on_decisions(normalised((1.0 / sigma.where(sigma > 0)).where(eligible)), ctx.rebalance)


@dataclass(frozen=True)
class FixedWeights:
    weights: tuple[tuple[str, float], ...]

    def weigh(self, ctx: RuleContext, eligible: pd.DataFrame) -> pd.DataFrame:
        unknown = [s for s, _ in self.weights if s not in ctx.symbols]
        if unknown:
            raise ConfigError("config", "rules.weighting.weights", f"symbols {unknown} are not in the universe",
                              f"use names from universe.symbols ({', '.join(ctx.symbols)})")
        fixed = pd.Series(dict(self.weights), dtype=float).reindex(ctx.symbols).fillna(0.0)
        return on_decisions(normalised(ctx.frame(1.0).mul(fixed, axis=1).where(eligible)), ctx.rebalance)


@dataclass(frozen=True)
class MomentumScoreWeights:
    lookback: int = 126
    skip: int = 21
    top_n: int | None = None
    power: float = 1.0

    def weigh(self, ctx: RuleContext, eligible: pd.DataFrame) -> pd.DataFrame:
        prices = _total_return(ctx)
        end = prices.shift(self.skip)
        score = (end / end.shift(self.lookback) - 1.0).where(eligible)
        rank = score.rank(axis=1, ascending=False, method="first")
        chosen = score.where(rank <= self.top_n) if self.top_n else score
        strength = chosen.clip(lower=0.0) ** self.power
        some_positive = (strength > 0).any(axis=1)
        raw = strength.where(some_positive, ctx.frame(1.0).where(chosen.notna()), axis=0)
        return on_decisions(normalised(raw), ctx.rebalance)


class WeightingRule(StrictModel):
    """The base of a weighting rule's config: a ``kind`` (Literal of the rule's registered name)
    and the sessions it decides on; ``build()`` returns an object with ``weigh(ctx, eligible)``."""

    rebalance: Frequency = Field("monthly", description="sessions on which the weights are reset: the last "
                                 "session of each week/month/quarter (and the first session), or daily")

    @property
    def kind_name(self) -> str:
        """The registered name (the first of the kind's spellings)."""
        return get_args(type(self).model_fields["kind"].annotation)[0]

    def decision_sessions(self, sessions: pd.DatetimeIndex) -> np.ndarray:
        return rebalance_sessions(sessions, self.rebalance)


class BuyAndHoldWeighting(WeightingRule):
    kind: Literal["buy_and_hold"]
    rebalance: Literal["never"] = Field("never", description="(buy_and_hold) decides on the first session only")

    def decision_sessions(self, sessions: pd.DatetimeIndex) -> np.ndarray:
        first = np.zeros(len(sessions), dtype=bool)
        first[:1] = True
        return first

    def build(self) -> "EqualWeights":
        return EqualWeights()


class EqualWeighting(WeightingRule):
    kind: Literal["equal", "equal_weight"]

    def build(self) -> "EqualWeights":
        return EqualWeights()


class InverseVolatilityWeighting(WeightingRule):
    kind: Literal["inverse_volatility"]
    lookback: int = Field(63, ge=2, description="sessions of daily returns in the volatility estimate")

    def build(self) -> "InverseVolatilityWeights":
        return InverseVolatilityWeights(self.lookback)


class FixedWeighting(WeightingRule):
    kind: Literal["fixed"]
    weights: dict[str, float] = Field(min_length=1, description="{symbol: weight}; renormalised over the eligible "
                                      "names each rebalance, unlisted names get 0")

    @field_validator("weights")
    @classmethod
    def _usable(cls, weights: dict[str, float]) -> dict[str, float]:
        negative = [s for s, w in weights.items() if w < 0]
        if negative:
            raise ValueError(f"weights must be >= 0 (long only); negative for {', '.join(negative)}")
        if not any(w > 0 for w in weights.values()):
            raise ValueError("at least one weight must be positive")
        return weights

    def build(self) -> "FixedWeights":
        return FixedWeights(tuple(self.weights.items()))


class ScoreWeighting(WeightingRule):
    kind: Literal["score"]
    lookback: int = Field(126, ge=1, description="sessions of total return in the momentum score")
    skip: int = Field(21, ge=0, description="most recent sessions left out of the score (short-term reversal)")
    top_n: int | None = Field(None, ge=1, description="hold only the best-scoring names; null = all eligible")
    power: float = Field(1.0, gt=0, description="weight ~ max(score, 0)^power; 0 < power < 1 flattens, > 1 tilts")

    def build(self) -> "MomentumScoreWeights":
        return MomentumScoreWeights(self.lookback, self.skip, self.top_n, self.power)


RULES = (
    Rule("buy_and_hold", "weighting", BuyAndHoldWeighting, "equal weight among the names priced on the first "
         "session, never rebalanced", {"kind": "buy_and_hold"}),
    Rule("equal", "weighting", EqualWeighting, "every eligible name gets the same weight", {"kind": "equal"}),
    Rule("inverse_volatility", "weighting", InverseVolatilityWeighting, "weight ~ 1/volatility",
         {"kind": "inverse_volatility", "lookback": 21}),
    Rule("fixed", "weighting", FixedWeighting, "the configured weights, renormalised over the eligible names",
         {"kind": "fixed", "weights": {"NVDA": 2.0, "MSFT": 1.0}}),
    Rule("score", "weighting", ScoreWeighting, "momentum-score weights", {"kind": "score", "lookback": 42,
                                                                          "skip": 5, "top_n": 3}),
)
