"""The `rules:` section of a config: which of the column's rules run, with what parameters.

Each rule module owns its config model; this one only assembles them in stage order.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from engine.strict import StrictModel
from strategies.caps import CapsConfig
from strategies.event_rules import EventRuleConfig
from strategies.regime import RegimeConfig
from strategies.screens import HealthScreenConfig
from strategies.selection import SelectionConfig
from strategies.staging import ProfitTakingConfig, StagedEntryConfig
from strategies.weighting import WeightingConfig


class RulesConfig(StrictModel):
    """Stage order is fixed: selection → screen → weighting → events → regime → caps → staging."""

    selection: SelectionConfig | None = Field(None, description="minimum history and liquidity")
    screen: HealthScreenConfig | None = Field(None, description="financial-health screen on filed fundamentals")
    weighting: WeightingConfig = Field(description="how eligible names are weighted on rebalance sessions")
    events: list[EventRuleConfig] = Field(default_factory=list, description="news rules on the events calendar")
    regime: RegimeConfig | None = Field(None, description="gross-exposure caps in high volatility, at year end")
    caps: CapsConfig | None = Field(None, description="name, group and gross caps, cash floor, drift band")
    profit_taking: ProfitTakingConfig | None = Field(None, description="sell in stages after gains or surges")
    staged_entry: StagedEntryConfig | None = Field(None, description="build new positions in tranches")
    freed_weight: Literal["cash", "reweight"] = Field(
        "cash", description="an excluded name's weight between rebalances: kept in cash until the next rebalance, "
        "or shared at once by the other eligible names (that session rebalances)")

    @property
    def needs_kernel(self) -> bool:
        """Path-dependent rules (or cap drift) must run inside the simulation."""
        return any(rule is not None for rule in (self.caps, self.profit_taking, self.staged_entry)) or any(
            rule.action == "block_buys" for rule in self.events)
