"""rules.fcf_margin: leave out names whose free-cash-flow margin is below a floor (a screen).

Free-cash-flow margin = (operating income - capex) / revenue of the latest quarter *filed* by the
close of t: a filing counts from its ``known`` session (the first session after it was filed),
so row t reads rows <= t only. A name with no filing yet is kept or excluded per ``missing``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from engine.strict import StrictModel
from strategies.reasons import cell_text
from strategies.rule_types import Rule, RuleContext, RuleOutput


class FcfMarginConfig(StrictModel):
    min_margin: float = Field(0.05, description="floor on (operating income - capex) / revenue of the latest "
                              "filed quarter")
    missing: Literal["keep", "exclude"] = Field("keep", description="a name with no filed quarter yet")

    def build(self) -> "FcfMarginScreen":
        return FcfMarginScreen(self.min_margin, self.missing)


@dataclass(frozen=True)
class FcfMarginScreen:
    min_margin: float
    missing: str

    def apply(self, ctx: RuleContext) -> RuleOutput:
        margin = latest_filed(ctx, lambda f: (f["operating_income"] - f["capex"]) / f["revenue"])
        failed = margin < self.min_margin
        unknown = margin.isna() & (self.missing == "exclude")
        values = ctx.frame(1.0).mask(failed | unknown, 0.0)
        reasons = cell_text(failed, lambda m: f"FCF margin {m:.1%} < {self.min_margin:.1%}", margin)
        reasons = reasons.mask(unknown, "FCF margin unknown")
        return RuleOutput(values, reasons)


def latest_filed(ctx: RuleContext, ratio) -> pd.DataFrame:
    """Sessions x symbols: ``ratio`` of each name's latest quarter visible at the close of t (NaN before)."""
    rows = ctx.data.fundamentals
    out = ctx.frame(np.nan)
    if rows.empty:
        return out
    rows = rows[rows["symbol"].isin(ctx.symbols)]
    visible = ctx.sessions.searchsorted(rows["known"].to_numpy())
    rows = rows.assign(value=ratio(rows), visible=visible)[visible < len(ctx.sessions)]
    latest = rows.sort_values(["visible", "period_end"]).pivot_table(
        index="visible", columns="symbol", values="value", aggfunc="last")
    latest = latest.reindex(range(len(ctx.sessions))).ffill()
    return latest.set_axis(ctx.sessions).reindex(columns=ctx.symbols)


RULE = Rule("fcf_margin", "screen", FcfMarginConfig, "free-cash-flow margin screen (example plugin)",
            {"min_margin": 0.05})
