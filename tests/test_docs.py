"""The README stays true: its config reference covers every config key, and CI runs its test command."""

from __future__ import annotations

import re
from pathlib import Path

from engine.config.reference import markdown, reference_rows

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_config_reference_is_the_generated_one() -> None:
    """README's config reference is generated from the models: regenerate it with
    `python -m engine.config.reference` when a config key changes."""
    assert markdown() in README


def test_reference_covers_every_key() -> None:
    keys = {key for key, _, _ in reference_rows()}
    assert {"execution.fees_bps", "rules.caps.groups", "rules.weighting.kind", "strategy",
            "rules.profit_taking.stages.sell", "rules.events.sessions", "rules.stop_loss.loss",
            "rules.drawdown_exit.drawdown"} <= keys
    assert all(meaning for key, _, meaning in reference_rows()), "every key needs a description"


def test_quick_start_has_two_commands_and_ci_runs_the_test_one() -> None:
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```bash\n(.+?)\n```", quick)
    assert len(commands) == 2
    assert "rulebook run configs/column.yaml" in commands[0]
    assert commands[1] in (ROOT / ".ci" / "run").read_text()
