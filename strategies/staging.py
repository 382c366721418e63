"""Compile the path-dependent rules of a config into what the simulation kernel reads.

Each registered rule with a kernel declaration (engine.sim.rule_layout.StatefulRule) gets its
block of the packed parameter matrix from its config block (zeros = off), in the registry's
layout; the capped groups come from ``rules.caps``. These rules depend on the path the book
took (average cost, stages fired, the exit price), so they cannot be decided before the
simulation: the kernel runs them every session inside it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel

from engine.sim.rule_layout import KernelRules
from strategies import registry
from strategies.caps import CapsConfig


def compile_rules(symbols: list[str], groups: dict[str, list[str]], gross_limit: pd.Series | None = None,
                  no_buy: pd.DataFrame | None = None, **blocks: Any) -> KernelRules:
    """The rules for one simulated book whose columns are ``symbols``; ``blocks`` are config blocks
    by rule name (``caps=CapsConfig(...)``, ``profit_taking=...``; absent or None = rule off)."""
    params = kernel_params(symbols, **blocks)
    caps = blocks.get("caps") or CapsConfig()
    group_names, members, group_cap = caps.group_arrays(symbols, groups)
    if no_buy is not None:
        no_buy = no_buy[symbols].astype(bool)
    return KernelRules(registry.kernel_layout(), params, members, group_cap, tuple(group_names),
                       gross_limit=gross_limit, no_buy=no_buy)


def kernel_params(symbols: list[str], **blocks: Any) -> np.ndarray:
    """The packed parameter matrix (names x layout.n_params) of compile_rules' ``blocks``: all that differs
    between books whose caps, regime and events are equal (a sweep compiles only this per variant)."""
    layout = registry.kernel_layout()
    kernels = {r.kernel.name: r.name for r in registry.rules() if r.kernel is not None}
    unknown = set(blocks) - set(kernels.values())
    if unknown:
        raise ValueError(f"compile_rules: {sorted(unknown)} are not path-dependent rules")
    params = np.hstack([rule.block(blocks.get(kernels[rule.name]), symbols) for rule in layout.rules]
                       or [np.zeros((len(symbols), 0))])
    return np.ascontiguousarray(params)


def compile_config(rules: BaseModel, symbols: list[str], groups: dict[str, list[str]],
                   gross_limit: pd.Series | None = None, no_buy: pd.DataFrame | None = None) -> KernelRules:
    """compile_rules for every path-dependent rule a ``rules:`` config switches on."""
    return compile_rules(symbols, groups, gross_limit, no_buy, **kernel_blocks(rules))


def kernel_blocks(rules: BaseModel) -> dict[str, Any]:
    """The config blocks, by rule name, of the path-dependent rules a ``rules:`` config switches on."""
    return {r.name: block for stage in registry.STAGES for r, block in registry.configured(rules, stage)
            if r.kernel is not None}
