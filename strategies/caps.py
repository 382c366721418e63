"""Position caps: per-name, per-group and gross limits on target weights.

The column caps single names and themes so one winner cannot carry the book. A
decided row is capped in three steps: names are clipped to their cap, every group
over its cap is scaled down pro rata, and what is cut is either handed back pro
rata to the names still under all their caps (``water_fill``, repeated to the fixed
point: at most one round per name and group) or left in cash (``cash``). The total
never exceeds the gross limit (min of ``gross``, ``1 - cash_floor`` and the regime
overlay's cap for the session).

Each row is capped by ``engine.sim.cap_kernel.cap_row_nb``, the same kernel the simulation
applies between rebalances when prices push a name, a group or the gross past its cap plus
``band`` (see engine.sim.rule_kernels).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from engine.strict import StrictModel
from strategies.rule_types import RuleContext


class CapsConfig(StrictModel):
    """Caps on target weights, as fractions of equity (null = no cap)."""

    name: float | None = Field(None, gt=0, le=1, description="cap on every single name")
    names: dict[str, float] = Field(default_factory=dict, description="per-symbol caps overriding `name`")
    groups: dict[str, float] = Field(default_factory=dict, description="cap per universe group (universe.groups)")
    gross: float = Field(1.0, gt=0, le=1, description="cap on the sum of weights")
    cash_floor: float = Field(0.0, ge=0, lt=1, description="cash always kept: gross <= 1 - cash_floor")
    excess: Literal["water_fill", "cash"] = Field("water_fill", description="what happens to weight cut by a "
                                                  "cap: redistributed pro rata to uncapped names, or kept in cash")
    band: float = Field(0.01, ge=0, lt=1, description="drift tolerance between rebalances: trim a name, group "
                        "or the gross back to its cap once it is this far above it")

    @model_validator(mode="after")
    def _caps_in_range(self) -> "CapsConfig":
        for where, caps in (("names", self.names), ("groups", self.groups)):
            bad = {k: v for k, v in caps.items() if not 0 < v <= 1}
            if bad:
                raise ValueError(f"{where} caps must be in (0, 1]: {bad}")
        return self

    def build(self) -> "Caps":
        return Caps(self)

    def gross_limit(self) -> float:
        return min(self.gross, 1.0 - self.cash_floor)

    def name_caps(self, symbols: list[str]) -> np.ndarray:
        """Cap per symbol (inf = none)."""
        default = np.inf if self.name is None else self.name
        return np.array([self.names.get(s, default) for s in symbols], dtype=float)

    def group_arrays(self, symbols: list[str], groups: dict[str, list[str]]) -> tuple[list[str], np.ndarray, np.ndarray]:
        """(capped group names, membership symbols x groups, cap per group); unknown groups are an error."""
        unknown = sorted(set(self.groups) - set(groups))
        if unknown:
            raise ValueError(f"caps.groups names {unknown}, which are not in universe.groups ({sorted(groups)})")
        names = list(self.groups)
        members = np.array([[s in groups[g] for g in names] for s in symbols], dtype=np.bool_).reshape(
            len(symbols), len(names))
        return names, members, np.array([self.groups[g] for g in names], dtype=float)


@dataclass(frozen=True)
class Caps:
    """The caps stage: ``cap(ctx, standing, explain) -> (capped, reasons)`` (see apply_caps)."""

    config: CapsConfig

    def cap(self, ctx: RuleContext, standing: pd.DataFrame, explain: np.ndarray | None
            ) -> tuple[pd.DataFrame, pd.DataFrame]:
        return apply_caps(standing, self.config, ctx.groups, explain=explain)


def apply_caps(
    targets: pd.DataFrame, caps: CapsConfig, groups: dict[str, list[str]], gross_limit: pd.Series | None = None,
    explain: np.ndarray | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Capped targets and a reason per changed cell ('' elsewhere); all-NaN rows pass through.

    ``gross_limit`` (per session, from the regime overlay; NaN = no cap that session)
    is min'ed with ``caps.gross`` and ``1 - caps.cash_floor``. Reasons are written only
    on the rows where ``explain`` is True (default: every row): wording them is the slow part.
    """
    from engine.sim.cap_kernel import AT_CAP, cap_rows_nb  # numba, loaded when a run caps (not by the config)

    symbols = list(targets.columns)
    name_cap = caps.name_caps(symbols)
    group_names, group_of, group_cap = caps.group_arrays(symbols, groups)
    limits = np.full(len(targets), caps.gross_limit())
    if gross_limit is not None:
        regime = gross_limit.reindex(targets.index).to_numpy(dtype=float, na_value=np.nan)
        limits = np.fmin(limits, regime)
    # writable and C-ordered: cap_row_nb then has the simulation kernel's signature (one compile, not two)
    before = np.array(targets.to_numpy(dtype=float, na_value=np.nan), order="C")
    after = cap_rows_nb(before, name_cap, group_of, group_cap, limits, caps.excess == "water_fill")
    capped = pd.DataFrame(after, index=targets.index, columns=targets.columns)
    changed = np.abs(np.nan_to_num(after) - np.nan_to_num(before)) > AT_CAP
    if explain is not None:
        changed &= np.asarray(explain, dtype=bool)[:, None]
    reasons = cap_reasons(before, after, changed, name_cap, group_names, group_of, group_cap, limits)
    return capped, pd.DataFrame(reasons, index=targets.index, columns=targets.columns, dtype=object)


def cap_reasons(before: np.ndarray, after: np.ndarray, changed: np.ndarray, name_cap: np.ndarray,
                group_names: list[str], group_of: np.ndarray, group_cap: np.ndarray, limits: np.ndarray
                ) -> np.ndarray:
    """Why a cap moved each ``changed`` weight ('' elsewhere), worded over the changed cells at once: the binding
    name cap, else the first full group the name is in (its weight after capping at the cap), else the gross
    cap; a raise is water-filling."""
    reasons = np.full(changed.shape, "", dtype=object)
    t, k = np.nonzero(changed)
    if not len(t):
        return reasons
    was, now = before[t, k], after[t, k]
    group_weight = np.nan_to_num(after) @ group_of.astype(float)  # sessions x groups, after capping
    full = group_of[k] & (group_weight[t] >= group_cap * (1 - 1e-9))
    names = np.array([f"name cap {cap:.0%}: " for cap in name_cap], dtype=object)
    groups = np.array([f"group {g} {cap:.0%}: " for g, cap in zip(group_names, group_cap)] + [""], dtype=object)
    gross = np.array([f"gross cap {limit:.0%}: " for limit in limits], dtype=object)  # per session
    first_full = np.column_stack([full, np.ones(len(t), dtype=bool)]).argmax(axis=1)  # len(group_names): none
    why = np.where(now > was, "excess from capped names: ",
                   np.where(now >= name_cap[k] * (1 - 1e-9), names[k],
                            np.where(first_full < len(group_names), groups[first_full], gross[t])))
    reasons[t, k] = why + _percent(was) + " → " + _percent(now)
    return reasons


def _percent(weights: np.ndarray) -> np.ndarray:
    """'12.5%' per weight, each distinct weight formatted once (equal weights repeat over names and sessions)."""
    distinct, where = np.unique(weights, return_inverse=True)
    return np.array([f"{w:.1%}" for w in distinct.tolist()], dtype=object)[where.reshape(weights.shape)]
