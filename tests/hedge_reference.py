"""The hedge book of one stock book, package after package: the per-book loop engine.hedges.book ran before it
walked many books at once. It shares only the package prices (engine.hedges.pricing) with the engine, so the
engine's batched schedule walk, contract sizing, cash flows and session sums are checked against it."""

from __future__ import annotations

import numpy as np
import pandas as pd


def reference_book(pricings, bases: list[np.ndarray]) -> tuple[list[dict], np.ndarray, np.ndarray]:
    """(packages, hedge value, hedge cash) of one book: ``bases[i]`` is the value hedge i hedges per session.
    A package is {decided, number, contracts, value, premium, fees, settlement} (rows × legs arrays)."""
    packages = [package for pricing, base in zip(pricings, bases) for package in _packages(pricing, base)]
    return packages, *_session_sums(packages, pricings[0].n)


def _packages(pricing, base: np.ndarray) -> list[dict]:
    n, hedge = pricing.n, pricing.hedge
    ready = (base > 0) & pricing.ready
    scheduled = [s for s in range(n) if pricing.scheduled[s] and ready[s]]
    packages, start, roll_at = [], 0, None
    while True:
        if roll_at is not None and ready[roll_at]:
            decided = roll_at
        else:
            decided = next((s for s in scheduled if s >= start), None)
        if decided is None or decided + 1 >= n:
            break
        priced = pricing.package(decided)
        notional = base[decided] * pricing.scale[decided]
        counts = [leg.ratio * notional / (spot * hedge.costs.multiplier)
                  for leg, spot in zip(pricing.legs, priced.decision_spot)]
        contracts = np.array([round(c) if hedge.costs.whole_contracts else c for c in counts], dtype=float)
        bought = any(c != 0 for c in contracts)
        if bought:
            cash = contracts * priced.price * hedge.costs.multiplier
            packages.append({
                "decided": decided, "number": len(packages), "rows": priced.rows[:, 0], "contracts": contracts,
                "value": np.where(priced.closing, 0.0, cash),
                "premium": np.where(priced.opening, -cash, 0.0) + np.where(priced.sells, cash, 0.0),
                "fees": -np.where(priced.opening | priced.sells, np.abs(contracts) * priced.unit_cost, 0.0),
                "settlement": np.where(priced.settles, cash, 0.0)})
        if priced.close >= n:
            break
        start, roll_at = (priced.close, priced.close - 1) if bought else (decided + 1, None)
    return packages


def _session_sums(packages: list[dict], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per session, the rows' value and cumulative cash flow, summed by pandas' groupby in the rows' order."""
    if not packages:
        return np.zeros(n), np.zeros(n)
    session = np.concatenate([np.repeat(p["rows"], p["contracts"].size) for p in packages])
    flows = pd.DataFrame({"value": np.concatenate([p["value"].ravel() for p in packages]),
                          "cash": np.concatenate([(p["premium"] + p["fees"] + p["settlement"]).ravel()
                                                  for p in packages])})
    sums = flows.groupby(session).sum().reindex(range(n), fill_value=0.0)
    return sums["value"].to_numpy(), sums["cash"].cumsum().to_numpy()
