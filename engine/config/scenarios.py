"""Scenario sets: an outlook written as named cases with probabilities and return ranges.

A scenario says how the benchmark and named symbol groups (the run's ``universe.groups``) move
over a horizon, each as a [low, high] range of total returns (fractions). Names outside every
group the scenario lists move with the benchmark through their trailing beta. A set lives in its
own YAML file (configs/scenarios/) or in a run config's optional ``scenarios:`` field.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import Field, ValidationError, field_validator, model_validator

from engine.config.yaml_file import read_yaml
from engine.errors import ConfigError
from engine.strict import StrictModel

PROBABILITY_TOLERANCE = 1e-6


class ReturnRange(StrictModel):
    """A uniform range of horizon returns; YAML writes it as [low, high]."""

    low: float = Field(gt=-1, description="lowest return over the horizon, fraction (-0.05 = -5%)")
    high: float = Field(gt=-1, description="highest return over the horizon, fraction")

    @model_validator(mode="before")
    @classmethod
    def _from_pair(cls, value):
        if isinstance(value, (list, tuple)):
            if len(value) != 2:
                raise ValueError(f"write a range as [low, high] (got {len(value)} numbers)")
            return {"low": value[0], "high": value[1]}
        return value

    @model_validator(mode="after")
    def _ordered(self) -> "ReturnRange":
        if self.low > self.high:
            raise ValueError(f"low {self.low} is above high {self.high}; write [low, high]")
        return self

    @property
    def mid(self) -> float:
        return 0.5 * (self.low + self.high)


class ScenarioConfig(StrictModel):
    probability: float = Field(ge=0, le=1, description="chance of this case; a set's probabilities sum to 1")
    description: str = Field("", description="free text, shown in reports")
    benchmark: ReturnRange = Field(description="benchmark total return over the horizon, [low, high]")
    groups: dict[str, ReturnRange] = Field(default_factory=dict, description="return range per universe group "
                                           "(a name in several listed groups takes the first)")
    vol_shift: float = Field(0.0, description="move of the hedges' implied vols in vol points (8 = VIX +8), "
                             "applied in parallel to every open option leg")


class StressWindow(StrictModel):
    """A historical window whose realised moves are replayed on today's portfolio."""

    start: dt.date = Field(description="first session of the window (moves count from the close before it)")
    end: dt.date = Field(description="last session of the window, included")

    @model_validator(mode="after")
    def _ordered(self) -> "StressWindow":
        if self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        return self


class ProbabilitySumError(ValueError):
    """Probabilities that do not sum to 1, with the key a user should change."""

    def __init__(self, key: str, message: str):
        self.key = key
        super().__init__(message)


class ScenarioSet(StrictModel):
    name: str = Field("outlook", pattern=r"^[A-Za-z0-9_.-]+$", description="name of the outlook")
    as_of: dt.date | None = Field(None, description="date the outlook was issued (default: the run's last session)")
    horizon: int = Field(15, ge=1, description="sessions the scenarios span (2–4 weeks ≈ 10–20)")
    beta_window: int = Field(252, ge=20, description="trailing sessions (≤ as_of) in each name's beta estimate")
    idiosyncratic: float = Field(0.02, ge=0, description="Monte Carlo: std. dev. of each name's own move "
                                 "over the horizon, added to its group or beta-driven move")
    simulations: int = Field(20_000, ge=100, description="Monte Carlo draws")
    seed: int = Field(0, description="Monte Carlo random seed")
    scenarios: dict[str, ScenarioConfig] = Field(min_length=1, description="the named cases")
    stress: dict[str, StressWindow] = Field(default_factory=dict, description="historical windows replayed on "
                                            "the portfolio (name: {start, end})")

    @field_validator("scenarios")
    @classmethod
    def _probabilities_sum_to_one(cls, scenarios: dict[str, ScenarioConfig]) -> dict[str, ScenarioConfig]:
        total = sum(s.probability for s in scenarios.values())
        if abs(total - 1.0) > PROBABILITY_TOLERANCE:
            last, scenario = list(scenarios.items())[-1]
            key = f"scenarios.{last}.probability"
            needed = scenario.probability + 1.0 - total
            raise ProbabilitySumError(key, f"probabilities sum to {total:g}, not 1: {key} is {scenario.probability:g}; "
                                      f"{needed:g} would make them sum to 1")
        return scenarios


def load_scenario_set(path: Path) -> ScenarioSet:
    """Read and validate a scenario-set YAML file; errors name the file and the key's dotted path."""
    path = Path(path)
    raw = read_yaml(path, "scenario-set file")
    return scenario_set_from(raw, path)


def scenario_set_from(raw, source: Path | str) -> ScenarioSet:
    """Validate a scenario-set tree; errors name ``source`` and the key's dotted path."""
    try:
        return ScenarioSet.model_validate(raw)
    except ValidationError as exc:
        raise _error(source, exc) from None


def _error(path: Path, exc: ValidationError) -> ConfigError:
    err = exc.errors()[0]
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, ProbabilitySumError):
        return ConfigError(path, cause.key, str(cause), "make the probabilities sum to 1")
    where = ".".join(str(part) for part in err["loc"]) or "<root>"
    message = err["msg"].removeprefix("Value error, ")
    return ConfigError(path, where, message if err["type"] != "extra_forbidden" else "unknown key")
