"""The cap water-filling of rows of weights, compiled: by name, by group and gross.

Two callers use it, so it lives below both: the caps rule (strategies.caps, through cap_rows_nb) on
every decided row before the simulation, and the simulation's cap-drift trims (engine.sim.rule_kernels)
between rebalances. strategies.caps documents the three steps. Every compiled kernel of the caps lives
in this file, one of engine.sim.kernel_cache's KERNEL_SOURCES.
"""

from __future__ import annotations

import numpy as np

from engine.sim.kernel_cache import kernel

# weights closer than this to a cap count as at the cap (float noise)
AT_CAP = 1e-12


@kernel(inline="always")
def _clip_nb(out, name_cap, group_of, group_cap):
    """Names to their caps, then every group over its cap scaled down pro rata."""
    for k in range(out.shape[0]):
        if out[k] > name_cap[k]:
            out[k] = name_cap[k]
    for g in range(group_cap.shape[0]):
        total = 0.0
        for k in range(out.shape[0]):
            if group_of[k, g] and out[k] > 0:
                total += out[k]
        if total > group_cap[g]:
            factor = group_cap[g] / total
            for k in range(out.shape[0]):
                if group_of[k, g] and out[k] > 0:
                    out[k] *= factor


@kernel(inline="always")
def _open_mask_nb(out, name_cap, group_of, group_cap):
    """Names that can still take weight: held (above AT_CAP), under their cap, in no group at its cap."""
    n, n_groups = out.shape[0], group_cap.shape[0]
    group_full = np.zeros(n_groups, dtype=np.bool_)
    for g in range(n_groups):
        total = 0.0
        for k in range(n):
            if group_of[k, g] and out[k] > 0:
                total += out[k]
        group_full[g] = total >= group_cap[g] * (1 - AT_CAP)
    is_open = np.zeros(n, dtype=np.bool_)
    for k in range(n):
        # a weight within AT_CAP of zero takes no excess: scaling it pro rata would overflow
        if not out[k] > AT_CAP or out[k] >= name_cap[k] * (1 - AT_CAP):
            continue
        is_open[k] = True
        for g in range(n_groups):
            if group_of[k, g] and group_full[g]:
                is_open[k] = False
    return is_open


@kernel
def cap_row_nb(weights, name_cap, group_of, group_cap, gross_limit, water_fill):
    """One row of weights (NaN = not decided, passed through) capped by name, group and gross.

    ``group_of`` is a bool matrix names x groups (a name may sit in several groups).
    With ``water_fill`` the weight cut is handed back pro rata to the open names (under
    their cap, in no group at its cap) until it is used up (the row keeps min(its sum,
    gross_limit)) or no name is open. Written as loops, not array expressions: the same sums
    in the same order, and a fraction of the compile time.
    """
    n, n_groups = weights.shape[0], group_cap.shape[0]
    out = np.empty(n)
    for k in range(n):
        out[k] = 0.0 if np.isnan(weights[k]) else weights[k]
    keep = min(_sum_nb(out), gross_limit)
    _clip_nb(out, name_cap, group_of, group_cap)
    if water_fill:
        # each round raises the open names pro rata until the excess is used up or the first name or
        # group reaches its cap (closing it): at most one round per name and group, never overshooting
        for _ in range(n + n_groups + 1):
            excess = keep - _sum_nb(out)
            if excess <= AT_CAP:
                break
            is_open = _open_mask_nb(out, name_cap, group_of, group_cap)
            open_total = 0.0
            for k in range(n):
                if is_open[k]:
                    open_total += out[k]
            if open_total <= 0:
                break
            factor = 1.0 + excess / open_total
            for k in range(n):
                if is_open[k]:
                    factor = min(factor, name_cap[k] / out[k])
            for g in range(n_groups):
                open_in_group, in_group = 0.0, 0.0
                for k in range(n):
                    if group_of[k, g]:
                        in_group += out[k]
                        if is_open[k]:
                            open_in_group += out[k]
                if open_in_group > 0:
                    factor = min(factor, 1.0 + (group_cap[g] - in_group) / open_in_group)
            for k in range(n):
                if is_open[k]:
                    out[k] *= factor
    total = _sum_nb(out)
    for k in range(n):
        if np.isnan(weights[k]):
            out[k] = np.nan
        elif total > gross_limit:
            out[k] *= gross_limit / total
    return out


@kernel(inline="always")
def _sum_nb(values):
    total = 0.0
    for value in values:
        total += value
    return total


@kernel
def cap_rows_nb(values, name_cap, group_of, group_cap, gross_limits, water_fill):
    """cap_row_nb on every decided row (rows all NaN are not decisions and pass through). Rows are
    copied element by element: ``out[t] = row`` compiles numba's shape-mismatch error message, a few
    seconds of a first run."""
    out = values.copy()
    for t in range(values.shape[0]):
        for value in values[t]:
            if not np.isnan(value):
                row = cap_row_nb(values[t], name_cap, group_of, group_cap, gross_limits[t], water_fill)
                for k in range(row.shape[0]):
                    out[t, k] = row[k]
                break
    return out
