"""Baseline strategies: the yardsticks every rule is compared against.

Each returns target weights decided at the close of session t (row t) from rows
<= t only; the simulator fills them at the next session. Rows where no decision
is taken are all NaN. In a decided row every requested name gets a number:
eligible names share the equity, ineligible ones (not priced today, or without
enough history) get 0 so that a delisted name is sold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from engine.data.dataset import Dataset
from strategies.rule_types import RuleContext
from strategies.schedule import Frequency, check_frequency, rebalance_sessions
from strategies.weighting import EqualWeights, InverseVolatilityWeights


class Strategy(Protocol):
    def target_weights(self, data: Dataset, symbols: Sequence[str]) -> pd.DataFrame: ...


def _requested(frame: pd.DataFrame, symbols: Sequence[str]) -> pd.DataFrame:
    """The columns of ``frame`` for ``symbols``, failing loudly on a name the data lacks."""
    repeated = sorted({s for s in symbols if list(symbols).count(s) > 1})
    if repeated:
        raise ValueError(f"symbols {repeated} are listed more than once; list each name once")
    missing = [s for s in symbols if s not in frame.columns]
    if missing:
        raise ValueError(
            f"symbols {missing} are not in the dataset (it has {list(frame.columns)}); "
            "load them or remove them from the strategy's universe"
        )
    return frame[list(symbols)]


def _context(data: Dataset, symbols: Sequence[str], decides: np.ndarray) -> RuleContext:
    return RuleContext(data, list(symbols), {}, decides)


@dataclass(frozen=True)
class BuyAndHold:
    """Equal weight among the names priced on the first session, bought once, never rebalanced."""

    def target_weights(self, data: Dataset, symbols: Sequence[str]) -> pd.DataFrame:
        close = _requested(data.close, symbols)
        decides = np.zeros(len(close), dtype=bool)
        decides[:1] = True
        return EqualWeights().weigh(_context(data, symbols, decides), close.notna())


@dataclass(frozen=True)
class EqualWeight:
    """Equal weight among the names priced on each rebalance session."""

    rebalance: Frequency = "monthly"

    def __post_init__(self) -> None:
        check_frequency(self.rebalance)

    def target_weights(self, data: Dataset, symbols: Sequence[str]) -> pd.DataFrame:
        close = _requested(data.close, symbols)
        decides = rebalance_sessions(close.index, self.rebalance)
        return EqualWeights().weigh(_context(data, symbols, decides), close.notna())


@dataclass(frozen=True)
class InverseVolatility:
    """Weights proportional to 1/sigma of the last ``lookback`` daily total-return log returns.

    A name needs ``lookback`` consecutive valid returns ending at t (hence a close
    at t) and a positive sigma; a constant price has no risk to scale by and is
    left out rather than given an infinite weight.
    """

    rebalance: Frequency = "monthly"
    lookback: int = 63

    def __post_init__(self) -> None:
        check_frequency(self.rebalance)
        InverseVolatilityWeights(self.lookback)  # rejects a lookback too short to estimate a volatility

    def target_weights(self, data: Dataset, symbols: Sequence[str]) -> pd.DataFrame:
        close = _requested(data.close, symbols)
        decides = rebalance_sessions(close.index, self.rebalance)
        return InverseVolatilityWeights(self.lookback).weigh(_context(data, symbols, decides), close.notna())
