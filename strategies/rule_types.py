"""What every rule receives and returns, per stage: the protocols a rule implements.

A stateless rule is a config model (a StrictModel: unknown keys are errors) whose ``build()``
returns an object with the method of its stage. Every method gets a ``RuleContext``: the
Dataset (row t is known at the close of t), the universe, its groups and the weighting's
decision sessions. Row t of what it returns may use rows <= t of the Dataset only (the
look-ahead tests perturb rows after t and check rows <= t do not move); the simulator fills
the decisions a session later by itself. Frames are sessions x ``ctx.symbols``; ``reasons``
has the same shape, '' where the rule did nothing, else why it acted ("coverage 2.9x < 4.0x"),
and goes into rules.parquet.

| stage | method | returns |
|---|---|---|
| selection | ``apply(ctx) -> RuleOutput`` | bool eligibility |
| screen | ``apply(ctx) -> RuleOutput`` | multiplier in [0, 1]: 0 excludes before weighting, 0 < m < 1 scales after it |
| weighting | ``weigh(ctx, eligible) -> DataFrame`` | weights on ``ctx.rebalance`` rows (eligible names sum to 1, others 0), all-NaN rows elsewhere |
| overlay | ``apply(ctx) -> RuleOutput`` | a multiplier frame (several overlays: they multiply; within a list, the smallest wins) and optionally ``no_buy``; or a Series of gross-exposure caps per session |
| caps | ``cap(ctx, standing, explain) -> (capped, reasons)`` | the standing targets capped; reasons worded on the ``explain`` rows only |
| path | (compiled; engine.sim.rule_layout.StatefulRule) | decided inside the simulation, every session |

A weighting's config subclasses strategies.weighting.WeightingRule (``kind``, ``rebalance``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, get_args

import numpy as np
import pandas as pd

from engine.data.dataset import Dataset

Stage = Literal["selection", "screen", "weighting", "overlay", "caps", "path"]
STAGES: tuple[str, ...] = get_args(Stage)  # the pipeline's order


@dataclass(frozen=True)
class RuleContext:
    data: Dataset
    symbols: list[str]
    groups: dict[str, list[str]]  # named groups (config groups, else data themes)
    rebalance: np.ndarray  # bool per session: the weighting decides on these sessions

    @property
    def sessions(self) -> pd.DatetimeIndex:
        return self.data.sessions

    def frame(self, value) -> pd.DataFrame:
        """A sessions × symbols frame filled with ``value``."""
        return pd.DataFrame(value, index=self.data.sessions, columns=self.symbols)


@dataclass(frozen=True)
class RuleOutput:
    """``values``: the rule's frame (meaning set by its stage). ``reasons``: same shape, '' where
    the rule did nothing, else why it acted. ``no_buy``: optional bool frame, True where new
    buying of a name is blocked (event rules)."""

    values: pd.DataFrame | pd.Series
    reasons: pd.DataFrame | pd.Series
    no_buy: pd.DataFrame | None = field(default=None)


class AppliedRule(Protocol):
    """selection, screen and overlay rules."""

    def apply(self, ctx: RuleContext) -> RuleOutput: ...


class Weighting(Protocol):
    def weigh(self, ctx: RuleContext, eligible: pd.DataFrame) -> pd.DataFrame: ...


class Caps(Protocol):
    def cap(self, ctx: RuleContext, standing: pd.DataFrame, explain: np.ndarray | None
            ) -> tuple[pd.DataFrame, pd.DataFrame | Callable[[], pd.DataFrame]]: ...


@dataclass(frozen=True)
class Rule:
    """One registered rule (strategies.registry.register_rule). ``name``: its key under ``rules:``
    (for a weighting, its ``kind``). ``config``: its config model; ``config(...).build()`` returns
    the stage's implementation. ``example``: a small valid config block (tests and the look-ahead
    harness run every registered rule with it). ``many``: the key holds a list of blocks (events).
    ``log_name``: the rule column of rules.parquet for what the stateless part did (default: name).
    ``kernel``: the path-dependent part's declaration (engine.sim.rule_layout.StatefulRule), run
    inside the simulation with the block's values (``kernel.values(block, symbols)``).
    ``needs_kernel``: whether a block needs the simulation's kernel (default: it declares one)."""

    name: str
    stage: Stage
    config: type
    description: str
    example: dict[str, Any]
    many: bool = False
    log_name: str | None = None
    kernel: Any = None
    needs_kernel: Callable[[Any], bool] | None = None

    @property
    def label(self) -> str:
        return self.log_name or self.name

    def uses_kernel(self, block: Any) -> bool:
        return self.needs_kernel(block) if self.needs_kernel is not None else self.kernel is not None
