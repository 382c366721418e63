"""The example configs a user reaches for run as they are: configs/column.yaml carries its outlook
(the same set as configs/scenarios/column_outlook.yaml) and a variants block over the column's rules."""

from __future__ import annotations

import re
from pathlib import Path

from engine.config.run_config import load_config
from engine.config.scenarios import load_scenario_set
from engine.config.variant_set import load_variants

ROOT = Path(__file__).resolve().parents[1]
COLUMN = ROOT / "configs" / "column.yaml"


def test_the_column_config_carries_the_column_outlook() -> None:
    carried = load_config(COLUMN).scenarios
    assert carried is not None
    assert carried.model_dump() == load_scenario_set(ROOT / "configs/scenarios/column_outlook.yaml").model_dump()


def test_the_column_variants_sweep_the_columns_rules_and_validate() -> None:
    variants = load_variants(COLUMN)
    names = [variant.name for variant in variants]
    assert names[0] == "base" and len(names) == 1 + 9 + 4
    configs = {variant.name: variant.config for variant in variants}
    assert {c.rules.caps.name for c in configs.values()} == {0.06, 0.08, 0.10}
    assert {c.rules.profit_taking.trailing_stop for c in configs.values()} == {0.10, 0.15, 0.25}
    assert {c.rules.staged_entry.tranches for c in configs.values()} == {2, 3, 5}
    assert {c.rules.screen.min_interest_coverage for c in configs.values()} == {3.0, 4.0, 6.0}


def test_the_readme_compare_example_points_at_a_config_with_variants() -> None:
    readme = (ROOT / "README.md").read_text()
    targets = set(re.findall(r"rulebook compare (\S+\.yaml)", readme))
    assert targets and all(load_config(ROOT / target).variants is not None for target in targets)
