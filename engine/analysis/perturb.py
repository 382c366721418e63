"""Counterfactual futures for the look-ahead audit: a Dataset whose inputs after a cutoff T are redrawn.

Two perturbations of the same draw:

- ``after``: everything learned after the close of T changes: open, high, low, close and
  volume of every session after T, the market series after T, fundamentals filed on or after
  T's date (the contract makes a filing usable from the first session strictly after its filing
  date, so one filed on T is not known at T's close) and events whose first tradable session
  is after T (half are dropped, the rest moved a few sessions later).
- ``same_session``: the same, except that the open of T+1 is kept: an order decided at T and
  filled at that open must fill exactly as before; only the rest of T+1 (high, low, close,
  volume) and later sessions change.

What counts as known is decided here from the raw dates (``filed``, ``session_date``), not
from a Dataset's derived columns, so a loader that mis-dates ``known`` is caught too.
Prices move by independent log-normal factors per cell (open and close apart), fundamentals
by log-uniform factors between 1/10 and 10, enough to flip screens and rankings.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from engine.data.dataset import Dataset

PERTURBATIONS = ("after", "same_session")
PRICE_NOISE = 0.15  # log-sd of the price factors
MARKET_NOISE = 0.3  # log-sd of the market-series factors
FUNDAMENTAL_RANGE = 10.0  # fundamentals scaled by factors in [1/10, 10]
EVENT_SHIFT = 5  # surviving events move 1..5 sessions later


def perturbed(data: Dataset, cutoff: pd.Timestamp, kind: str, seed: int) -> Dataset:
    """``data`` with its future after ``cutoff`` redrawn (see the module docstring)."""
    if kind not in PERTURBATIONS:
        raise ValueError(f"perturbed: kind '{kind}' is not one of {PERTURBATIONS}")
    rng = np.random.default_rng(seed)
    sessions = data.sessions
    at = sessions.get_loc(cutoff)
    later = np.arange(len(sessions)) > at
    moved = {name: _scaled(getattr(data, name), later, rng, PRICE_NOISE) for name in ("open", "close", "volume")}
    if kind == "same_session" and at + 1 < len(sessions):
        moved["open"].iloc[at + 1] = data.open.iloc[at + 1]
    high = _scaled(data.high, later, rng, PRICE_NOISE)
    low = _scaled(data.low, later, rng, PRICE_NOISE)
    past = np.broadcast_to(~later[:, None], high.shape)  # a redrawn bar still brackets its open and close
    moved["high"] = high.where(past, np.fmax(high, np.fmax(moved["open"], moved["close"])))
    moved["low"] = low.where(past, np.fmin(low, np.fmin(moved["open"], moved["close"])))
    if len(data.market):
        market_later = np.asarray(data.market.index > cutoff)
        moved["market"] = _scaled(data.market, market_later, rng, MARKET_NOISE)
    if len(data.fundamentals):
        moved["fundamentals"] = _fundamentals(data.fundamentals, cutoff, rng)
    if len(data.events):
        moved["events"] = _events(data.events, sessions, cutoff, rng)
    return dataclasses.replace(data, **moved)


def _scaled(frame: pd.DataFrame, rows: np.ndarray, rng: np.random.Generator, noise: float) -> pd.DataFrame:
    """``frame`` with the cells of ``rows`` times independent log-normal factors."""
    factors = np.where(rows[:, None], np.exp(rng.normal(0.0, noise, frame.shape)), 1.0)
    return frame * factors


def _fundamentals(fundamentals: pd.DataFrame, cutoff: pd.Timestamp, rng: np.random.Generator) -> pd.DataFrame:
    """Filings made on or after the cutoff's date get new values (each figure its own factor)."""
    out = fundamentals.copy()
    future = (out["filed"] >= cutoff.normalize()).to_numpy()
    numeric = [c for c in out.columns if pd.api.types.is_float_dtype(out[c])]
    factors = np.exp(rng.uniform(-np.log(FUNDAMENTAL_RANGE), np.log(FUNDAMENTAL_RANGE), (future.sum(), len(numeric))))
    out.loc[future, numeric] = out.loc[future, numeric].to_numpy() * factors
    return out


def _events(events: pd.DataFrame, sessions: pd.DatetimeIndex, cutoff: pd.Timestamp,
            rng: np.random.Generator) -> pd.DataFrame:
    """Events first tradable after the cutoff: half dropped, the rest moved 1..EVENT_SHIFT sessions later."""
    future = (events["session_date"] > cutoff).to_numpy()
    keep = ~future | (rng.random(len(events)) < 0.5)
    out = events[keep].copy()
    shifted = future[keep]
    if shifted.any():
        at = np.minimum(sessions.searchsorted(out.loc[shifted, "session_date"]) +
                        rng.integers(1, EVENT_SHIFT + 1, shifted.sum()), len(sessions) - 1)
        out.loc[shifted, "session_date"] = sessions[at]
        out.loc[shifted, "date"] = sessions[at]
    return out.reset_index(drop=True)
