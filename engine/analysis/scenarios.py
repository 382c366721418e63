"""What a scenario set means for one portfolio: P&L per case, the expectation, a Monte Carlo.

A scenario moves factors: the benchmark and the groups it lists. Each name loads on one factor:
the first listed group that holds it (loading 1), else the benchmark (loading = its trailing
beta; the benchmark symbol itself 1). The low / mid / high P&L of a case put every factor at the
low end, the midpoint, the high end of its range; with uniform ranges the mid is the case's mean,
so the expectation is the probability-weighted mids. The Monte Carlo draws a case by probability,
each factor uniformly in its range (so names in a group move together and beta names with the
benchmark) and adds an independent normal move of ``idiosyncratic`` to every name but the benchmark.

Open option legs are repriced with BSM under the shocked underlying, the leg's implied vol moved
in parallel by the case's ``vol_shift`` (vol points) and time to expiry shortened by the horizon.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.hedges.options import DAYS_PER_YEAR, bsm_price
from engine.config.scenarios import ScenarioConfig, ScenarioSet

BENCHMARK = "benchmark"
MIN_VOL = 0.01
MIN_BETA_OBSERVATIONS = 20
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
HEDGE_LEG_COLUMNS = ["underlying", "right", "strike", "contracts", "spot", "vol", "rate", "tau", "price",
                     "multiplier", "div_yield"]


@dataclass(frozen=True)
class Portfolio:
    """A book on one session: stock positions and the open option legs beside them."""

    as_of: pd.Timestamp
    values: pd.Series  # position value per symbol, currency
    equity: float  # total equity (stock book + hedge cash + hedge value): the base of returns
    legs: pd.DataFrame  # HEDGE_LEG_COLUMNS, one row per open leg; empty without hedges
    benchmark: str | None


def estimate_betas(adjusted_close: pd.DataFrame, benchmark: str, as_of: pd.Timestamp, window: int) -> pd.Series:
    """Each column's beta to ``benchmark`` on the ``window`` daily returns ending at ``as_of`` (no later
    data); 1.0 for names with fewer than MIN_BETA_OBSERVATIONS returns there."""
    returns = adjusted_close.loc[:as_of].pct_change(fill_method=None).iloc[1:].tail(window)
    market = returns[benchmark]
    betas = {}
    for name in returns.columns:
        pair = pd.concat([returns[name], market], axis=1).dropna()
        enough = len(pair) >= MIN_BETA_OBSERVATIONS and pair.iloc[:, 1].var() > 0
        betas[name] = pair.iloc[:, 0].cov(pair.iloc[:, 1]) / pair.iloc[:, 1].var() if enough else 1.0
    betas[benchmark] = 1.0
    return pd.Series(betas, dtype=float)


def factor_names(scenario_set: ScenarioSet) -> list[str]:
    groups = {g: None for s in scenario_set.scenarios.values() for g in s.groups}
    return [BENCHMARK, *groups]


def loadings(scenario: ScenarioConfig, names: list[str], members: dict[str, list[str]], betas: pd.Series,
             factors: list[str], benchmark: str | None) -> np.ndarray:
    """names × factors: 1 on the first listed group holding the name, else beta on the benchmark."""
    matrix = np.zeros((len(names), len(factors)))
    for i, name in enumerate(names):
        group = next((g for g in scenario.groups if name in members.get(g, ())), None)
        if group is not None:
            matrix[i, factors.index(group)] = 1.0
        else:
            matrix[i, 0] = 1.0 if name == benchmark else float(betas.get(name, 1.0))
    return matrix


def factor_ends(scenario: ScenarioConfig, factors: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Low and high end of every factor's range (0 for groups the case does not list)."""
    ranges = {BENCHMARK: scenario.benchmark, **scenario.groups}
    low = np.array([ranges[f].low if f in ranges else 0.0 for f in factors])
    high = np.array([ranges[f].high if f in ranges else 0.0 for f in factors])
    return low, high


def hedge_pnl(legs: pd.DataFrame, underlying_returns: np.ndarray, vol_shift, horizon_days: float) -> np.ndarray:
    """Change in the legs' model value: ``underlying_returns`` is (..., n_legs), one return per leg."""
    if legs.empty:
        return np.zeros(np.shape(underlying_returns)[:-1])
    col = {name: legs[name].to_numpy(dtype=float) for name in HEDGE_LEG_COLUMNS if name not in ("underlying", "right")}
    vol = np.maximum(col["vol"] + np.asarray(vol_shift, dtype=float)[..., None] / 100.0, MIN_VOL)
    new_price = bsm_price(col["spot"] * (1.0 + underlying_returns), col["strike"],
                          np.maximum(col["tau"] - horizon_days / DAYS_PER_YEAR, 0.0), vol, col["rate"],
                          col["div_yield"], legs["right"].to_numpy() == "call")
    return ((new_price - col["price"]) * col["contracts"] * col["multiplier"]).sum(axis=-1)


class ImpactModel:
    """The portfolio's exposures to every factor of a scenario set, ready to evaluate P&L."""

    def __init__(self, portfolio: Portfolio, scenario_set: ScenarioSet, members: dict[str, list[str]],
                 betas: pd.Series, horizon_days: float):
        self.portfolio, self.set, self.horizon_days = portfolio, scenario_set, horizon_days
        self.names = list(dict.fromkeys([*portfolio.values.index, *portfolio.legs["underlying"]]))
        self.values = portfolio.values.reindex(self.names, fill_value=0.0).to_numpy(dtype=float)
        self.leg_columns = [self.names.index(u) for u in portfolio.legs["underlying"]]
        self.factors = factor_names(scenario_set)
        self.loadings = {key: loadings(s, self.names, members, betas, self.factors, portfolio.benchmark)
                         for key, s in scenario_set.scenarios.items()}

    def pnl(self, name_returns: np.ndarray, vol_shift) -> tuple[np.ndarray, np.ndarray]:
        """(stock P&L, hedge P&L) for name returns of shape (..., names)."""
        stock = name_returns @ self.values
        hedge = hedge_pnl(self.portfolio.legs, name_returns[..., self.leg_columns], vol_shift, self.horizon_days)
        return stock, hedge

    def case_rows(self) -> list[dict]:
        """Low / mid / high P&L of every case, and the probability-weighted expectation."""
        rows, expected = [], np.zeros(2)
        for key, scenario in self.set.scenarios.items():
            low, high = factor_ends(scenario, self.factors)
            for measure, ends in (("low", low), ("mid", 0.5 * (low + high)), ("high", high)):
                stock, hedge = self.pnl(self.loadings[key] @ ends, scenario.vol_shift)
                rows += self._rows(key, scenario.probability, measure, float(stock), float(hedge))
                if measure == "mid":
                    expected += scenario.probability * np.array([stock, stock + hedge])
        rows += [self._row("all", 1.0, "expected", hedged, value) for hedged, value in zip((False, True), expected)]
        return rows

    def monte_carlo(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Seeded draws: (case index, stock P&L, hedge P&L) per simulation."""
        rng = np.random.default_rng(self.set.seed)
        cases = list(self.set.scenarios.values())
        n = self.set.simulations
        drawn = rng.choice(len(cases), size=n, p=np.array([c.probability for c in cases]) / sum(c.probability for c in cases))
        uniform = rng.random((n, len(self.factors)))
        own = rng.standard_normal((n, len(self.names))) * self.set.idiosyncratic
        own[:, [i for i, name in enumerate(self.names) if name == self.portfolio.benchmark]] = 0.0
        returns, shifts = own, np.zeros(n)
        for k, (key, case) in enumerate(self.set.scenarios.items()):
            rows = drawn == k
            low, high = factor_ends(case, self.factors)
            returns[rows] += (low + uniform[rows] * (high - low)) @ self.loadings[key].T
            shifts[rows] = case.vol_shift
        stock, hedge = self.pnl(returns, shifts)
        return drawn, stock, hedge

    def distribution_rows(self) -> list[dict]:
        """Mean, loss probability and quantiles of the Monte Carlo P&L, overall and per case."""
        drawn, stock, hedge = self.monte_carlo()
        rows = []
        for k, (key, case) in enumerate([("all", None), *self.set.scenarios.items()]):
            mask = np.ones(len(drawn), bool) if case is None else drawn == k - 1
            if not mask.any():
                continue
            share = float(mask.mean())
            for hedged, pnl in ((False, stock[mask]), (True, stock[mask] + hedge[mask])):
                rows.append(self._row(key, share, "mc_mean", hedged, float(pnl.mean())))
                rows.append(self._row(key, share, "mc_loss_probability", hedged, float((pnl < 0).mean()),
                                      as_return=False))
                rows += [self._row(key, share, f"mc_q{round(q * 100):02d}", hedged, float(v))
                         for q, v in zip(QUANTILES, np.quantile(pnl, QUANTILES))]
        return rows

    def table(self) -> pd.DataFrame:
        """scenarios.parquet: one row per case × measure × hedged."""
        frame = pd.DataFrame(self.case_rows() + self.distribution_rows())
        return frame.assign(as_of=self.portfolio.as_of, set=self.set.name, horizon=self.set.horizon)

    def _rows(self, scenario: str, probability: float, measure: str, stock: float, hedge: float) -> list[dict]:
        return [self._row(scenario, probability, measure, False, stock),
                self._row(scenario, probability, measure, True, stock + hedge)]

    def _row(self, scenario: str, probability: float, measure: str, hedged: bool, value: float,
             as_return: bool = True) -> dict:
        """``pnl`` in currency (a probability for mc_loss_probability) and ``ret`` as a fraction of equity."""
        return {"scenario": scenario, "probability": probability, "measure": measure, "with_hedges": hedged,
                "pnl": value, "ret": value / self.portfolio.equity if as_return else np.nan}
