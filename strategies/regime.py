"""Regime overlay: hold less in total when markets are stressed or the year is closing.

Reads market series (as-of values, row t known at the close of t) and the
session calendar. Each trigger caps gross exposure (the sum of weights) on the
sessions where it is active; the cap of a session is the smallest active one
(1.0 = no cap):

- volatility: ``vol_series`` strictly above ``vol_level``, or at or above the
  ``vol_percentile``-th percentile of its own last ``vol_window`` values
  (including t; no percentile until the window is full) -> ``high_vol_gross``;
  when both are set either one triggers;
- year end: the last ``year_end_sessions`` sessions of December ->
  ``year_end_gross`` (the exchange calendar is published in advance, so this is
  not look-ahead; a dataset ending mid-December is completed with weekdays);
- flows: ``flow_series`` (e.g. a put/call ratio) strictly above ``flow_above`` ->
  ``flow_gross``.

Sets a Series of caps per session and a Series of reasons.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from engine.errors import ConfigError
from engine.strict import StrictModel
from strategies.reasons import cell_text, compared, join_reasons
from strategies.rule_types import Rule, RuleContext, RuleOutput


class RegimeConfig(StrictModel):
    vol_series: str = Field("VIX", description="market series read as the volatility gauge")
    vol_level: float | None = Field(None, gt=0, description="cap when the gauge is above this level; null = off")
    vol_percentile: float | None = Field(None, gt=0, le=100, description="cap when the gauge is at or above "
                                         "this percentile (0-100) of its trailing window; null = off")
    vol_window: int = Field(252, ge=2, description="sessions in the percentile window, including t")
    high_vol_gross: float = Field(0.6, ge=0, le=1, description="gross-exposure cap while volatility is high")
    year_end_sessions: int | None = Field(None, ge=1, description="cap the last N sessions of December; "
                                          "null = off")
    year_end_gross: float = Field(0.8, ge=0, le=1, description="gross-exposure cap at year end")
    flow_series: str | None = Field(None, description="market series of a flow gauge, e.g. a put/call ratio; "
                                    "null = off")
    flow_above: float | None = Field(None, description="cap when flow_series is above this")
    flow_gross: float = Field(0.8, ge=0, le=1, description="gross-exposure cap while the flow gauge is above")

    @model_validator(mode="after")
    def _complete_triggers(self) -> "RegimeConfig":
        if (self.flow_series is None) != (self.flow_above is None):
            raise ValueError("flow_series and flow_above go together: set both or neither")
        if None is self.vol_level is self.vol_percentile is self.year_end_sessions is self.flow_series:
            raise ValueError("set at least one trigger: vol_level, vol_percentile, year_end_sessions or "
                             "flow_series (or remove the regime overlay)")
        return self

    def build(self) -> "RegimeOverlay":
        return RegimeOverlay.from_config(self)


@dataclass(frozen=True)
class RegimeOverlay:
    vol_series: str = "VIX"
    vol_level: float | None = None
    vol_percentile: float | None = None
    vol_window: int = 252
    high_vol_gross: float = 0.6
    year_end_sessions: int | None = None
    year_end_gross: float = 0.8
    flow_series: str | None = None
    flow_above: float | None = None
    flow_gross: float = 0.8

    @classmethod
    def from_config(cls, cfg: RegimeConfig) -> "RegimeOverlay":
        return cls(**cfg.model_dump())

    def apply(self, ctx: RuleContext) -> RuleOutput:
        sessions = ctx.sessions
        triggers: list[tuple[pd.Series, float, pd.Series]] = []  # (active, cap, reason)
        if self.vol_level is not None or self.vol_percentile is not None:
            triggers.append(self._volatility(ctx))
        if self.year_end_sessions is not None:
            active = pd.Series(sessions_left_in_december(sessions) < self.year_end_sessions, index=sessions)
            text = f"last {self.year_end_sessions} December sessions → gross ≤ {self.year_end_gross:.2f}"
            triggers.append((active, self.year_end_gross, cell_text(active, lambda: text)))
        if self.flow_series is not None:
            flow = _series(ctx, self.flow_series, "flow_series")
            active = flow > self.flow_above
            capped = f"→ gross ≤ {self.flow_gross:.2f}"
            triggers.append((active, self.flow_gross, cell_text(
                active, lambda v: f"{self.flow_series} {compared(v, '>', self.flow_above, 2)} {capped}", flow)))
        caps = pd.Series(1.0, index=sessions)
        for active, cap, _ in triggers:
            caps = caps.mask(active, np.minimum(caps, cap))
        return RuleOutput(caps, join_reasons(*(reason for _, _, reason in triggers)))

    def _volatility(self, ctx: RuleContext) -> tuple[pd.Series, float, pd.Series]:
        gauge = _series(ctx, self.vol_series, "vol_series")
        cap, name = self.high_vol_gross, self.vol_series
        off = pd.Series(False, index=ctx.sessions)
        above_level = gauge > self.vol_level if self.vol_level is not None else off
        percentile = 100 * gauge.rolling(self.vol_window, min_periods=self.vol_window).rank(method="max", pct=True)
        high_percentile = percentile >= self.vol_percentile if self.vol_percentile is not None else off
        capped = f"→ gross ≤ {cap:.2f}"
        reason = join_reasons(
            cell_text(above_level, lambda v: f"{name} {compared(v, '>', self.vol_level)} {capped}", gauge),
            cell_text(high_percentile, lambda p: (f"{name} at {p:.0f}th pct of {self.vol_window} sessions "
                                                  f"≥ {self.vol_percentile:.0f}th {capped}"), percentile),
        )
        return above_level | high_percentile, cap, reason


RULES = (Rule("regime", "overlay", RegimeConfig, "gross-exposure caps in high volatility, at year end",
              {"vol_percentile": 80, "vol_window": 63, "high_vol_gross": 0.6}),)


def sessions_left_in_december(sessions: pd.DatetimeIndex) -> np.ndarray:
    """Per session: how many December sessions of its year come after it (large outside December)."""
    december = np.asarray(sessions.month == 12)
    left = np.full(len(sessions), np.iinfo(np.int64).max)
    if not december.any():
        return left
    years = pd.Series(sessions[december].year)
    after = years.groupby(years).cumcount(ascending=False).to_numpy()
    last = sessions[-1]
    if last.month == 12:  # the data stops inside December: count the weekdays still to come
        to_come = np.busday_count((last + pd.Timedelta(days=1)).date(), dt.date(last.year + 1, 1, 1),
                                  holidays=[dt.date(last.year, 12, 25)])
        after = after + np.where(years.to_numpy() == last.year, to_come, 0)
    left[december] = after
    return left


def _series(ctx: RuleContext, name: str, key: str) -> pd.Series:
    market = ctx.data.market
    if name not in market.columns:
        available = ", ".join(map(str, market.columns)) or "none"
        raise ConfigError("config", f"rules.regime.{key}", f"market series '{name}' is not in the dataset "
                          f"(available: {available})", "name one of those series or add it to market.parquet")
    return market[name].reindex(ctx.sessions).astype(float)
