"""Merging an import into a dataset table it already holds, the same way for every importer.

Rows belong to a group (a symbol, a market series) and are identified by key columns
within it. ``append`` keeps the group's old rows, replacing those whose key the import
brings again (counted as updated); ``replace`` drops the group's old rows first
(counted as removed). Groups the import does not touch are kept as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from engine.errors import DataError

MODES = ("append", "replace")


@dataclass
class MergeCount:
    """What merging did to one group."""

    rows: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0


def check_mode(mode: str) -> None:
    if mode not in MODES:
        raise DataError("--mode", None, f"unknown mode {mode!r}", f"use one of {', '.join(MODES)}")


def merge_groups(existing: pd.DataFrame | None, new: pd.DataFrame, group: str, keys: list[str],
                 mode: str) -> tuple[pd.DataFrame, dict[str, MergeCount]]:
    """``existing`` with ``new`` merged in per ``group``; returns the merged rows and a count per new group."""
    check_mode(mode)
    groups = list(dict.fromkeys(new[group].astype(str)))
    if existing is None or existing.empty:
        counts = {name: MergeCount(rows=int((new[group] == name).sum()), added=int((new[group] == name).sum()))
                  for name in groups}
        return new.reset_index(drop=True), counts
    mine = existing[group].astype(str).isin(groups)
    old = existing[mine]
    if mode == "append":
        seen = pd.MultiIndex.from_frame(new[[group] + keys].astype({group: str}))
        again = pd.MultiIndex.from_frame(old[[group] + keys].astype({group: str})).isin(seen)
    else:
        again = pd.Series(True, index=old.index).to_numpy()
    kept = old[~again]
    counts = {}
    for name in groups:
        before = int((old[group].astype(str) == name).sum())
        stays = int((kept[group].astype(str) == name).sum())
        brought = int((new[group].astype(str) == name).sum())
        dropped = before - stays
        counts[name] = MergeCount(rows=stays + brought, added=brought - (dropped if mode == "append" else 0),
                                  updated=dropped if mode == "append" else 0,
                                  removed=dropped if mode == "replace" else 0)
    merged = pd.concat([existing[~mine], kept, new], ignore_index=True)
    return merged, counts
