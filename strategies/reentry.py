"""Re-entry after a rule's exit: shared by every rule that can sell a name out (profit-taking,
stop-loss, drawdown exit). The kernel holds buys back until the condition holds
(engine.sim.rule_kernels.exit_by_rule_nb)."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from engine.strict import StrictModel


class ReentryConfig(StrictModel):
    cooldown: int = Field(ge=0, description="sessions after the exit fill before a buy may fill")
    pullback: float | None = Field(None, gt=0, lt=1, description="a close this fraction below the exit price "
                                   "also allows re-entry")


def reentry_values(reentry: ReentryConfig | None) -> dict[str, float]:
    """The kernel's ``cooldown`` (-1 = buy again at once) and ``pullback`` (NaN = none) parameters."""
    if reentry is None:
        return {"cooldown": -1.0, "pullback": np.nan}
    return {"cooldown": float(reentry.cooldown), "pullback": np.nan if reentry.pullback is None else reentry.pullback}
