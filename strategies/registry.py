"""The rule registry: every rule a config can name, with its stage, config model and implementation.

A rule is registered once, as a ``Rule``: its name (the key under ``rules:``, or for a
weighting the ``kind``), its stage, its config model (a StrictModel whose ``build()`` returns
the object implementing the stage's protocol, strategies.rule_types) and, for a path-dependent
rule, its kernel declaration (engine.sim.rule_layout.StatefulRule). The config's ``rules:``
model (``rules_model()``), the README's config reference and the pipeline's stage lists are all
read from here, so a registered rule is configurable, documented and run without editing core
files. A config names a registered rule; it never imports a module or evaluates code.

Rules come from three places: the shipped ones (``SHIPPED_MODULES``, each module's ``RULES``),
the ``rulebook.rules`` entry-point group (each entry point is a callable, called once with no
arguments, that calls ``register_rule``), and ``register_rule`` itself. Importing this module or
the shipped rules imports neither numba nor vectorbt (tests/test_import_boundary.py): a
path-dependent rule names its compiled step by module (strategies.steps), loaded when a
simulation first needs it.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from importlib.metadata import entry_points
from typing import Annotated, Any, Literal, Union, get_args

from pydantic import BaseModel, Field, create_model

from engine.strict import StrictModel
from engine.sim.rule_layout import KernelLayout
from strategies.rule_types import STAGES, Rule

ENTRY_POINT_GROUP = "rulebook.rules"
SHIPPED_MODULES = ("strategies.selection", "strategies.screens", "strategies.weighting", "strategies.event_rules",
                   "strategies.regime", "strategies.cap_drift", "strategies.profit_taking", "strategies.stop_loss",
                   "strategies.drawdown_exit", "strategies.staged_entry")


class RulesBase(StrictModel):
    """The base of the generated ``rules:`` model: the pipeline-wide settings (each rule adds its key)."""

    freed_weight: Literal["cash", "reweight"] = Field(
        "cash", description="an excluded name's weight between rebalances: kept in cash until the next rebalance, "
        "or shared at once by the other eligible names (that session rebalances)")

    @property
    def needs_kernel(self) -> bool:
        """Some switched-on rule must run inside the simulation (path-dependent, cap drift, no-buy masks)."""
        return any(r.uses_kernel(block) for stage in STAGES for r, block in configured(self, stage))


_RULES: dict[str, Rule] = {}
_ORDERED: dict[tuple[str | None, int], list[Rule]] = {}  # rules(stage) by (stage, number of rules)
_loaded = False
_models: dict[str, type[BaseModel]] = {}


def register_rule(rule: Rule) -> Rule:
    """Add a rule to the registry (a config can then name it). Names are unique across stages;
    a weighting rule's config model must have ``kind: Literal[name]`` and a ``rebalance`` field
    (subclass strategies.weighting.WeightingRule)."""
    _ensure_loaded()
    _add(rule)
    _refresh_models()
    return rule


def rules(stage: str | None = None) -> list[Rule]:
    """The registered rules (of one stage), in stage order, then registration order."""
    _ensure_loaded()
    key = (stage, len(_RULES))  # rules are only ever added: the count says whether the order is stale
    if key not in _ORDERED:  # sorted once, not on each of a sweep's ~17 calls per variant
        ordered = sorted(_RULES.values(), key=lambda r: STAGES.index(r.stage))
        _ORDERED[key] = [r for r in ordered if stage is None or r.stage == stage]
    return list(_ORDERED[key])


def rule(name: str) -> Rule:
    _ensure_loaded()
    return _RULES[name]


def examples() -> dict[str, dict[str, Any]]:
    """Every registered rule with a small valid ``rules:`` section using it (a weighting alone for
    weighting rules; an equal weighting plus the rule otherwise): what a harness runs each rule with."""
    out = {}
    for r in rules():
        if r.stage == "weighting":
            out[r.name] = {"weighting": r.example}
        else:
            out[r.name] = {"weighting": {"kind": "equal"}, r.name: [r.example] if r.many else r.example}
    return out


def configured(rules_config: BaseModel, stage: str) -> Iterator[tuple[Rule, Any]]:
    """(rule, block) for each rule of ``stage`` switched on in a ``rules:`` config (one per list item)."""
    for r in rules(stage):
        if r.stage == "weighting":
            if rules_config.weighting.kind_name == r.name:
                yield r, rules_config.weighting
            continue
        block = getattr(rules_config, r.name, None)
        for item in (block if r.many else [block]) if block is not None else []:
            yield r, item


def kernel_layout():
    """Where each registered path-dependent rule sits in the simulation kernel's inputs."""
    _ensure_loaded()
    return _models["kernel"]


def rules_model() -> type[BaseModel]:
    """The ``rules:`` section's model, generated from the registry (cached until a rule registers)."""
    _ensure_loaded()
    return _models["rules"]


def weighting_union() -> Any:
    """The registered weighting configs as one union discriminated by ``kind``."""
    _ensure_loaded()
    return _models["weighting"]


def _add(rule: Rule) -> None:
    if rule.stage not in STAGES:
        raise ValueError(f"rule '{rule.name}': stage '{rule.stage}' is not one of {', '.join(STAGES)}")
    if rule.name in _RULES:
        raise ValueError(f"a rule named '{rule.name}' is already registered (stage {_RULES[rule.name].stage}); "
                         "choose another name")
    if rule.stage == "weighting":
        kind = rule.config.model_fields.get("kind")
        if kind is None or rule.name not in get_args(kind.annotation):
            raise ValueError(f"weighting rule '{rule.name}': its config needs kind: Literal['{rule.name}']")
    elif rule.name in ("weighting", "kind"):
        raise ValueError(f"'{rule.name}' is reserved in the rules: section; choose another name")
    _RULES[rule.name] = rule


def _ensure_loaded() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in SHIPPED_MODULES:
        for r in importlib.import_module(module).RULES:
            _add(r)
    for point in entry_points(group=ENTRY_POINT_GROUP):
        point.load()()
    _refresh_models()


def _refresh_models() -> None:
    """Rebuild the rules model and put it into the RunConfig model (if loaded)."""
    union = Annotated[Union[tuple(r.config for r in rules("weighting"))], Field(discriminator="kind")]
    fields: dict[str, Any] = {}
    for r in rules():
        if r.stage == "weighting":
            fields.setdefault("weighting", (union, Field(description="how eligible names are weighted on rebalance "
                                                          "sessions")))
        elif r.many:
            fields[r.name] = (list[r.config], Field(default_factory=list, description=r.description))
        else:
            fields[r.name] = (r.config | None, Field(None, description=r.description))
    _models["weighting"] = union
    _models["kernel"] = KernelLayout(tuple(r.kernel for r in rules() if r.kernel is not None))
    _models["rules"] = create_model("RulesConfig", __base__=RulesBase, __module__=RulesBase.__module__, **fields)
    use = getattr(sys.modules.get("engine.config.run_config"), "use_rule_models", None)
    if use is not None:  # a rule registered after the config models were built: update them
        use(_models["rules"], union)

