"""The `hedges:` section of a run config: option overlays as leg lists, with presets.

A hedge is a package of option legs on one underlying (put, spread, collar, calendar,
long call) opened on a schedule, rolled before expiry, sized on the stock book and
optionally timed on implied vol. A preset (`structure:`) is just a named leg list, so
any other structure can be written as `legs:` without code.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from engine.strict import StrictModel
from strategies.schedule import Frequency


class LegConfig(StrictModel):
    """One option leg: strike by moneyness (K/S at the decision) or by BSM delta."""

    right: Literal["put", "call"] = Field(description="option type")
    moneyness: float | None = Field(None, gt=0, description="strike / spot at the decision session "
                                    "(give moneyness or delta)")
    delta: float | None = Field(None, gt=-1, lt=1, description="strike with this BSM delta at the decision "
                                "(puts negative, calls positive)")
    tenor_days: int = Field(91, ge=1, description="calendar days to expiry; expiry is the last session on or "
                            "before the fill date + tenor_days")
    ratio: float = Field(1.0, description="contracts per hedged notional / (spot × multiplier); negative = short")
    underlying: str | None = Field(None, description="symbol of this leg (default: the hedge's underlying)")

    @model_validator(mode="after")
    def _one_strike_rule(self) -> "LegConfig":
        if (self.moneyness is None) == (self.delta is None):
            raise ValueError("give exactly one of 'moneyness' or 'delta'")
        if self.delta is not None and (self.delta > 0) != (self.right == "call"):
            raise ValueError(f"a {self.right}'s delta is {'positive' if self.right == 'call' else 'negative'} "
                             f"(got {self.delta})")
        if self.ratio == 0:
            raise ValueError("ratio 0 trades nothing; remove the leg")
        return self


def _leg(right: str, tenor: int, ratio: float = 1.0, **strike: float) -> LegConfig:
    return LegConfig(right=right, tenor_days=tenor, ratio=ratio, **strike)


PRESETS: dict[str, tuple[LegConfig, ...]] = {
    "protective_put": (_leg("put", 91, moneyness=0.95),),
    "put_spread": (_leg("put", 91, moneyness=0.95), _leg("put", 91, -1.0, moneyness=0.85)),
    "collar": (_leg("put", 91, moneyness=0.95), _leg("call", 91, -1.0, moneyness=1.05)),
    "call_spread": (_leg("call", 91, moneyness=1.0), _leg("call", 91, -1.0, moneyness=1.10)),
    "calendar": (_leg("call", 30, -1.0, moneyness=1.0), _leg("call", 91, moneyness=1.0)),
    "long_call": (_leg("call", 182, delta=0.8),),
}
Structure = Literal["protective_put", "put_spread", "collar", "call_spread", "calendar", "long_call"]


class SizeConfig(StrictModel):
    of: Literal["portfolio", "position"] = Field("portfolio", description="hedged notional is a fraction of the "
                                                 "stock book's value or of one position's value, at the decision")
    symbol: str | None = Field(None, description="the position hedged when of: position")
    fraction: float = Field(1.0, gt=0, description="hedged notional / that value")

    @model_validator(mode="after")
    def _symbol_for_position(self) -> "SizeConfig":
        if (self.of == "position") != (self.symbol is not None):
            raise ValueError("'symbol' is required with of: position and not allowed with of: portfolio")
        return self


class TimingConfig(StrictModel):
    """When protection is bought, from the percentile rank of the underlying's reference vol."""

    rule: Literal["always", "below_percentile", "scale"] = Field(
        "always", description="always; below_percentile: open only when the vol's trailing percentile rank ≤ "
        "percentile; scale: full size up to percentile, then shrink linearly to 0 at the top of the window")
    percentile: float = Field(80.0, ge=0, lt=100, description="threshold percentile (0–100)")
    window: int = Field(252, ge=2, description="sessions in the trailing vol history (no package before it fills)")
    min_scale: float = Field(0.0, ge=0, le=1, description="smallest size multiplier of the scale rule")


class CostConfig(StrictModel):
    spread: float = Field(0.05, ge=0, lt=2, description="bid/ask spread as a fraction of the model price; "
                          "buys pay mid × (1 + spread/2), sells get mid × (1 − spread/2)")
    commission: float = Field(0.65, ge=0, description="currency per contract per trade (not at cash settlement)")
    multiplier: float = Field(100.0, gt=0, description="shares per contract")
    whole_contracts: bool = Field(True, description="round contract counts to whole numbers")


class VolConfig(StrictModel):
    """Where implied vol comes from and how it spreads over strikes and tenors."""

    source: str = Field("realized", description="a market series quoted in percent (e.g. VIX) for index hedges, "
                        "or 'realized': each underlying's realised vol")
    window: int = Field(21, ge=2, description="sessions of log returns in the realised vol")
    premium: float = Field(1.0, gt=0, description="multiplier on the source (implied over realised, typically > 1)")
    reference_days: float = Field(30.0, gt=0, description="calendar-day tenor the source stands for (VIX: 30)")
    skew: float = Field(-0.2, description="vol change per unit ln(strike/spot); negative makes low strikes dearer")
    long_run_vol: float | None = Field(None, gt=0, description="long-run vol the term structure reverts to; "
                                       "empty = trailing mean of the source over long_run_window")
    long_run_window: int = Field(252, ge=2, description="sessions in that trailing mean")
    reversion: float = Field(4.0, ge=0, description="speed (per year) of the variance term structure; 0 = flat")
    floor: float = Field(0.01, gt=0, description="smallest implied vol used")


class HedgeConfig(StrictModel):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="hedge name in hedges.parquet")
    underlying: str = Field(description="symbol the options are written on (loaded with the run's data)")
    structure: Structure | None = Field(None, description="preset leg list (see README); or give legs")
    legs: list[LegConfig] | None = Field(None, min_length=1, description="the package's option legs")
    schedule: Frequency = Field("monthly", description="sessions on which an unhedged book opens a package")
    roll_before: int = Field(5, ge=0, description="close the package this many sessions before its first expiry "
                             "and open the next (0 = hold to cash settlement)")
    size: SizeConfig = Field(SizeConfig(), description="the hedged notional")
    timing: TimingConfig = Field(TimingConfig(), description="buy protection only when vol is cheap, or scale it")
    costs: CostConfig = Field(CostConfig(), description="bid/ask, commission, multiplier")
    vol: VolConfig = Field(VolConfig(), description="the implied-vol surface")
    rate: str | float = Field("DGS10", description="a market series in percent (e.g. DGS10) or a constant "
                              "fraction: the continuously compounded rate")
    dividend_yield: float = Field(0.0, ge=0, description="continuous dividend yield of the underlying, fraction")

    @model_validator(mode="after")
    def _one_structure(self) -> "HedgeConfig":
        if (self.structure is None) == (self.legs is None):
            raise ValueError("give exactly one of 'structure' (a preset) or 'legs'")
        return self

    @property
    def package(self) -> tuple[LegConfig, ...]:
        """The legs, with presets expanded and every leg's underlying filled in."""
        legs = PRESETS[self.structure] if self.structure else tuple(self.legs)
        return tuple(leg.model_copy(update={"underlying": leg.underlying or self.underlying}) for leg in legs)

    @property
    def symbols(self) -> list[str]:
        """Every symbol the hedge reads: underlyings and the sized position."""
        names = [self.underlying, *(leg.underlying for leg in self.package), self.size.symbol]
        return list(dict.fromkeys(name for name in names if name))


def _unique_names(hedges: list[HedgeConfig]) -> list[HedgeConfig]:
    names = [hedge.name for hedge in hedges]
    dupes = sorted({name for name in names if names.count(name) > 1})
    if dupes:
        raise ValueError(f"hedge names must be unique: {', '.join(dupes)}")
    return hedges


Hedges = Annotated[list[HedgeConfig], AfterValidator(_unique_names)]
