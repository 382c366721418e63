"""One look-ahead harness for every rule: engine.run.audit on a config per registered rule.

The cases come from the registries, so a new rule is covered without a new test: every baseline
strategy (a weighting alone), every weighting kind of the rules config, every other
stage of ``rules:`` (each with its configs/column.yaml settings, on an equal weighting), every other
choice of a pipeline-wide setting (such as ``rules.freed_weight``, on the column's rules), and the
whole column config (every rule at once, the SPY put hedge, the event study's strategy windows and
the scenario betas, which every audit checks). Each case is audited at 3 cutoffs with both
perturbations (everything after T; everything from the close of T+1 with the open of T+1 kept).

A registered rule the harness cannot configure fails here, naming it, instead of going unchecked.
"""

from __future__ import annotations

from typing import Literal, get_args, get_origin

import pytest
import yaml

from engine.run.audit import audit
from engine.config.run_config import PROJECT_ROOT, RunConfig, kind_tag, models_in, resolve_paths
from engine.run.backtest import load_run_data
from strategies import registry

COLUMN = PROJECT_ROOT / "configs" / "column.yaml"
SYMBOLS = ["NVDA", "AMD", "AVGO", "MU", "INTC", "MSFT", "GOOGL", "AMZN", "ORCL", "VRT"]
PERIOD = {"start": "2021-01-04", "end": "2023-12-29"}
CUTOFFS = 3
# settings for kinds whose config has required keys (every other kind runs on its defaults)
EXAMPLES = {"fixed": {"weights": {"NVDA": 0.4, "MSFT": 0.3, "ORCL": 0.3}}}


def column_raw() -> dict:
    raw = yaml.safe_load(COLUMN.read_text())
    raw["universe"] = {"symbols": SYMBOLS, "groups": {
        name: [s for s in members if s in SYMBOLS] for name, members in raw["universe"]["groups"].items()
        if any(s in SYMBOLS for s in members)}}
    raw["period"] = PERIOD
    raw["report"] = {"enabled": False}
    raw["rules"]["caps"]["groups"] = {g: cap for g, cap in raw["rules"]["caps"]["groups"].items()
                                      if g in raw["universe"]["groups"]}
    return raw


def config(raw: dict) -> RunConfig:
    return resolve_paths(RunConfig.model_validate(raw), COLUMN)


def lookahead_cases() -> dict[str, dict]:
    """Case name -> raw config, one per registered rule, plus the whole column config."""
    base = column_raw()
    plain = {k: v for k, v in base.items() if k not in ("rules", "hedges", "event_study")}
    RulesConfig = registry.rules_model()
    cases = {f"strategy {kind}": {**plain, "strategy": {"kind": kind}}
             for kind in ("buy_and_hold", "equal_weight", "inverse_volatility")}
    for model in models_in(RulesConfig.model_fields["weighting"].annotation):
        kind = kind_tag(model)
        cases[f"weighting {kind}"] = {**plain, "rules": {"weighting": {"kind": kind, **EXAMPLES.get(kind, {})}}}
    for stage, field in RulesConfig.model_fields.items():
        if stage == "weighting":
            continue
        if get_origin(field.annotation) is Literal:  # a setting of the whole pipeline: each other choice
            for choice in (c for c in get_args(field.annotation) if c != field.default):
                cases[f"rules.{stage}={choice}"] = {**plain, "rules": {**base["rules"], stage: choice}}
            continue
        if stage not in base["rules"]:  # not in the column's config: the rule's registered example
            cases[f"rules.{stage}"] = {**plain, "rules": registry.examples()[stage]}
            continue
        cases[f"rules.{stage}"] = {**plain, "rules": {"weighting": {"kind": "equal"}, stage: base["rules"][stage]}}
    cases["column: every rule, hedges, event study"] = base
    return cases


CASES = lookahead_cases()


@pytest.mark.parametrize("case", sorted(CASES))
def test_nothing_decided_by_a_cutoff_moves_when_the_future_changes(case):
    raw = CASES[case]
    assert "missing" not in raw, (f"rules.{raw.get('missing')} has no settings in configs/column.yaml: add them "
                                  "there (or to EXAMPLES here) so the look-ahead harness covers the rule")
    run_config = config(raw)
    checks = audit(run_config, load_run_data(run_config), CUTOFFS)
    assert len(checks) == 2 * CUTOFFS
    moved = [f"{c.cutoff:%Y-%m-%d} ({c.perturbation}): {c.moved}" for c in checks if not c.clean]
    assert not moved, f"{case}: look-ahead found:\n" + "\n".join(moved)
