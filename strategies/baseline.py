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

from engine.dataset import Dataset
from strategies.schedule import Frequency, check_frequency, rebalance_sessions


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


def _normalised(scores: pd.DataFrame) -> pd.DataFrame:
    """Scale each row's scores to sum to 1; NaN scores (ineligible) and empty rows get 0."""
    totals = scores.sum(axis=1, min_count=1)
    return scores.div(totals, axis=0).fillna(0.0)


def _equal_among_priced(close: pd.DataFrame) -> pd.DataFrame:
    """Every name with a close on a session shares that session's equity equally."""
    ones = pd.DataFrame(1.0, index=close.index, columns=close.columns)
    return _normalised(ones.where(close.notna()))


def _on_decisions(weights: pd.DataFrame, decides: np.ndarray) -> pd.DataFrame:
    """Keep the rows a strategy decides on; every other row becomes all NaN."""
    return weights.where(pd.Series(decides, index=weights.index), axis=0)


@dataclass(frozen=True)
class BuyAndHold:
    """Equal weight among the names priced on the first session, bought once, never rebalanced."""

    def target_weights(self, data: Dataset, symbols: Sequence[str]) -> pd.DataFrame:
        close = _requested(data.close, symbols)
        decides = np.zeros(len(close), dtype=bool)
        decides[:1] = True
        return _on_decisions(_equal_among_priced(close), decides)


@dataclass(frozen=True)
class EqualWeight:
    """Equal weight among the names priced on each rebalance session."""

    rebalance: Frequency = "monthly"

    def __post_init__(self) -> None:
        check_frequency(self.rebalance)

    def target_weights(self, data: Dataset, symbols: Sequence[str]) -> pd.DataFrame:
        close = _requested(data.close, symbols)
        decides = rebalance_sessions(close.index, self.rebalance)
        return _on_decisions(_equal_among_priced(close), decides)


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
        if self.lookback < 2:
            raise ValueError(
                f"lookback must be at least 2 returns to estimate a volatility, got {self.lookback}"
            )

    def target_weights(self, data: Dataset, symbols: Sequence[str]) -> pd.DataFrame:
        prices = _requested(data.adjusted("close"), symbols)
        log_returns = np.log(prices).diff()
        sigma = log_returns.rolling(self.lookback, min_periods=self.lookback).std(ddof=1)
        weights = _normalised(1.0 / sigma.where(sigma > 0))
        return _on_decisions(weights, rebalance_sessions(prices.index, self.rebalance))
