"""Rule variants: a config's `variants:` block expanded into named, validated configs.

Users tune caps, profit-taking stages and screens by listing values instead of
copying configs. ``grid`` is a cartesian product over dotted parameter paths,
``zip`` advances lists of equal length together (one more axis of the product),
``named`` adds explicit variants. The base config is always variant "base". Each
variant is the base YAML plus its overrides, validated exactly like a config file,
so a bad path or value fails before anything runs, naming the variant and the key.
"""

from __future__ import annotations

import itertools
import math
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from engine.errors import ConfigError
from engine.strict import StrictModel

BASE = "base"
MAX_VARIANTS = 20_000  # one sweep's variants (README "Comparing variants"); split a larger sweep into configs


class VariantsConfig(StrictModel):
    """Variants of the base config compared by `rulebook compare` (paths are dotted, from the config root)."""

    grid: dict[str, list[Any]] = Field(default_factory=dict, description="every combination of these values, "
                                       "e.g. {rules.caps.name: [0.06, 0.08]}")
    zip: dict[str, list[Any]] = Field(default_factory=dict, description="lists of equal length advanced together "
                                      "(crossed with the grid)")
    named: dict[str, dict[str, Any]] = Field(default_factory=dict, description="explicit variants: "
                                             "{name: {path: value}}")

    @model_validator(mode="after")
    def _well_formed(self) -> "VariantsConfig":
        empty = [path for path, values in {**self.grid, **self.zip}.items() if not values]
        if empty:
            raise ValueError(f"give at least one value for {', '.join(empty)}")
        lengths = {path: len(values) for path, values in self.zip.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"zip lists must have equal lengths, got {lengths}")
        if BASE in self.named:
            raise ValueError(f"'{BASE}' is the base config's name; pick another variant name")
        for path in [*self.grid, *self.zip, *(p for o in self.named.values() for p in o)]:
            if path == "variants" or path.startswith("variants."):
                raise ValueError(f"'{path}': a variant cannot change the variants block")
        return self


@dataclass(frozen=True)
class Variant:
    name: str
    overrides: dict[str, Any]  # dotted path -> value, applied to the base YAML
    config: Any  # engine.config.run_config.RunConfig (this module is imported by it, so it is not named here)


def expand(variants: VariantsConfig | None, source: Path | str = "<variants>") -> list[tuple[str, dict[str, Any]]]:
    """(name, overrides) of every variant, the base first with no overrides; names are unique."""
    out: list[tuple[str, dict[str, Any]]] = [(BASE, {})]
    if variants is None:
        return out
    count = math.prod(len(values) for values in variants.grid.values()) * (
        len(next(iter(variants.zip.values()))) if variants.zip else 1) * bool(variants.grid or variants.zip)
    if count + len(variants.named) > MAX_VARIANTS:
        raise ConfigError(source, "variants.grid", f"{count + len(variants.named):,} variants, more than the "
                          f"{MAX_VARIANTS:,} one compare runs", "use fewer values per path, or split the sweep "
                          "into several configs")
    axes = [[{path: value} for value in values] for path, values in variants.grid.items()]
    if variants.zip:
        rows = zip(*variants.zip.values())
        axes.append([dict(zip(variants.zip, row)) for row in rows])
    if axes:
        for combination in itertools.product(*axes):
            overrides = {path: value for part in combination for path, value in part.items()}
            out.append((variant_name(overrides), overrides))
    out.extend((name, dict(overrides)) for name, overrides in variants.named.items())
    seen: set[str] = set()
    for name, _ in out:
        if name in seen:
            raise ConfigError(source, "variants", f"two variants are both named '{name}'",
                              "give named variants names that differ from the grid's")
        seen.add(name)
    return out


def variant_name(overrides: dict[str, Any]) -> str:
    """A stable, readable name: 'caps.name=0.06,profit_taking.trailing_stop=0.1' (the 'rules.' prefix dropped)."""
    return ",".join(f"{path.removeprefix('rules.')}={_text(value)}" for path, value in overrides.items())


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
