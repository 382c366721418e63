"""The pipeline's numpy shortcuts against the pandas they replaced: how long an exclusion is held, how reasons
are joined and worded (hypothesis, random masks with excluded runs across rebalances, empty and full cells)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from strategies.activity import ActivityLog
from strategies.pipeline import held_until_rebalance
from strategies.reasons import cell_text, join_reasons


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 40), st.integers(1, 5), st.integers(0, 2**32 - 1), st.floats(0, 1), st.floats(0, 1))
def test_an_exclusion_is_held_to_the_end_of_its_rebalance_period_as_groupby_cummax_holds_it(
        n, m, seed, excluded_share, rebalance_share):
    rng = np.random.default_rng(seed)
    excluded = pd.DataFrame(rng.random((n, m)) < excluded_share, columns=[f"S{k}" for k in range(m)])
    rebalance = rng.random(n) < rebalance_share
    want = excluded.groupby(np.cumsum(rebalance)).cummax()
    pd.testing.assert_frame_equal(held_until_rebalance(excluded, rebalance), want)


def test_a_held_exclusion_ends_at_the_next_rebalance_row_itself():
    excluded = pd.DataFrame({"A": [False, True, False, False, False]})
    held = held_until_rebalance(excluded, np.array([True, False, False, True, False]))
    assert held["A"].tolist() == [False, True, True, False, False]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["", "a", "b c"]), min_size=6, max_size=6), min_size=1, max_size=4))
def test_joined_reasons_are_the_non_empty_ones_in_order(columns):
    frames = [pd.DataFrame(np.array(c, dtype=object).reshape(3, 2), dtype=object) for c in columns]
    joined = join_reasons(*frames)
    for i, j in np.ndindex(3, 2):
        assert joined.iat[i, j] == "; ".join(f.iat[i, j] for f in frames if f.iat[i, j])
    assert (frames[0].to_numpy() == np.array(columns[0], dtype=object).reshape(3, 2)).all()  # inputs unchanged


def test_cell_text_words_each_acting_cell_from_its_own_values_once_per_distinct_values():
    calls = []

    def describe(value, source):
        calls.append((value, source))
        return f"{value:.1f} ({source})"

    acts = pd.DataFrame([[True, False], [True, True], [True, True]])
    values = pd.DataFrame([[1.0, 9.0], [1.0, 2.0], [np.nan, 2.0]])
    sources = pd.DataFrame([["q1", "q9"], ["q1", "q2"], ["q3", "q2b"]], dtype=object)
    out = cell_text(acts, describe, values, sources)
    assert out.to_numpy().tolist() == [["1.0 (q1)", ""], ["1.0 (q1)", "2.0 (q2)"], ["nan (q3)", "2.0 (q2b)"]]
    assert sorted(map(str, calls)) == sorted(map(str, [(1.0, "q1"), (2.0, "q2"), (np.nan, "q3"), (2.0, "q2b")]))


def stacked_activity(stages, decided):
    """The activity table as ActivityLog.table built it with stack and reindex, before numpy."""
    parts = []
    for rule, before, after, reasons in stages:
        moved = (after.fillna(0.0) - before.fillna(0.0)).abs() > 1e-12
        keep = moved & (reasons.fillna("") != "") & decided.reindex_like(moved).fillna(False).astype(bool)
        if not keep.to_numpy().any():
            continue
        cells = keep.stack()
        cells = cells[cells].index
        parts.append(pd.DataFrame({
            "session": cells.get_level_values(0), "symbol": cells.get_level_values(1).astype(str), "rule": rule,
            "before": before.stack(future_stack=True).reindex(cells).to_numpy(dtype=float),
            "after": after.stack(future_stack=True).reindex(cells).to_numpy(dtype=float),
            "reason": reasons.stack(future_stack=True).reindex(cells).astype(str).to_numpy()}))
    if not parts:
        return None
    return pd.concat(parts, ignore_index=True).sort_values(["session", "symbol"], kind="stable", ignore_index=True)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 12), st.integers(1, 4), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_the_activity_table_holds_the_rows_stack_and_reindex_gave(n, m, n_stages, seed):
    rng = np.random.default_rng(seed)
    index, columns = pd.bdate_range("2025-01-06", periods=n), [f"S{k}" for k in range(m)]

    def weights():
        return pd.DataFrame(np.where(rng.random((n, m)) < 0.2, np.nan, rng.choice([0.0, 0.1, 0.25], (n, m))),
                            index=index, columns=columns)

    stages = []
    for stage in range(n_stages):
        reasons = rng.choice(np.array(["", "capped", "screened", None], dtype=object), (n, m))
        stages.append((f"rule{stage}", weights(), weights(), pd.DataFrame(reasons, index=index, columns=columns,
                                                                             dtype=object)))
    decided = pd.DataFrame(rng.random((n, m)) < 0.7, index=index, columns=columns)
    log = ActivityLog()
    for stage in stages:
        log.record(*stage)
    table = log.table(decided)
    want = stacked_activity(stages, decided)
    if want is None:
        assert table.empty
    else:
        pd.testing.assert_frame_equal(table, want)
