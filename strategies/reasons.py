"""Human reasons for the rule-activity log, written only where a rule acts.

Rules compute on whole frames; formatting text is the one per-cell step, so it
runs over the acting cells only ('' everywhere else).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

Frame = pd.DataFrame | pd.Series


def cell_text(acts: Frame, describe: Callable[..., str], *values: Frame) -> Frame:
    """``describe(v1, v2, ...)`` in the cells where ``acts`` is True, '' elsewhere.

    ``values`` are frames (or scalars) aligned with ``acts``; each acting cell
    passes its own values to ``describe``, which is called once per distinct tuple of
    values (a figure repeats over the sessions until the next filing), so it must depend
    on its arguments only.
    """
    mask = np.asarray(acts, dtype=bool)
    out = np.full(mask.shape, "", dtype=object)
    where = np.nonzero(mask)
    columns = [np.broadcast_to(np.asarray(v), mask.shape)[where] for v in values]
    if not columns or not len(where[0]):
        out[where] = describe() if len(where[0]) else ""
        return _like(acts, out)
    group = np.zeros(len(where[0]), dtype=np.int64)
    for column in columns:  # one group per distinct tuple of values (NaN is one value)
        code, unique = pd.factorize(column, use_na_sentinel=False)
        group = pd.factorize(group * len(unique) + code)[0]
    _, first, inverse = np.unique(group, return_index=True, return_inverse=True)
    cells = [np.asarray(column[first], dtype=object) for column in columns]  # Python scalars, as a cell's own
    out[where] = np.array([describe(*cell) for cell in zip(*cells)], dtype=object)[inverse]
    return _like(acts, out)


def join_reasons(*reasons: Frame) -> Frame:
    """The non-empty reasons of each cell, joined with '; '."""
    first = reasons[0]
    joined = np.array(first, dtype=object)
    for more in reasons[1:]:
        more = np.asarray(more, dtype=object)
        empty, more_empty = joined == "", more == ""
        both = ~empty & ~more_empty  # only those cells are concatenated
        joined[both] = joined[both] + "; " + more[both]
        joined[empty] = more[empty]
    return _like(first, joined)


def compared(value: float, op: str, limit: float, decimals: int = 1, suffix: str = "") -> str:
    """'value op limit' with enough decimals to tell the two apart: '3.96x < 4.00x', not '4.0x < 4.0x'."""
    for places in range(decimals, decimals + 4):
        shown, bound = f"{value:.{places}f}{suffix}", f"{limit:.{places}f}{suffix}"
        if shown != bound:
            break
    return f"{shown} {op} {bound}"


def money(usd: float) -> str:
    """A dollar amount the way a trader reads it: 3.1M, 5.0M, 1.2B, -16.7B."""
    for unit, size in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(usd) >= size:
            return f"{usd / size:.1f}{unit}"
    return f"{usd:.0f}"


def _like(template: Frame, values: np.ndarray) -> Frame:
    if isinstance(template, pd.Series):
        return pd.Series(values, index=template.index, name=template.name, dtype=object)
    return pd.DataFrame(values, index=template.index, columns=template.columns, dtype=object)
