"""The keys of a resolved run config that differ from the defaults, for the report's appendix.

config.yaml in the run folder writes every default out (so a re-run reproduces the run);
a reader wants what was chosen. Walks the config with its pydantic models: a nested block
is compared key by key, a list (such as rules.events) as a whole.
"""

from __future__ import annotations

import json

import yaml
from pydantic import BaseModel

from engine.config.run_config import RunConfig, kind_tags, models_in


def non_default(config: dict, model: type[BaseModel] = RunConfig, prefix: str = "") -> list[tuple[str, object]]:
    """(dotted key, value) for every key whose value is not its field's default, in config order."""
    fields = {field.alias or name: field for name, field in model.model_fields.items()}
    changed: list[tuple[str, object]] = []
    for key, value in config.items():
        field, path = fields.get(key), prefix + str(key)
        if field is None:
            changed.append((path, value))
            continue
        inner = _model_for(models_in(field.annotation), value)
        if inner is not None:
            changed += non_default(value, inner, path + ".")
        elif field.is_required() or _plain(value) != _plain(_default(field)):
            changed.append((path, value))
    return changed


def non_default_yaml(config: dict) -> str:
    """The changed keys as YAML lines `dotted.key: value` (without the variants block)."""
    lines = []
    for key, value in non_default(config):
        if key.startswith("variants"):
            continue
        text = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=10_000, allow_unicode=True).strip()
        lines.append(f"{key}: {text.removesuffix('...').strip()}")
    return "\n".join(lines)


def _model_for(candidates: list[type[BaseModel]], value) -> type[BaseModel] | None:
    if not isinstance(value, dict) or not candidates:
        return None
    tagged = [model for model in candidates if value.get("kind") in kind_tags(model)]
    return (tagged or candidates)[0]


def _default(field):
    value = field.get_default(call_default_factory=True)
    return value.model_dump(mode="json", by_alias=True) if isinstance(value, BaseModel) else value


def _plain(value):
    return json.loads(json.dumps(value, default=str))
