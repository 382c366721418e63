"""The base of every config model: unknown keys are errors, values are immutable.

Rule modules define their own config models on this base; engine.config.run_config
assembles them, so this module imports nothing from the project.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
