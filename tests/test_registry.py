"""The rule registry: what it refuses, what it generates, and registration after import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from engine.config.run_config import RunConfig
from strategies import registry
from strategies.rule_types import Rule
from strategies.selection import SelectionConfig
from strategies.weighting import WeightingRule

ROOT = Path(__file__).resolve().parents[1]
UNIVERSE = {"symbols": ["NVDA", "MSFT", "AVGO"]}


def test_every_registered_rule_has_a_key_and_a_valid_example():
    fields = registry.rules_model().model_fields
    examples = registry.examples()
    for rule in registry.rules():
        assert rule.stage == "weighting" or rule.name in fields
        config = RunConfig.model_validate({"name": "t", "universe": UNIVERSE, "rules": examples[rule.name]})
        blocks = [block for r, block in registry.configured(config.rules, rule.stage) if r is rule]
        assert len(blocks) == 1 and config.rules.needs_kernel == (rule.kernel is not None or rule.name == "events"
                                                                  and blocks[0].action == "block_buys")


def test_the_kernel_layout_is_derived_from_the_declarations():
    layout = registry.kernel_layout()
    names = [k.name for k in layout.rules]
    assert names == [r.kernel.name for r in registry.rules() if r.kernel is not None]
    widths = [k.width for k in layout.rules]
    assert layout.n_params == sum(widths) and list(layout.param_at.values()) == [sum(widths[:i]) for i in range(len(widths))]
    assert [c.rule for c in layout.codes[:2]] == ["reentry_block", "no_buy"]
    assert {c.rule for c in layout.codes} >= {"profit_taking", "trailing_stop", "stop_loss", "drawdown_exit",
                                              "staged_entry", "caps_drift"}


def test_registration_refuses_clashes_and_incomplete_weightings():
    with pytest.raises(ValueError, match="already registered"):
        registry.register_rule(Rule("selection", "screen", SelectionConfig, "again", {}))
    with pytest.raises(ValueError, match="kind: Literal\\['mine'\\]"):
        registry.register_rule(Rule("mine", "weighting", WeightingRule, "no kind", {}))
    with pytest.raises(ValueError, match="reserved"):
        registry.register_rule(Rule("weighting", "screen", SelectionConfig, "a key the rules: section uses", {}))
    with pytest.raises(ValueError, match="stage 'nowhere'"):
        registry.register_rule(Rule("lost", "nowhere", SelectionConfig, "no such stage", {}))
    assert "mine" not in {r.name for r in registry.rules()}


def test_a_baseline_strategy_is_a_weighting_alone():
    config = RunConfig.model_validate({"name": "t", "universe": UNIVERSE, "strategy": {"kind": "equal_weight"}})
    assert config.pipeline.weighting == config.strategy and not config.pipeline.needs_kernel
    with pytest.raises(ValidationError, match="'buy_and_hold', 'equal', 'equal_weight'"):
        RunConfig.model_validate({"name": "t", "universe": UNIVERSE, "strategy": {"kind": "momentum"}})


REGISTER_AFTER_IMPORT = """
from typing import Literal
from pydantic import Field
from engine.config.run_config import RunConfig, load_config
from engine.config.reference import markdown
from strategies.registry import register_rule
from strategies.rule_types import Rule
from strategies.weighting import EqualWeights, WeightingRule

class FlatWeighting(WeightingRule):
    kind: Literal["flat"]
    tilt: float = Field(0.0, description="unused: a key of the rule's own")
    def build(self):
        return EqualWeights()

register_rule(Rule("flat", "weighting", FlatWeighting, "equal weights, a plugin's spelling", {"kind": "flat"}))
config = RunConfig.model_validate({"name": "t", "universe": {"symbols": ["NVDA"]},
                                   "rules": {"weighting": {"kind": "flat", "tilt": 1.0}}})
print(type(config.rules.weighting).__name__, "rules.weighting.tilt" in markdown())
try:
    RunConfig.model_validate({"name": "t", "universe": {"symbols": ["NVDA"]},
                              "strategy": {"kind": "flat", "tlt": 1.0}})
except Exception as exc:
    print(type(exc).__name__, "tlt" in str(exc))
"""


def test_a_rule_registered_after_import_is_configurable_and_documented():
    done = subprocess.run([sys.executable, "-c", REGISTER_AFTER_IMPORT], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT, timeout=300)
    assert done.stdout.split() == ["FlatWeighting", "True", "ValidationError", "True"], done.stderr


def test_a_step_is_named_by_module_and_loaded_on_first_use():
    from engine.sim.rule_layout import StatefulRule
    from strategies.steps.stop_loss import stop_loss_step

    def declared(step):
        return StatefulRule("x", "exit", (), (), (), step, lambda block, symbols: {})

    assert declared("strategies.steps.stop_loss:stop_loss_step").step_function() is stop_loss_step
    assert declared(stop_loss_step).step_function() is stop_loss_step  # a function object works too
    with pytest.raises(ValueError, match="rule 'x': cannot load its step 'strategies.steps.nowhere:f'"):
        declared("strategies.steps.nowhere:f").step_function()
    with pytest.raises(ValueError, match="neither a function nor 'module:function'"):
        declared("strategies.steps.stop_loss.stop_loss_step")
