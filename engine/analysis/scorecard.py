"""Score an outlook against what happened: the case the realised moves fell in, and a Brier score.

Realised moves run from the close of the outlook's date to the close ``horizon`` sessions later
(total-return prices): the benchmark's, and each group's as the equal-weighted mean of its
members' returns. A factor's outcome is the case whose range holds the realised move (the
nearest range when none does; ties to the case listed first); cases that do not list a group
cannot be its outcome. The Brier score is Σ over cases (probability − outcome)², outcome 1 for
the matched case and 0 elsewhere: 0 is a perfect forecast, 2 the worst.
"""

from __future__ import annotations

import pandas as pd

from engine.errors import DataError
from engine.analysis.scenarios import BENCHMARK
from engine.config.scenarios import ReturnRange, ScenarioSet


def realised_moves(adjusted_close: pd.DataFrame, as_of: pd.Timestamp, horizon: int, benchmark: str,
                   members: dict[str, list[str]]) -> pd.Series:
    """Benchmark and group returns from the close of ``as_of`` to the close ``horizon`` sessions later."""
    sessions = adjusted_close.index
    start = sessions.searchsorted(as_of, side="right") - 1
    if start < 0 or start + horizon >= len(sessions):
        raise DataError("prices", None, f"no prices {horizon} sessions after {as_of.date()} to score the outlook",
                        "score an outlook whose horizon has passed, or extend the data")
    move = adjusted_close.iloc[start + horizon] / adjusted_close.iloc[start] - 1.0
    groups = {g: move.reindex(names).mean() for g, names in members.items()}
    return pd.Series({BENCHMARK: move[benchmark], **groups}, dtype=float)


def _distance(value: float, band: ReturnRange) -> float:
    return max(band.low - value, value - band.high, 0.0)


def score(scenario_set: ScenarioSet, realised: pd.Series) -> pd.DataFrame:
    """One row per factor (benchmark, then every group some case lists): realised move, matched case,
    whether it lay inside that case's range, and the Brier score."""
    cases = scenario_set.scenarios
    factors = [BENCHMARK, *dict.fromkeys(g for case in cases.values() for g in case.groups)]
    rows = []
    for factor in factors:
        value = realised.get(factor)
        if value is None or pd.isna(value):
            continue
        bands = {key: case.benchmark if factor == BENCHMARK else case.groups[factor]
                 for key, case in cases.items() if factor == BENCHMARK or factor in case.groups}
        matched = min(bands, key=lambda key: _distance(value, bands[key]))
        brier = sum((case.probability - (key == matched)) ** 2 for key, case in cases.items())
        rows.append({"factor": factor, "realised": float(value), "scenario": matched,
                     "inside": _distance(value, bands[matched]) == 0.0, "brier": brier})
    return pd.DataFrame(rows, columns=["factor", "realised", "scenario", "inside", "brier"])


def score_month_ends(scenario_set: ScenarioSet, adjusted_close: pd.DataFrame, benchmark: str,
                     members: dict[str, list[str]]) -> pd.DataFrame:
    """The set re-issued at every month-end session whose horizon lies inside the data, each scored."""
    sessions = adjusted_close.index
    month_ends = pd.Series(sessions, index=sessions).groupby(sessions.to_period("M")).last()
    scorable = [d for d in month_ends if sessions.get_loc(d) + scenario_set.horizon < len(sessions)]
    frames = [score(scenario_set, realised_moves(adjusted_close, d, scenario_set.horizon, benchmark, members))
              .assign(as_of=d) for d in scorable]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
