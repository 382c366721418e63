"""The rule-activity log: which rule changed which name's weight, when, and why.

Stages hand in (before, after, reasons) frames; the log keeps the cells where the
rule gave a reason and the weight actually moved, on sessions with a decision
(what the simulation is asked to do). Saved as rules.parquet in the run folder.
Reasons may be handed in as a function that words them: a sweep never reads the
log, so it never pays for the wording.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

COLUMNS = ["session", "symbol", "rule", "before", "after", "reason"]
MOVE_TOLERANCE = 1e-12


class ActivityLog:
    def __init__(self) -> None:
        self._stages: list[tuple[str, pd.DataFrame, pd.DataFrame, pd.DataFrame | Callable[[], pd.DataFrame]]] = []

    def record(self, rule: str, before: pd.DataFrame, after: pd.DataFrame,
               reasons: pd.DataFrame | Callable[[], pd.DataFrame]) -> None:
        """Remember one stage's effect; ``reasons`` (or what it returns) is '' where the rule did not act."""
        self._stages.append((rule, before, after, reasons))

    def copy(self) -> ActivityLog:
        """A log with this one's records so far, to which records can be added without changing this one."""
        log = ActivityLog()
        log._stages = list(self._stages)
        return log

    def table(self, decided: pd.DataFrame) -> pd.DataFrame:
        """One row per (session, symbol, rule) that moved a weight on a decision cell."""
        parts = []
        for rule, before, after, reasons in self._stages:
            reasons = reasons() if callable(reasons) else reasons
            was, now = before.to_numpy(dtype=float), _cells(after, before, float)
            moved = np.abs(np.where(np.isnan(now), 0.0, now) - np.where(np.isnan(was), 0.0, was)) > MOVE_TOLERANCE
            t, k = np.nonzero(moved & _cells(decided, before, bool))  # row-major, the order stack() gave
            why = _cells(reasons, before, object)[t, k]
            explained = (why != "") & ~pd.isna(why)  # the reason is read on the moved decision cells only
            t, k, why = t[explained], k[explained], why[explained]
            if not len(t):
                continue
            parts.append(pd.DataFrame({
                "session": before.index[t], "symbol": before.columns[k].astype(str), "rule": rule,
                "before": was[t, k], "after": now[t, k], "reason": [str(text) for text in why],
            }))
        if not parts:
            return empty_activity()
        return pd.concat(parts, ignore_index=True).sort_values(["session", "symbol"], kind="stable", ignore_index=True)


def _cells(frame: pd.DataFrame, like: pd.DataFrame, dtype) -> np.ndarray:
    """``frame``'s cells on ``like``'s labels as numpy (a missing label: NaN, or False for flags)."""
    if not (frame.index.equals(like.index) and frame.columns.equals(like.columns)):
        frame = frame.reindex_like(like)
        frame = frame.fillna(False).astype(bool) if dtype is bool else frame
    return frame.to_numpy(dtype=dtype)


def empty_activity() -> pd.DataFrame:
    return pd.DataFrame({
        "session": pd.Series(dtype="datetime64[ns]"), "symbol": pd.Series(dtype=str),
        "rule": pd.Series(dtype=str), "before": pd.Series(dtype=float), "after": pd.Series(dtype=float),
        "reason": pd.Series(dtype=str),
    })
