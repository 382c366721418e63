"""strategies.caps: hand-computed water-filling, the cap invariants on random rows, reasons."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from engine.sim.cap_kernel import cap_row_nb
from strategies.caps import CapsConfig, apply_caps, cap_reasons

ROOT = Path(__file__).resolve().parents[1]

TOL = 1e-12
NO_GROUPS = (np.zeros((5, 0), dtype=bool), np.zeros(0))


def semis_first_three(n=5):
    members = np.zeros((n, 1), dtype=bool)
    members[:3, 0] = True
    return members


def test_five_equal_names_with_name_and_group_caps_water_fill():
    # A,B,C (semis, cap 45%) 60% -> 15% each; the 15% cut goes to D,E (20% -> 27.5%), clipped at the
    # 25% name cap; the last 5% has nowhere to go: every name is capped, it stays in cash
    out = cap_row_nb(np.full(5, 0.2), np.full(5, 0.25), semis_first_three(), np.array([0.45]), 1.0, True)
    np.testing.assert_allclose(out, [0.15, 0.15, 0.15, 0.25, 0.25], rtol=0, atol=TOL)


def test_excess_to_cash_keeps_uncapped_names_where_they_were():
    out = cap_row_nb(np.full(5, 0.2), np.full(5, 0.25), semis_first_three(), np.array([0.45]), 1.0, False)
    np.testing.assert_allclose(out, [0.15, 0.15, 0.15, 0.2, 0.2], rtol=0, atol=TOL)


def test_water_fill_is_pro_rata_and_iterates_to_the_fixed_point():
    # A 40% -> 30% cap; its 10% goes to C and D in proportion 2:1 (B already at the cap)
    out = cap_row_nb(np.array([0.4, 0.3, 0.2, 0.1]), np.full(4, 0.3), np.zeros((4, 0), bool), np.zeros(0), 1.0, True)
    np.testing.assert_allclose(out, [0.3, 0.3, 0.2 + 0.1 * 2 / 3, 0.1 + 0.1 / 3], rtol=0, atol=TOL)
    # A and B give up 0.15; C and D take it 3:2 (C 0.24, D 0.16); C is over its 0.22 cap, so a
    # second round hands its 0.02 to D
    out = cap_row_nb(np.array([0.4, 0.35, 0.15, 0.1]), np.array([0.3, 0.3, 0.22, 0.5]), np.zeros((4, 0), bool),
                     np.zeros(0), 1.0, True)
    np.testing.assert_allclose(out, [0.3, 0.3, 0.22, 0.18], rtol=0, atol=TOL)


def test_a_name_in_two_groups_obeys_both_and_gross_and_cash_floor_scale_the_rest():
    members = np.array([[1, 0], [1, 1], [0, 1], [0, 0]], dtype=bool)  # B sits in both groups
    out = cap_row_nb(np.array([0.3, 0.3, 0.3, 0.1]), np.full(4, 1.0), members, np.array([0.5, 0.4]), 0.9, False)
    # g0 {A,B} 0.6 -> 0.5: A,B = 0.25; g1 {B,C} = 0.55 -> 0.4: B = 0.25*0.4/0.55, C = 0.3*0.4/0.55
    np.testing.assert_allclose(out, [0.25, 0.1 / 0.55, 0.12 / 0.55, 0.1], rtol=0, atol=TOL)
    # water-filling stops at the fixed point: after the clip A (in full g1 {A,B}) and B are closed; C
    # takes weight only until g0 {B,C} is full, though the row could in principle keep more with B at 0
    members = np.array([[0, 1], [1, 1], [1, 0]], dtype=bool)
    out = cap_row_nb(np.full(3, 0.0364583), np.full(3, np.inf), members, np.array([0.0546875, 0.0546875]), 1.0, True)
    b = 0.0364583 * 0.0546875 / 0.0729166 * 0.0546875 / (0.0364583 + 0.0364583 * 0.0546875 / 0.0729166)
    np.testing.assert_allclose(out, [0.0546875 - b, b, 0.0546875 - b], rtol=1e-6)
    capped, _ = apply_caps(pd.DataFrame([[0.5, 0.5]], columns=["A", "B"]), CapsConfig(cash_floor=0.2), {})
    np.testing.assert_allclose(capped.to_numpy(), [[0.4, 0.4]], rtol=0, atol=TOL)


def test_apply_caps_passes_undecided_rows_and_names_the_binding_cap():
    targets = pd.DataFrame([[0.112, 0.30, 0.25, 0.338], [np.nan] * 4, [0.5, np.nan, 0.1, 0.1]],
                           columns=["NVDA", "AMD", "MSFT", "META"])
    caps = CapsConfig(name=0.08, names={"META": 0.5}, groups={"semis": 0.35})
    groups = {"semis": ["NVDA", "AMD"], "hyperscalers": ["MSFT", "META"]}
    capped, reasons = apply_caps(targets, caps, groups, gross_limit=pd.Series([1.0, 1.0, 0.5]))
    assert capped.iloc[1].isna().all() and (reasons.iloc[1] == "").all()
    np.testing.assert_allclose(capped.iloc[0, :3], [0.08, 0.08, 0.08], rtol=0, atol=TOL)
    assert reasons.iat[0, 0] == "name cap 8%: 11.2% → 8.0%"
    assert reasons.iat[0, 3] == "excess from capped names: 33.8% → 50.0%"
    # third row: the regime's 0.5 keeps 0.5 of the 0.7 asked; NVDA and MSFT clip to 8%, META (cap 50%)
    # takes the other 0.34; NaN (leave) stays NaN and is not counted
    assert np.isnan(capped.iat[2, 1])
    np.testing.assert_allclose(capped.iloc[2, [0, 2, 3]], [0.08, 0.08, 0.34], rtol=0, atol=TOL)
    groups_only, why = apply_caps(targets.iloc[:1], CapsConfig(groups={"semis": 0.35}, excess="cash"), groups)
    assert why.iat[0, 1] == "group semis 35%: 30.0% → 25.5%"  # 0.30 x 0.35 / 0.412
    np.testing.assert_allclose(groups_only.iloc[0, :2].sum(), 0.35, rtol=0, atol=TOL)
    capped, why = apply_caps(pd.DataFrame([[0.6, 0.4]], columns=["A", "B"]), CapsConfig(gross=0.8), {})
    assert why.iat[0, 0] == "gross cap 80%: 60.0% → 48.0%"


def test_config_errors_name_the_problem():
    with pytest.raises(ValueError, match="not in universe.groups"):
        apply_caps(pd.DataFrame([[0.5]], columns=["A"]), CapsConfig(groups={"semi": 0.3}), {"semis": ["A"]})
    with pytest.raises(ValidationError, match=r"names caps must be in \(0, 1\]"):
        CapsConfig(names={"A": 1.5})
    with pytest.raises(ValidationError, match="excess"):
        CapsConfig(excess="spread")


@st.composite
def capped_rows(draw):
    n = draw(st.integers(1, 8))
    n_groups = draw(st.integers(0, 3))
    weights = np.array(draw(st.lists(st.floats(0, 1), min_size=n, max_size=n)))
    weights *= draw(st.floats(0.1, 1.2)) / max(weights.sum(), 1e-9)
    name_cap = np.array(draw(st.lists(st.sampled_from([np.inf, 0.05, 0.1, 0.2, 0.35, 0.6]), min_size=n, max_size=n)))
    members = np.array(draw(st.lists(st.booleans(), min_size=n * n_groups, max_size=n * n_groups)),
                       dtype=bool).reshape(n, n_groups)
    group_cap = np.array(draw(st.lists(st.floats(0.05, 0.9), min_size=n_groups, max_size=n_groups)))
    return weights, name_cap, members, group_cap, draw(st.floats(0.3, 1.0))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(capped_rows(), st.booleans())
def test_caps_hold_and_water_fill_keeps_the_sum_until_everything_is_capped(row, water_fill):
    weights, name_cap, members, group_cap, gross = row
    out = cap_row_nb(weights, name_cap, members, group_cap, gross, water_fill)
    assert (out >= 0).all() and (out <= name_cap + 1e-12).all()
    assert ((out[:, None] * members).sum(axis=0) <= group_cap + 1e-12).all()
    assert out.sum() <= gross + 1e-12
    if not water_fill:
        assert (out <= weights + 1e-12).all()  # cash mode never raises a weight
        return
    keep = min(weights.sum(), gross)
    if abs(out.sum() - keep) > 1e-9:
        # the sum falls short only when no name holding weight can take more
        full_groups = (out[:, None] * members).sum(axis=0) >= group_cap * (1 - 1e-9)
        boxed = (out >= name_cap * (1 - 1e-9)) | (members & full_groups).any(axis=1) | (out <= 1e-12)
        assert boxed.all()


def reference_cap_reason(before, after, name_cap, groups, gross_limit):
    """The reasons' rule cell by cell, as the caps stage worded them before it was vectorised."""
    move = f"{before:.1%} → {after:.1%}"
    if after > before:
        return f"excess from capped names: {move}"
    if after >= name_cap * (1 - 1e-9):
        return f"name cap {name_cap:.0%}: {move}"
    for group, cap, total in groups:
        if total >= cap * (1 - 1e-9):
            return f"group {group} {cap:.0%}: {move}"
    return f"gross cap {gross_limit:.0%}: {move}"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(capped_rows(), min_size=1, max_size=4), st.booleans(), st.data())
def test_cap_reasons_word_every_changed_cell_as_the_cell_by_cell_rule_does(rows, water_fill, data):
    n = min(len(r[0]) for r in rows)  # one universe: every row cut to the fewest names, the first row's caps
    _, name_cap, members, group_cap, _ = rows[0]
    name_cap, members = name_cap[:n], members[:n]
    before = np.array([r[0][:n] for r in rows])
    before[data.draw(st.lists(st.booleans(), min_size=len(rows), max_size=len(rows)))] = np.nan  # undecided rows
    limits = np.array([r[4] for r in rows])
    after = np.array([cap_row_nb(np.nan_to_num(b), name_cap, members, group_cap, g, water_fill) if not np.isnan(b).all()
                      else b for b, g in zip(before, limits)])
    changed = np.abs(np.nan_to_num(after) - np.nan_to_num(before)) > 1e-12
    names = [f"g{g}" for g in range(len(group_cap))]
    got = cap_reasons(before, after, changed, name_cap, names, members, group_cap, limits)
    for t, k in np.ndindex(changed.shape):
        row = np.nan_to_num(after[t])
        groups = [(names[g], group_cap[g], row[members[:, g]].sum()) for g in np.flatnonzero(members[k])]
        want = reference_cap_reason(before[t, k], after[t, k], name_cap[k], groups, limits[t]) if changed[t, k] else ""
        assert got[t, k] == want


def literal_arguments(source: str, kernel: str = "cap_row_nb") -> list[int]:
    """Line numbers of calls to ``kernel`` that pass a literal constant (numba types it as a Literal)."""
    return [node.lineno for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call)
            and getattr(node.func, "id", None) == kernel and any(isinstance(a, ast.Constant) for a in node.args)]


def test_every_caller_compiles_cap_row_nb_with_the_pipelines_signature():
    # a literal False/True argument is another numba type (Literal[bool]), so the simulation's caller compiled
    # the water-filling a second time on a first run (~0.8 s CPU); the pipeline calls it with a plain bool
    callers = [path for folder in ("engine", "strategies") for path in (ROOT / folder).rglob("*.py")
               if "cap_row_nb(" in path.read_text()]
    assert len(callers) >= 2
    assert {str(path.relative_to(ROOT)): literal_arguments(path.read_text()) for path in callers} == {
        str(path.relative_to(ROOT)): [] for path in callers}
    assert literal_arguments("trimmed = cap_row_nb(a, b, c, d, e, False)\n") == [1]  # the fault it guards against
