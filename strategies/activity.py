"""The rule-activity log: which rule changed which name's weight, when, and why.

Stages hand in (before, after, reasons) frames; the log keeps the cells where the
rule gave a reason and the weight actually moved, on sessions with a decision
(what the simulation is asked to do). Saved as rules.parquet in the run folder.
Reasons may be handed in as a function that words them: a sweep never reads the
log, so it never pays for the wording.
"""

from __future__ import annotations

from collections.abc import Callable

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

    def table(self, decided: pd.DataFrame) -> pd.DataFrame:
        """One row per (session, symbol, rule) that moved a weight on a decision cell."""
        parts = []
        for rule, before, after, reasons in self._stages:
            reasons = reasons() if callable(reasons) else reasons
            moved = (after.fillna(0.0) - before.fillna(0.0)).abs() > MOVE_TOLERANCE
            keep = moved & (reasons.fillna("") != "") & decided.reindex_like(moved).fillna(False).astype(bool)
            if not keep.to_numpy().any():
                continue
            cells = keep.stack()
            cells = cells[cells].index
            parts.append(pd.DataFrame({
                "session": cells.get_level_values(0),
                "symbol": cells.get_level_values(1).astype(str),
                "rule": rule,
                "before": before.stack(future_stack=True).reindex(cells).to_numpy(dtype=float),
                "after": after.stack(future_stack=True).reindex(cells).to_numpy(dtype=float),
                "reason": reasons.stack(future_stack=True).reindex(cells).astype(str).to_numpy(),
            }))
        if not parts:
            return empty_activity()
        return pd.concat(parts, ignore_index=True).sort_values(["session", "symbol"], kind="stable", ignore_index=True)


def empty_activity() -> pd.DataFrame:
    return pd.DataFrame({
        "session": pd.Series(dtype="datetime64[ns]"), "symbol": pd.Series(dtype=str),
        "rule": pd.Series(dtype=str), "before": pd.Series(dtype=float), "after": pd.Series(dtype=float),
        "reason": pd.Series(dtype=str),
    })
