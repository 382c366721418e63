"""Variant expansion: grid, zip and named variants on hand examples; bad overrides name the variant and key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import ConfigError
from engine.config.variant_set import load_variants
from engine.config.variants import BASE, VariantsConfig, expand, variant_name

BASE_CONFIG = {
    "name": "sweep",
    "universe": {"symbols": ["NVDA", "AMD", "MSFT"], "groups": {"semis": ["NVDA", "AMD"]}},
    "rules": {
        "weighting": {"kind": "equal"},
        "caps": {"name": 0.4, "groups": {"semis": 0.6}},
        "profit_taking": {"stages": [{"gain": 0.2, "sell": 0.5}], "trailing_stop": 0.1},
    },
}


def write(tmp_path: Path, variants: dict) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump({**BASE_CONFIG, "variants": variants}))
    return path


def test_grid_is_the_cartesian_product_in_order_after_the_base():
    got = expand(VariantsConfig(grid={"rules.caps.name": [0.06, 0.08], "rules.profit_taking.trailing_stop": [0.1, 0.2]}))
    assert got == [
        (BASE, {}),
        ("caps.name=0.06,profit_taking.trailing_stop=0.1", {"rules.caps.name": 0.06, "rules.profit_taking.trailing_stop": 0.1}),
        ("caps.name=0.06,profit_taking.trailing_stop=0.2", {"rules.caps.name": 0.06, "rules.profit_taking.trailing_stop": 0.2}),
        ("caps.name=0.08,profit_taking.trailing_stop=0.1", {"rules.caps.name": 0.08, "rules.profit_taking.trailing_stop": 0.1}),
        ("caps.name=0.08,profit_taking.trailing_stop=0.2", {"rules.caps.name": 0.08, "rules.profit_taking.trailing_stop": 0.2}),
    ]


def test_zip_advances_together_and_crosses_the_grid_then_named_variants_follow():
    got = expand(VariantsConfig(
        grid={"execution.fees_bps": [0, 10]},
        zip={"rules.caps.name": [0.05, 0.1], "rules.caps.gross": [0.9, 1.0]},
        named={"no_caps": {"rules.caps": None}},
    ))
    assert [overrides for _, overrides in got] == [
        {},
        {"execution.fees_bps": 0, "rules.caps.name": 0.05, "rules.caps.gross": 0.9},
        {"execution.fees_bps": 0, "rules.caps.name": 0.1, "rules.caps.gross": 1.0},
        {"execution.fees_bps": 10, "rules.caps.name": 0.05, "rules.caps.gross": 0.9},
        {"execution.fees_bps": 10, "rules.caps.name": 0.1, "rules.caps.gross": 1.0},
        {"rules.caps": None},
    ]
    assert got[1][0] == "execution.fees_bps=0,caps.name=0.05,caps.gross=0.9"
    assert got[-1][0] == "no_caps"


@given(st.dictionaries(st.sampled_from(["a.x", "a.y", "b", "c.d.e"]),
                       st.lists(st.integers(-5, 5), min_size=1, max_size=3, unique=True), max_size=3))
def test_grid_size_is_the_product_of_the_lists_and_names_are_unique(grid):
    got = expand(VariantsConfig(grid=grid))
    size = 1
    for values in grid.values():
        size *= len(values)
    assert len(got) == 1 + (size if grid else 0)
    assert len({name for name, _ in got}) == len(got)


def test_zip_lists_of_different_lengths_and_a_named_base_are_refused():
    with pytest.raises(ValueError, match="equal lengths"):
        VariantsConfig(zip={"a": [1, 2], "b": [1]})
    with pytest.raises(ValueError, match="base"):
        VariantsConfig(named={"base": {"a": 1}})
    assert variant_name({"rules.caps.groups": {"semis": 0.3}, "name": "x"}) == 'caps.groups={"semis":0.3},name=x'


def test_loaded_variants_are_the_base_config_plus_overrides(tmp_path):
    path = write(tmp_path, {"grid": {"rules.caps.name": [0.3, 0.5]},
                            "named": {"second_stage": {"rules.profit_taking.stages.0.gain": 0.3}}})
    base, low, high, named = load_variants(path)
    assert base.name == BASE and base.config.rules.caps.name == 0.4 and base.config.variants is None
    assert (low.config.rules.caps.name, high.config.rules.caps.name) == (0.3, 0.5)
    assert low.config.rules.caps.groups == {"semis": 0.6}  # everything else as in the base
    assert named.config.rules.profit_taking.stages[0].gain == 0.3
    assert named.config.rules.profit_taking.stages[0].sell == 0.5


@pytest.mark.parametrize("variants, variant, key", [
    ({"grid": {"rules.caps.nmae": [0.1]}}, "caps.nmae=0.1", "rules.caps.nmae"),
    ({"grid": {"rules.caps.name": [0.1, 1.5]}}, "caps.name=1.5", "rules.caps.name"),
    ({"named": {"tight": {"rules.profit_taking.trailing_stop": -1}}}, "tight", "rules.profit_taking.trailing_stop"),
    ({"named": {"deep": {"rules.caps.name.x": 1}}}, "deep", "rules.caps.name.x"),
    ({"named": {"far": {"rules.profit_taking.stages.3.gain": 1}}}, "far", "rules.profit_taking.stages.3.gain"),
])
def test_a_bad_path_or_value_is_a_config_error_naming_the_variant_and_the_key(tmp_path, variants, variant, key):
    with pytest.raises(ConfigError) as caught:
        load_variants(write(tmp_path, variants))
    assert caught.value.path == key
    assert f"variant '{variant}'" in str(caught.value)


def test_each_variant_changes_only_its_own_copy_of_the_tree(tmp_path):
    """Overrides are set on copies of the mappings and lists on their paths (the rest is shared, not deep
    copied): no variant sees another's values, the base keeps its own, and a new section is the variant's."""
    variants = load_variants(write(tmp_path, {"named": {
        "deep": {"rules.profit_taking.stages.0.gain": 0.5, "rules.caps.groups.semis": 0.3},
        "fresh": {"rules.staged_entry.tranches": 3, "hedges": None},
        "stop": {"rules.profit_taking.trailing_stop": 0.2}}}))
    by_name = {v.name: v.config.rules for v in variants}
    assert [by_name[n].profit_taking.stages[0].gain for n in ("base", "deep", "fresh", "stop")] == [0.2, 0.5, 0.2, 0.2]
    assert [by_name[n].caps.groups["semis"] for n in ("base", "deep", "fresh", "stop")] == [0.6, 0.3, 0.6, 0.6]
    assert [by_name[n].profit_taking.trailing_stop for n in ("base", "deep", "fresh", "stop")] == [0.1, 0.1, 0.1, 0.2]
    assert by_name["fresh"].staged_entry.tranches == 3 and by_name["base"].staged_entry is None
    assert by_name["stop"].staged_entry is None


def test_validating_with_overrides_leaves_the_callers_tree_intact(tmp_path):
    """validate_raw copies only the top level and the overrides' paths (no deep copy): the tree it was given,
    nested lists included, is unchanged, and the overrides and emptied sections apply to the config only."""
    import copy

    from engine.config.run_config import validate_raw

    raw = {**copy.deepcopy(BASE_CONFIG), "period": None}
    before = copy.deepcopy(raw)
    config = validate_raw(raw, "<test>", tmp_path / "x.yaml", {"rules.profit_taking.stages.0.gain": 0.5,
                                                               "rules.caps.groups.semis": 0.3,
                                                               "rules.staged_entry.tranches": 3})
    assert raw == before
    assert config.rules.profit_taking.stages[0].gain == 0.5 and config.rules.caps.groups["semis"] == 0.3
    assert config.rules.staged_entry.tranches == 3 and config.period is not None


def test_the_garbage_collector_runs_again_after_the_variants_are_validated(tmp_path):
    """load_variants pauses the collector while it validates (its passes walked every config made so far):
    on success and on a bad variant it is switched back on, and left off if the caller had it off."""
    import gc

    load_variants(write(tmp_path, {"grid": {"rules.caps.name": [0.3, 0.5]}}))
    assert gc.isenabled()
    with pytest.raises(ConfigError):
        load_variants(write(tmp_path, {"grid": {"rules.caps.name": [0.3, 1.5]}}))
    assert gc.isenabled()
    gc.disable()
    try:
        load_variants(write(tmp_path, {"grid": {"rules.caps.name": [0.3]}}))
        assert not gc.isenabled()
    finally:
        gc.enable()
