"""The parameters of the stateful rules as the simulation kernels read them.

strategies.staging compiles the rule configs into these arrays; engine.sim hands
them to engine.rule_kernels. Every array is per simulated column, so a later issue
can run variants side by side (columns = variants x names, one vectorbt group per
variant) by stacking the arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd


class RuleParams(NamedTuple):
    """Rule parameters per simulated column (columns = variants x names; a variant's
    capped groups are its own entries of ``group_cap``). Off = inf / NaN / 0 as noted."""

    name_cap: np.ndarray  # float, inf = none
    drift_band: np.ndarray  # float
    gross_cap: np.ndarray  # float, read from a group's first column
    group_members: np.ndarray  # bool, columns x capped groups
    group_cap: np.ndarray  # float per capped group
    stage_gain: np.ndarray  # float, columns x max stages, NaN padded
    stage_sell: np.ndarray  # float, columns x max stages
    n_stages: np.ndarray  # int, 0 = no profit-taking
    surge_sessions: np.ndarray  # int, 0 = off
    surge_return: np.ndarray  # float
    surge_z_sessions: np.ndarray  # int, 0 = off
    surge_z: np.ndarray  # float
    surge_z_window: np.ndarray  # int
    trailing_stop: np.ndarray  # float, NaN = off
    reentry_cooldown: np.ndarray  # int, -1 = no re-entry block
    reentry_pullback: np.ndarray  # float, NaN = off
    entry_tranches: np.ndarray  # int, <= 1 = no staged entry
    entry_every: np.ndarray  # int
    entry_pullback: np.ndarray  # float, NaN = off


@dataclass(frozen=True)
class KernelRules:
    """What the simulation needs to run the stateful rules (built by strategies.staging.compile_rules)."""

    params: RuleParams
    group_names: tuple[str, ...]  # name of each capped group, for the log
    gross_limit: pd.Series | None = None  # regime cap per decision session (NaN = none)
    no_buy: pd.DataFrame | None = None  # True where the decision session blocks new buying
    log_capacity: int | None = None  # kernel log records; default sessions x columns
