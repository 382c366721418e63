"""The `event_study:` section of a run config (the study itself: engine.analysis.event_run)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from engine.data.events import EventKind
from engine.strict import StrictModel


class EventStudyConfig(StrictModel):
    """The `event_study:` section of a run config."""

    enabled: bool = Field(False, description="run the event study after `rulebook run`")
    file: Path | None = Field(None, description="events CSV/Parquet, relative to the config; "
                              "empty = the dataset's events table")
    window: tuple[int, int] = Field((-10, 20), description="event window, sessions before/after day 0")
    estimation: tuple[int, int] = Field((-250, -30), description="market-model estimation window, "
                                        "sessions relative to day 0")
    kinds: list[EventKind] | None = Field(None, description="event kinds studied; empty = all")
    bootstrap: int = Field(2000, ge=100, description="bootstrap resamples of the confidence intervals")
    seed: int = Field(0, description="seed of the bootstrap, so summaries are reproducible")

    @model_validator(mode="after")
    def _windows(self) -> "EventStudyConfig":
        (pre, post), (first, last) = self.window, self.estimation
        if not pre <= 0 <= post:
            raise ValueError(f"window {list(self.window)} must contain day 0: write [before <= 0, after >= 0]")
        if not first < last < pre:
            raise ValueError(f"estimation {list(self.estimation)} must be [start, end] with start < end < "
                             f"the window start {pre}, so the event does not leak into its own market model")
        return self
