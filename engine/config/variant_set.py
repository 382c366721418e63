"""A config's variants as validated configs: the base plus every variant of a `variants:` block.

Each variant is the base tree plus its overrides, validated exactly like a config file, so a bad
path or value fails before anything runs, naming the variant and the key. The block comes from the
config itself or is given separately (``rulebook.compare(config, variants={...})``).
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
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
    with _collector_paused():
        for name, overrides in expand(base.variants, label):
            config = base if name == BASE else _validated(raw, label, anchor, name, overrides)
            variants.append(Variant(name, overrides, config.model_copy(update={"variants": None})))
    return variants


@contextmanager
def _collector_paused():
    """No cyclic garbage collection while the variants are validated: each config is thousands of objects
    that all stay alive, and every pass of the collector walked all the configs made so far (5,000 variants
    validated in 2.4 s of CPU instead of 0.6 s, 10,000 in 4.1 s instead of 1.2 s)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


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
