"""Financial-health screen: leave out (or scale down) names whose balance sheet is stretched.

Judges what was filed, point in time, from the figures of strategies.filed_figures
(``basis: ttm`` sums the trailing quarters that hold a measure's items, annualising
when at least ``min_quarters`` but fewer than four are filed; ``basis: quarter`` takes
the latest one; net cash is the latest balance sheet with cash and debt). Criteria,
each optional:

- interest coverage = operating income / interest expense (no interest expense =
  nothing to cover = pass);
- net cash = cash - total_debt (USD millions);
- capex intensity = capex / revenue (unknown when revenue <= 0);
- credit spread: market series ``<credit_series_prefix><SYMBOL>`` at t; a name
  without that series (or before its first value) is not tested on it.

Sets a multiplier frame: 1 = pass; a failed criterion gives 0 (``action:
exclude``) or ``scale`` (``action: scale``). A name that fails nothing but has an
unknown fundamental criterion is "missing" and gets, per ``missing``: ``exclude``
= treated as failing (the action's multiplier), ``keep`` = treated as passing (1),
``neutral`` = ``scale`` whatever the action. Every reason names the figure, its
basis and the filing it came from: ``coverage 0.17x (latest quarter, filed
2025-11-13) < 2.00x``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from engine.errors import DataError
from engine.strict import StrictModel
from strategies.reasons import cell_text, compared, join_reasons, money
from strategies.filed_figures import filed_figures
from strategies.rule_types import Rule, RuleContext, RuleOutput



class HealthScreenConfig(StrictModel):
    min_interest_coverage: float | None = Field(None, description="floor on operating income / interest "
                                                "expense (on `basis`), e.g. 4.0; null = not checked")
    min_net_cash: float | None = Field(None, description="floor on cash - total_debt, USD millions (negative = "
                                       "net debt allowed up to that amount); null = not checked")
    max_capex_intensity: float | None = Field(None, ge=0, description="ceiling on capex / revenue (on `basis`), "
                                              "e.g. 0.3; null = not checked")
    max_credit_spread: float | None = Field(None, description="ceiling on the name's credit spread series "
                                            "(e.g. CDS in bp); null = not checked")
    credit_series_prefix: str = Field("CDS_", min_length=1, description="market series <prefix><SYMBOL> holds a "
                                      "name's credit spread; names without one are not tested on it")
    basis: Literal["ttm", "quarter"] = Field("ttm", description="ttm: the trailing four quarters, annualised "
                                             "from min_quarters when fewer are filed; quarter: the latest "
                                             "filed quarter")
    min_quarters: int = Field(2, ge=1, le=4, description="(ttm) fewest quarters within the trailing year a "
                              "measure may rest on; fewer = unknown (see `missing`)")
    lag_sessions: int = Field(0, ge=0, description="extra sessions after a filing's `known` session before the "
                              "screen uses it")
    action: Literal["exclude", "scale"] = Field("exclude", description="what failing does: exclude (weight 0) or "
                                                "scale (weight x scale)")
    scale: float = Field(0.5, gt=0, lt=1, description="multiplier for scaled names")
    missing: Literal["exclude", "keep", "neutral"] = Field(
        "exclude", description="a name whose fundamentals are unknown at t: exclude = treated as failing, "
        "keep = treated as passing, neutral = scaled by `scale`")

    @model_validator(mode="after")
    def _checks_something(self) -> "HealthScreenConfig":
        if None is self.min_interest_coverage is self.min_net_cash is self.max_capex_intensity \
                is self.max_credit_spread:
            raise ValueError("set at least one of min_interest_coverage, min_net_cash, max_capex_intensity, "
                             "max_credit_spread (or remove the screen)")
        return self

    def build(self) -> "HealthScreen":
        return HealthScreen.from_config(self)


@dataclass(frozen=True)
class HealthScreen:
    min_interest_coverage: float | None = None
    min_net_cash: float | None = None
    max_capex_intensity: float | None = None
    max_credit_spread: float | None = None
    credit_series_prefix: str = "CDS_"
    basis: str = "ttm"
    min_quarters: int = 2
    lag_sessions: int = 0
    action: str = "exclude"
    scale: float = 0.5
    missing: str = "exclude"

    @classmethod
    def from_config(cls, cfg: HealthScreenConfig) -> "HealthScreen":
        return cls(**cfg.model_dump())

    def apply(self, ctx: RuleContext) -> RuleOutput:
        uses_filings = (self.min_interest_coverage, self.min_net_cash, self.max_capex_intensity) != (None,) * 3
        if uses_filings and ctx.data.fundamentals.empty:
            raise DataError("fundamentals.parquet", None, "the health screen reads fundamentals but the dataset "
                            "has none", "add fundamentals.parquet to the data folder or remove rules.screen")
        figures = filed_figures(ctx.data.fundamentals, ctx.sessions, ctx.symbols, lag_sessions=self.lag_sessions,
                                basis=self.basis, min_quarters=self.min_quarters)
        checks = [  # (measure, limit, value fails the limit, failure text)
            ("coverage", self.min_interest_coverage, np.less,
             lambda v, s: _reason("coverage", v, s, "<", self.min_interest_coverage, "x")),
            ("net_cash", self.min_net_cash, np.less,
             lambda v, s: f"net cash {money(v * 1e6)} ({s}) < {money(self.min_net_cash * 1e6)}"),
            ("capex_intensity", self.max_capex_intensity, np.greater,
             lambda v, s: f"capex/revenue {v:.0%} ({s}) > {self.max_capex_intensity:.0%}"),
        ]
        labels = {"coverage": "coverage", "net_cash": "net cash", "capex_intensity": "capex/revenue"}
        failed, unknown, fail_texts, missing_texts = ctx.frame(False), ctx.frame(False), [], []
        for name, limit, fails, describe in checks:
            if limit is None:
                continue
            values = figures.values[name]
            fail = fails(values, limit)
            failed, unknown = failed | fail, unknown | values.isna()
            fail_texts.append(cell_text(fail, describe, values, figures.sources[name]))
            missing_texts.append(cell_text(values.isna(), lambda why, label=labels[name]: f"{label} unknown ({why})",
                                           figures.unknown[name]))
        if self.max_credit_spread is not None:
            spread, names = self._credit_spreads(ctx)
            fail = spread > self.max_credit_spread
            failed = failed | fail
            fail_texts.append(cell_text(fail, lambda v, s: f"{s} {compared(v, '>', self.max_credit_spread)}",
                                        spread, names))
        missing = unknown & ~failed
        fail_multiplier = 0.0 if self.action == "exclude" else self.scale
        missing_multiplier = {"exclude": fail_multiplier, "keep": 1.0, "neutral": self.scale}[self.missing]
        values = ctx.frame(1.0).mask(missing, missing_multiplier).mask(failed, fail_multiplier)
        reasons = join_reasons(*fail_texts, *missing_texts) if fail_texts else ctx.frame("").astype(object)
        acted = values < 1.0
        return RuleOutput(values, reasons.where(acted, ""))

    def _credit_spreads(self, ctx: RuleContext) -> tuple[pd.DataFrame, np.ndarray]:
        """Each name's credit series on the sessions (NaN where it has none) and the series' names."""
        market = ctx.data.market.reindex(index=ctx.sessions)
        names = np.array([self.credit_series_prefix + s for s in ctx.symbols], dtype=object)
        spread = market.reindex(columns=names).set_axis(ctx.symbols, axis=1).astype(float)
        return spread, names


RULES = (Rule("screen", "screen", HealthScreenConfig, "financial-health screen on filed fundamentals",
              {"min_interest_coverage": 4.0, "missing": "keep"}),)


def _reason(label: str, value: float, source: str, op: str, limit: float, suffix: str) -> str:
    """'coverage 3.96x (4Q to 2025-11-30, filed 2025-12-11) < 4.00x'."""
    shown, bound = compared(value, op, limit, decimals=2, suffix=suffix).split(f" {op} ")
    return f"{label} {shown} ({source}) {op} {bound}"
