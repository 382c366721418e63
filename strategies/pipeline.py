"""The rule pipeline: the column's rules applied in a fixed stage order.

selection → screens → weighting → event overlays → regime overlay → caps, all
vectorised over the session × symbol frame; then the path-dependent rules
(profit-taking, staged entry, cap drift) run inside the compiled simulation.

The weighting decides on rebalance sessions. Between them the *standing target* is
the last rebalance's weights times the overlays' multipliers, capped. On a session
where an overlay moves a name's standing target (an event window opens or closes,
the volatility regime turns), only the names that moved get a decision.

An exclusion (a name failing the selection or the screen, or an event rule with
``action: exit``) acts on the session it is known: the name's target drops to 0 on
that row (so it is sold at the next fill), after the caps, so its freed weight stays
in cash and no other name moves (``rules.freed_weight: reweight`` makes that session a
rebalance instead, so the others share it); it stays out until the next rebalance at
which it is eligible again, where the weighting brings it back. Every weight change a rule
makes on a decision row, the exclusion and the return, is recorded in the
rule-activity log with the rule's reason.
"""

from __future__ import annotations

import dataclasses
import functools
import operator
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from engine.data.dataset import Dataset
from strategies.activity import ActivityLog
from strategies.caps import apply_caps
from strategies.reasons import join_reasons
from strategies.rule_config import RulesConfig
from strategies.rule_types import RuleContext, RuleOutput
from strategies.schedule import rebalance_sessions
from engine.sim.rule_kernels import KernelRules
from strategies.staging import compile_rules

CHANGE_TOLERANCE = 1e-12  # a standing target moving less than this has not moved


@dataclass(frozen=True)
class PipelineResult:
    targets: pd.DataFrame  # decision rows for engine.sim.simulate (all-NaN row = no decision)
    log: ActivityLog
    kernel_rules: KernelRules | None  # path-dependent rules for the simulation

    @cached_property
    def activity(self) -> pd.DataFrame:
        """session, symbol, rule, before, after, reason (worded on first use)."""
        return self.log.table(decided=self.targets.notna())


def run_pipeline(rules: RulesConfig, data: Dataset, symbols: list[str], groups: dict[str, list[str]]) -> PipelineResult:
    ctx = RuleContext(data, list(symbols), groups, rebalance_sessions(data.sessions, rules.weighting.rebalance))
    log = ActivityLog()
    weigh = rules.weighting.build()

    eligible = data.close[ctx.symbols].notna()
    screen = rules.screen.build().apply(ctx) if rules.screen is not None else None
    exclusions = [("selection", rules.selection.build().apply(ctx))] if rules.selection is not None else []
    if screen is not None:  # multiplier 0 = excluded before weighting, 0 < m < 1 = scaled after it
        exclusions.append(("screen", RuleOutput(screen.values > 0, screen.reasons)))
    exits = [rule.build().apply(ctx) for rule in rules.events if rule.action == "exit"]
    if exits:  # overlapping windows of several rules: the first rule's reason explains the exit
        exclusions.append(("event", RuleOutput(functools.reduce(np.fmin, (out.values for out in exits)) > 0,
                                               join_reasons(*(out.reasons for out in exits)))))
    if rules.freed_weight == "reweight":  # an exclusion's session is a rebalance: the others share its weight
        ctx = dataclasses.replace(ctx, rebalance=ctx.rebalance | newly_excluded(exclusions))
    weighed = exclusions if rules.freed_weight == "reweight" else [e for e in exclusions if e[0] != "event"]
    for stage, out in weighed:  # what the stage changes at each rebalance (between them: see below)
        before, after = weigh(ctx, eligible).ffill(), weigh(ctx, eligible & out.values).ffill()
        log.record(stage, before, after.where(np.broadcast_to(ctx.rebalance[:, None], after.shape), before), out.reasons)
        eligible = eligible & out.values

    standing = weigh(ctx, eligible).ffill()
    if screen is not None:
        standing = _scaled(log, "screen", standing, screen.values.where(screen.values > 0, 1.0), screen.reasons)
    overlays = [rule for rule in rules.events if rule.action != "exit"]
    if overlays:  # overlapping windows of several rules: the smallest multiplier wins
        outs = [event_rule.build().apply(ctx) for event_rule in overlays]
        multiplier = functools.reduce(np.fmin, (out.values for out in outs))
        standing = _scaled(log, "event", standing, multiplier, join_reasons(*(out.reasons for out in outs)))
        masks = [out.no_buy for out in outs if out.no_buy is not None]
        no_buy = functools.reduce(operator.or_, masks) if masks else None
    else:
        no_buy = None
    gross_limit = None
    if rules.regime is not None:
        out = rules.regime.build().apply(ctx)
        gross_limit = out.values
        gross = standing.sum(axis=1)
        scale = (out.values / gross.where(gross > out.values)).fillna(1.0)
        reasons = pd.DataFrame({s: out.reasons for s in ctx.symbols})
        standing = _scaled(log, "regime", standing, ctx.frame(1.0).mul(scale, axis=0), reasons)
    if rules.caps is not None:
        capped, _ = apply_caps(standing, rules.caps, groups, explain=np.zeros(len(standing), dtype=bool))
        targets = decision_rows(exclude_until_rebalance(log, capped, exclusions, ctx.rebalance), ctx.rebalance)
        decided = targets.notna().any(axis=1).to_numpy()
        log.record("caps", standing, capped, lambda: apply_caps(standing, rules.caps, groups, explain=decided)[1])
    else:
        targets = decision_rows(exclude_until_rebalance(log, standing, exclusions, ctx.rebalance), ctx.rebalance)
    kernel = compile_rules(ctx.symbols, groups, caps=rules.caps, profit_taking=rules.profit_taking,
                           staged_entry=rules.staged_entry, gross_limit=gross_limit,
                           no_buy=no_buy) if rules.needs_kernel else None
    return PipelineResult(targets, log, kernel)


def decision_rows(standing: pd.DataFrame, rebalance: np.ndarray) -> pd.DataFrame:
    """Full rows on rebalance sessions; elsewhere only the names whose standing target moved."""
    moved = standing.diff().abs().gt(CHANGE_TOLERANCE) | (standing.notna() & standing.shift().isna())
    return standing.where(moved | rebalance[:, None])


def newly_excluded(exclusions: list[tuple[str, RuleOutput]]) -> np.ndarray:
    """Sessions on which some name starts being excluded (by any stage)."""
    if not exclusions:
        return np.zeros(0, dtype=bool)
    out = functools.reduce(operator.or_, (~out.values.astype(bool) for _, out in exclusions))
    return (out & ~out.shift(fill_value=False)).any(axis=1).to_numpy()


RETURNS = {"selection": "passes the selection again", "screen": "passes the screen again",
           "event": "its exit window is over"}


def exclude_until_rebalance(log: ActivityLog, targets: pd.DataFrame, exclusions: list[tuple[str, RuleOutput]],
                            rebalance: np.ndarray) -> pd.DataFrame:
    """Targets with each excluded name at 0 from the session its exclusion is known to the next rebalance at
    which it is eligible again; both moves logged. ``exclusions``: (stage, output whose values are False where
    the name is excluded)."""
    period = np.cumsum(rebalance)
    held_by_stage = []
    for stage, out in exclusions:
        held = (~out.values.astype(bool)).groupby(period).cummax()
        after = targets.mask(held & targets.notna(), 0.0)
        log.record(stage, targets, after, out.reasons)
        targets, held_by_stage = after, held_by_stage + [(stage, held)]
    for stage, held in held_by_stage:
        back = held.shift(fill_value=False) & ~held & rebalance[:, None] & targets.gt(0)
        if back.to_numpy().any():
            log.record(stage, targets.mask(back, 0.0), targets,
                       pd.DataFrame(np.where(back, RETURNS[stage] + ", back at the rebalance", ""),
                                    index=targets.index, columns=targets.columns))
    return targets


def _scaled(log: ActivityLog, stage: str, standing: pd.DataFrame, multiplier: pd.DataFrame,
            reasons: pd.DataFrame) -> pd.DataFrame:
    after = standing * multiplier
    log.record(stage, standing, after, reasons)
    return after
