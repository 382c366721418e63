"""Financial-health screen: leave out (or scale down) names whose balance sheet is stretched.

Reads ``fundamentals`` point in time: for row t only filings with ``known`` +
``lag_sessions`` <= t count, and a restated period (several rows for one
``period_end``) uses its latest version visible at t. Trailing-four-quarter (4Q)
sums use the four most recent visible quarters, which must be distinct and fall
within one year (else the criterion is unknown at t). Criteria, each optional:

- interest coverage = 4Q operating income / 4Q interest expense (no interest
  expense = nothing to cover = pass);
- net cash = cash - total_debt of the latest visible quarter (USD millions);
- capex intensity = 4Q capex / 4Q revenue (unknown when revenue <= 0);
- credit spread: market series ``<credit_series_prefix><SYMBOL>`` at t; a name
  without that series (or before its first value) is not tested on it.

Sets a multiplier frame: 1 = pass; a failed criterion gives 0 (``action:
exclude``) or ``scale`` (``action: scale``). A name that fails nothing but has an
unknown fundamental criterion is "missing" and gets, per ``missing``: ``exclude``
= treated as failing (the action's multiplier), ``keep`` = treated as passing (1),
``neutral`` = ``scale`` whatever the action. Fundamentals only change on filing
dates, so each name's status is computed once per visible filing and carried
forward onto the sessions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from engine.errors import DataError
from engine.config.strict import StrictModel
from strategies.reasons import cell_text, compared, join_reasons, money
from strategies.rule_types import RuleContext, RuleOutput

QUARTERS_IN_A_YEAR = 4
MAX_FOUR_QUARTER_SPAN_DAYS = 320  # four consecutive quarter ends span ~273 days; a skipped quarter spans >= 365
FUNDAMENTAL_METRICS = ("coverage", "net_cash", "capex_intensity")


class HealthScreenConfig(StrictModel):
    min_interest_coverage: float | None = Field(None, description="floor on 4Q operating income / 4Q interest "
                                                "expense, e.g. 4.0; null = not checked")
    min_net_cash: float | None = Field(None, description="floor on cash - total_debt, USD millions (negative = "
                                       "net debt allowed up to that amount); null = not checked")
    max_capex_intensity: float | None = Field(None, ge=0, description="ceiling on 4Q capex / 4Q revenue, e.g. "
                                              "0.3; null = not checked")
    max_credit_spread: float | None = Field(None, description="ceiling on the name's credit spread series "
                                            "(e.g. CDS in bp); null = not checked")
    credit_series_prefix: str = Field("CDS_", min_length=1, description="market series <prefix><SYMBOL> holds a "
                                      "name's credit spread; names without one are not tested on it")
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
        metrics = fundamentals_as_of(ctx, self.lag_sessions)
        checks = [  # (value frame, limit, value fails the limit, failure text, missing text)
            (metrics["coverage"], self.min_interest_coverage, np.less,
             lambda v: f"coverage {compared(v, '<', self.min_interest_coverage, suffix='x')}", "coverage unknown"),
            (metrics["net_cash"], self.min_net_cash, np.less,
             lambda v: f"net cash {money(v * 1e6)} < {money(self.min_net_cash * 1e6)}", "net cash unknown"),
            (metrics["capex_intensity"], self.max_capex_intensity, np.greater,
             lambda v: f"capex/revenue {v:.0%} > {self.max_capex_intensity:.0%}", "capex/revenue unknown"),
        ]
        failed, unknown, fail_texts, missing_texts = ctx.frame(False), ctx.frame(False), [], []
        for values, limit, fails, describe, unknown_text in checks:
            if limit is None:
                continue
            fail = fails(values, limit)
            failed, unknown = failed | fail, unknown | values.isna()
            fail_texts.append(cell_text(fail, describe, values))
            missing_texts.append(cell_text(values.isna(), lambda text=unknown_text: text))
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


def fundamentals_as_of(ctx: RuleContext, lag_sessions: int = 0) -> dict[str, pd.DataFrame]:
    """Sessions x symbols frames of each metric in FUNDAMENTAL_METRICS as visible at the close of t."""
    n = len(ctx.sessions)
    metrics = {name: np.full((n, len(ctx.symbols)), np.nan) for name in FUNDAMENTAL_METRICS}
    rows = ctx.data.fundamentals
    if not rows.empty:
        rows = rows[rows["symbol"].isin(ctx.symbols)]
        visible = ctx.sessions.searchsorted(rows["known"].to_numpy()) + lag_sessions
        rows = rows.assign(visible=visible)[visible < n].sort_values(["symbol", "visible"], kind="stable")
        for symbol, filings in rows.groupby("symbol", sort=False):
            positions, values = _metrics_per_filing(filings)
            latest = _latest_filing_index(positions, n)
            column = ctx.symbols.index(symbol)
            for name in FUNDAMENTAL_METRICS:
                metrics[name][:, column] = np.where(latest >= 0, values[name][latest], np.nan)
    return {name: ctx.frame(values) for name, values in metrics.items()}


def _latest_filing_index(positions: np.ndarray, n: int) -> np.ndarray:
    """For each session, the index of the last filing visible by then (-1 before the first)."""
    index = np.full(n, -1)
    index[positions] = np.arange(len(positions))
    return np.maximum.accumulate(index)


def _metrics_per_filing(filings: pd.DataFrame) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The metrics right after each distinct visible session of one name's filings (in visible order)."""
    values = filings[list(_COLUMNS)].to_numpy(dtype=float)
    period_ends = filings["period_end"].to_numpy()
    visible = filings["visible"].to_numpy()
    quarters: dict[np.datetime64, int] = {}  # period_end -> row of its latest visible version
    positions, out = [], {name: [] for name in FUNDAMENTAL_METRICS}
    for i, period_end in enumerate(period_ends):
        quarters[period_end] = i
        if i + 1 < len(visible) and visible[i + 1] == visible[i]:
            continue  # several filings visible on one session: take the state after all of them
        positions.append(visible[i])
        for name, value in _metrics(quarters, values).items():
            out[name].append(value)
    return np.asarray(positions), {name: np.asarray(v, dtype=float) for name, v in out.items()}


_COLUMNS = {name: i for i, name in enumerate(
    ("revenue", "operating_income", "interest_expense", "capex", "cash", "total_debt"))}


def _metrics(quarters: dict[np.datetime64, int], values: np.ndarray) -> dict[str, float]:
    ends = sorted(quarters)
    latest = values[quarters[ends[-1]]]
    metrics = {"net_cash": latest[_COLUMNS["cash"]] - latest[_COLUMNS["total_debt"]],
               "coverage": np.nan, "capex_intensity": np.nan}
    last_four = ends[-QUARTERS_IN_A_YEAR:]
    span_days = (last_four[-1] - last_four[0]) / np.timedelta64(1, "D")
    if len(last_four) < QUARTERS_IN_A_YEAR or span_days > MAX_FOUR_QUARTER_SPAN_DAYS:
        return metrics
    total = values[[quarters[end] for end in last_four]].sum(axis=0)  # NaN if any quarter lacks the item
    income, interest = total[_COLUMNS["operating_income"]], total[_COLUMNS["interest_expense"]]
    if not np.isnan(income + interest):
        metrics["coverage"] = income / interest if interest > 0 else np.inf  # no interest: nothing to cover
    revenue = total[_COLUMNS["revenue"]]
    if revenue > 0:
        metrics["capex_intensity"] = total[_COLUMNS["capex"]] / revenue
    return metrics
