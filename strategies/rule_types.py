"""What every stateless rule receives and returns.

A rule sees the Dataset (row t known at the close of t), the universe and its
groups, and the rebalance calendar; it returns a frame on the session index plus,
where it acted, a human reason per cell ("coverage 2.9x < 4.0x") for the
rule-activity log.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from engine.data.dataset import Dataset


@dataclass(frozen=True)
class RuleContext:
    data: Dataset
    symbols: list[str]
    groups: dict[str, list[str]]  # named groups (config groups, else data themes)
    rebalance: np.ndarray  # bool per session: the weighting decides on these sessions

    @property
    def sessions(self) -> pd.DatetimeIndex:
        return self.data.sessions

    def frame(self, value) -> pd.DataFrame:
        """A sessions × symbols frame filled with ``value``."""
        return pd.DataFrame(value, index=self.data.sessions, columns=self.symbols)


@dataclass(frozen=True)
class RuleOutput:
    """``values``: the rule's frame (meaning set by its stage). ``reasons``: same shape, '' where
    the rule did nothing, else why it acted. ``no_buy``: optional bool frame, True where new
    buying of a name is blocked (event rules)."""

    values: pd.DataFrame | pd.Series
    reasons: pd.DataFrame | pd.Series
    no_buy: pd.DataFrame | None = field(default=None)
