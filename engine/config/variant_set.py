"""A config's variants as validated configs: the base plus every variant of a `variants:` block.

Each variant is the base tree plus its overrides, validated exactly like a config file, so a bad
path or value fails before anything runs, naming the variant and the key. The block comes from the
config itself or is given separately (``rulebook.compare(config, variants={...})``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.config.run_config import ConfigSource, RunConfig, copied_along, raw_config, set_dotted, validate_raw
from engine.config.variants import BASE, Variant, VariantsConfig, expand
from engine.errors import ConfigError


def load_variants(source: ConfigSource, block: VariantsConfig | dict | None = None) -> list[Variant]:
    """The base config and every variant (base first), from a YAML path, a dict or a RunConfig.

    ``block`` replaces the config's own `variants:` block (a dict is validated like the YAML block)."""
    raw, label, anchor = raw_config(source)
    if block is not None:
        raw["variants"] = block.model_dump(mode="json") if isinstance(block, VariantsConfig) else block
    base = validate_raw(raw, label, anchor)  # the tree's own errors, reported as for `rulebook run`
    raw.pop("variants", None)
    variants = []
    for name, overrides in expand(base.variants, label):
        config = base if name == BASE else _validated(raw, label, anchor, name, overrides)
        variants.append(Variant(name, overrides, config.model_copy(update={"variants": None})))
    return variants


def _validated(raw: dict, label: str, anchor: Path, name: str, overrides: dict[str, Any]) -> RunConfig:
    context = f"in variant '{name}': "
    tree = copied_along(raw, overrides)
    for dotted, value in overrides.items():
        set_dotted(tree, dotted, value, label, context)
    try:
        return validate_raw(tree, label, anchor)
    except ConfigError as error:
        raise ConfigError(label, error.path, context + error.problem,
                          error.fix or "fix the value in the variants block") from None
