"""The README stays true: its config reference covers every config key, and CI runs its test command."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from engine.config import RunConfig, _STRATEGY_MODELS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def config_keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    keys = set()
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys |= config_keys(annotation, f"{prefix}{name}.")
        elif name == "strategy":
            for strategy_model in _STRATEGY_MODELS.values():
                keys |= config_keys(strategy_model, "strategy.")
        else:
            keys.add(prefix + name)
    return keys


def test_config_reference_lists_every_key() -> None:
    documented = set(re.findall(r"^\| `([a-z_.]+)`", README, flags=re.M))
    documented |= {"period.end"} if "`period.start`, `period.end`" in README else set()
    missing = config_keys(RunConfig) - documented
    assert not missing, f"README config reference lacks: {sorted(missing)}"


def test_quick_start_has_two_commands_and_ci_runs_the_test_one() -> None:
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```bash\n(.+?)\n```", quick)
    assert len(commands) == 2
    assert "rulebook run configs/column.yaml" in commands[0]
    assert commands[1] in (ROOT / ".ci" / "run").read_text()
