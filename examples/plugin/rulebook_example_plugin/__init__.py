"""An example rulebook plugin: one stateless rule and one path-dependent rule.

``register`` is the entry point rulebook calls (pyproject.toml, group ``rulebook.rules``).
"""

from __future__ import annotations

from strategies.registry import register_rule

from rulebook_example_plugin.fcf_margin import RULE as FCF_MARGIN
from rulebook_example_plugin.time_stop import RULE as TIME_STOP


def register() -> None:
    register_rule(FCF_MARGIN)
    register_rule(TIME_STOP)
