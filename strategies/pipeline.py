"""The rule pipeline: the registered rules a config switches on, applied in stage order.

selection → screens → weighting → overlays (events, regime) → caps, all vectorised over
the session × symbol frame (strategies.rule_types names each stage's protocol); then the
path-dependent rules (profit-taking, stop-loss, drawdown exit, staged entry, cap drift) run
inside the compiled simulation. Within a stage, rules run in registration order.

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
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel

from engine.data.dataset import Dataset
from engine.sim.rule_layout import KernelRules
from strategies.activity import ActivityLog
from strategies.reasons import join_reasons
from strategies.registry import configured, rules_model
from strategies.rule_types import RuleContext, RuleOutput
from strategies.staging import compile_config

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


@dataclass(frozen=True)
class Uncapped:
    """The pipeline up to the caps stage (standing_targets): what every caps setting of a config shares, so
    a sweep over caps runs the stages before them once."""

    ctx: RuleContext
    log: ActivityLog  # the stages' records so far (capped_targets adds to a copy)
    standing: pd.DataFrame  # standing targets before the caps
    exclusions: list[tuple[str, RuleOutput]]
    gross_limit: pd.Series | None  # the regime's gross-exposure cap per session, for the kernel
    no_buy: pd.DataFrame | None  # True where an event blocks new buying, for the kernel


def run_pipeline(rules: BaseModel, data: Dataset, symbols: list[str], groups: dict[str, list[str]]) -> PipelineResult:
    """The registered rules a ``rules:`` config switches on (strategies.registry.rules_model), stage by stage."""
    return capped_targets(rules, standing_targets(rules, data, symbols, groups))


def standing_targets(rules: BaseModel, data: Dataset, symbols: list[str], groups: dict[str, list[str]]) -> Uncapped:
    """selection → screens → weighting → overlays: every stage before the caps (their config is not read)."""
    _check_symbols(data, symbols)
    ctx = RuleContext(data, list(symbols), groups, rules.weighting.decision_sessions(data.sessions))
    log = ActivityLog()
    weigh = rules.weighting.build().weigh

    def built(stage: str) -> list[tuple[str, Any]]:
        return [(r.label, block.build()) for r, block in configured(rules, stage)]

    eligible = data.close[ctx.symbols].notna()
    exclusions = [(label, rule.apply(ctx)) for label, rule in built("selection")]
    screens = [(label, rule.apply(ctx)) for label, rule in built("screen")]
    # a screen's multiplier 0 = excluded before weighting, 0 < m < 1 = scaled after it
    exclusions += [(label, RuleOutput(out.values > 0, out.reasons)) for label, out in screens]
    overlays: dict[str, list[tuple[bool, RuleOutput]]] = {}
    for label, rule in built("overlay"):  # an overlay that `excludes` (exit events) acts like a screen's 0
        overlays.setdefault(label, []).append((getattr(rule, "excludes", False), rule.apply(ctx)))
    excluding = []
    for label, outs in overlays.items():
        exits = [out for excludes, out in outs if excludes]
        if exits:  # overlapping windows of several blocks: the first block's reason explains the exit
            exclusions.append((label, RuleOutput(functools.reduce(np.fmin, (out.values for out in exits)) > 0,
                                                 join_reasons(*(out.reasons for out in exits)))))
            excluding.append(label)
    if rules.freed_weight == "reweight":  # an exclusion's session is a rebalance: the others share its weight
        ctx = dataclasses.replace(ctx, rebalance=ctx.rebalance | newly_excluded(exclusions))
    weighed = exclusions if rules.freed_weight == "reweight" else [e for e in exclusions if e[0] not in excluding]
    for label, out in weighed:  # what the stage changes at each rebalance (between them: see below)
        before, after = weigh(ctx, eligible).ffill(), weigh(ctx, eligible & out.values).ffill()
        log.record(label, before, after.where(np.broadcast_to(ctx.rebalance[:, None], after.shape), before),
                   out.reasons)
        eligible = eligible & out.values

    standing = weigh(ctx, eligible).ffill()
    for label, out in screens:
        standing = _scaled(log, label, standing, out.values.where(out.values > 0, 1.0), out.reasons)
    masks, gross_limit = [], None
    for label, outs in overlays.items():
        masks += [out.no_buy for _, out in outs if out.no_buy is not None]
        frames = [out for excludes, out in outs if not excludes and isinstance(out.values, pd.DataFrame)]
        if frames:  # overlapping windows of several blocks: the smallest multiplier wins
            multiplier = functools.reduce(np.fmin, (out.values for out in frames))
            standing = _scaled(log, label, standing, multiplier, join_reasons(*(out.reasons for out in frames)))
        for out in (out for _, out in outs if isinstance(out.values, pd.Series)):  # gross-exposure caps
            gross_limit = out.values if gross_limit is None else np.fmin(gross_limit, out.values)
            gross = standing.sum(axis=1)
            scale = (out.values / gross.where(gross > out.values)).fillna(1.0)
            reasons = pd.DataFrame(np.repeat(out.reasons.to_numpy(dtype=object)[:, None], len(ctx.symbols), axis=1),
                                   index=out.reasons.index, columns=ctx.symbols, dtype=object)
            standing = _scaled(log, label, standing, ctx.frame(1.0).mul(scale, axis=0), reasons)
    no_buy = functools.reduce(operator.or_, masks) if masks else None
    return Uncapped(ctx, log, standing, exclusions, gross_limit, no_buy)


def capped_targets(rules: BaseModel, uncapped: Uncapped) -> PipelineResult:
    """The caps stage of ``rules`` on standing_targets' result (left as it was), then the exclusions and
    the decision rows."""
    ctx, log = uncapped.ctx, uncapped.log.copy()
    capped, capping = uncapped.standing, []
    for r, block in configured(rules, "caps"):
        caps, before = block.build(), capped
        capped, _ = caps.cap(ctx, before, np.zeros(len(before), dtype=bool))
        capping.append((r.label, caps, before, capped))
    targets = decision_rows(exclude_until_rebalance(log, capped, uncapped.exclusions, ctx.rebalance), ctx.rebalance)
    decided = targets.notna().any(axis=1).to_numpy()
    for label, caps, before, after in capping:  # reasons worded on decided rows only, when the log is read
        log.record(label, before, after, lambda c=caps, b=before: c.cap(ctx, b, decided)[1])
    kernel = compile_config(rules, ctx.symbols, ctx.groups, gross_limit=uncapped.gross_limit,
                            no_buy=uncapped.no_buy) if rules.needs_kernel else None
    return PipelineResult(targets, log, kernel)


def baseline_targets(weighting: dict, data: Dataset, symbols: list[str]) -> pd.DataFrame:
    """The decision rows of a weighting alone, a baseline strategy (``{"kind": "equal_weight"}``)."""
    return run_pipeline(rules_model()(weighting=weighting), data, symbols, {}).targets


def _check_symbols(data: Dataset, symbols: list[str]) -> None:
    repeated = sorted({s for s in symbols if list(symbols).count(s) > 1})
    if repeated:
        raise ValueError(f"symbols {repeated} are listed more than once; list each name once")
    missing = [s for s in symbols if s not in data.close.columns]
    if missing:
        raise ValueError(f"symbols {missing} are not in the dataset (it has {list(data.close.columns)}); "
                         "load them or remove them from the universe")


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


RETURNS = {"event": "its exit window is over"}  # else "passes the <rule> again"


def exclude_until_rebalance(log: ActivityLog, targets: pd.DataFrame, exclusions: list[tuple[str, RuleOutput]],
                            rebalance: np.ndarray) -> pd.DataFrame:
    """Targets with each excluded name at 0 from the session its exclusion is known to the next rebalance at
    which it is eligible again; both moves logged. ``exclusions``: (stage, output whose values are False where
    the name is excluded)."""
    held_by_stage = []
    for stage, out in exclusions:
        held = held_until_rebalance(~out.values.astype(bool), rebalance)
        after = targets.mask(held & targets.notna(), 0.0)
        log.record(stage, targets, after, out.reasons)
        targets, held_by_stage = after, held_by_stage + [(stage, held)]
    for stage, held in held_by_stage:
        back = held.shift(fill_value=False) & ~held & rebalance[:, None] & targets.gt(0)
        if back.to_numpy().any():
            why = np.full(back.shape, "", dtype=object)
            why[back.to_numpy()] = RETURNS.get(stage, f"passes the {stage} again") + ", back at the rebalance"
            log.record(stage, targets.mask(back, 0.0), targets,
                       pd.DataFrame(why, index=targets.index, columns=targets.columns, dtype=object))
    return targets


def held_until_rebalance(excluded: pd.DataFrame, rebalance: np.ndarray) -> pd.DataFrame:
    """True from a name's first excluded session in a rebalance period (a rebalance row starts one) to the
    period's end: a running count of excluded sessions, less the count before the period began."""
    count = np.cumsum(excluded.to_numpy(dtype=bool), axis=0)
    rows = np.arange(len(count))
    start = np.maximum.accumulate(np.where(np.r_[True, np.asarray(rebalance[1:], dtype=bool)], rows, 0))
    before = np.where(start[:, None] > 0, count[np.maximum(start - 1, 0)], 0)
    return pd.DataFrame(count > before, index=excluded.index, columns=excluded.columns)


def _scaled(log: ActivityLog, stage: str, standing: pd.DataFrame, multiplier: pd.DataFrame,
            reasons: pd.DataFrame) -> pd.DataFrame:
    after = standing * multiplier
    log.record(stage, standing, after, reasons)
    return after
