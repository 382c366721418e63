"""What each rule earned: leave-one-out and add-one-in, in one sweep of the compare machinery.

The rules of a config are its optional stages (selection, screen, each event rule, regime, caps,
profit-taking, staged entry) and each hedge. With all of them switched off the config is the
*baseline* (its weighting and execution alone). For each rule r and each metric m:

- add-one-in: m(baseline + r) − m(baseline), what r does on its own;
- leave-one-out: m(full) − m(full − r), what r adds once every other rule is there;
- interaction: m(full) − m(baseline) − Σ add-one-in, what the rules do together beyond their
  single effects, so baseline + Σ add-one-in + interaction = full, exactly (the waterfall).

All 2n + 2 configurations are variants (named overrides of the config file, validated like any
variant) run in one engine.sweep.compare.run_variants sweep; the Sharpe differences get the paired
stationary-bootstrap interval compare computes (engine.analysis.variant_stats.compare_statistics),
add-one-in against the baseline, leave-one-out against the full rule set.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from engine.analysis.event_study import Windows, study_books
from engine.analysis.variant_stats import compare_statistics
from engine.config.run_config import RunConfig, load_config
from engine.config.variant_set import load_variants
from engine.config.variants import BASE, Variant, VariantsConfig
from engine.data.calendar import sessions_per_year
from engine.data.events import read_events_file
from engine.errors import ConfigError
from engine.run.backtest import BacktestResult
from engine.run.files import write_tables
from engine.run.folder import save_run
from engine.sweep.compare import VariantOutcome, dataset, run_variants
from strategies import registry

BASELINE = "baseline"
INTERACTION = "interaction"
FULL = "full rule set"
# metric key, label; max_drawdown and event_drawdown are negative depths: a positive change is shallower
METRICS = (("cagr", "CAGR"), ("volatility", "volatility"), ("sharpe", "Sharpe"), ("max_drawdown", "max drawdown"),
           ("event_drawdown", "worst event-window drawdown"), ("turnover", "turnover"), ("costs", "costs"))


@dataclass(frozen=True)
class RuleSwitch:
    """One rule, switched by the value of one dotted path of the config file."""

    name: str
    path: str  # e.g. rules.caps, rules.events, hedges
    without: Any  # the path's value in the full config minus this rule
    alone: Any  # the path's value in the baseline plus this rule
    empty: Any  # the path's value with every rule of the path off


@dataclass(frozen=True)
class Attribution:
    """``table`` (attribution.parquet): one row per step, ``kind`` baseline | rule | interaction | full.

    Columns ``<metric>``: the level on the baseline and full rows, the add-one-in change on a rule
    row, the residual on the interaction row (so each column sums over baseline, rules and
    interaction to the full row); ``loo_<metric>``: the leave-one-out change of a rule;
    ``sharpe_lower/upper`` and ``loo_sharpe_lower/upper``: the 95% paired bootstrap interval of the
    two Sharpe differences. costs = fees + slippage + hedge costs per year, as a fraction of mean
    equity; turnover as in metrics.json."""

    table: pd.DataFrame
    equity: pd.DataFrame  # sessions x variants (total equity)


def rule_switches(path: Path, config: RunConfig) -> list[RuleSwitch]:
    """The config's rules, in stage order (then its hedges), read from the file's own YAML."""
    raw = yaml.safe_load(Path(path).read_text()) or {}
    rules = raw.get("rules") or {}
    sections = [r.name for r in registry.rules() if r.stage != "weighting" and not r.many]  # one block each
    switches = [RuleSwitch(key, f"rules.{key}", None, rules[key], None)
                for key in sections if config.rules is not None and getattr(config.rules, key) is not None]
    events = list(rules.get("events") or [])
    for i, rule in enumerate(events):
        kinds = "/".join(rule.get("kinds") or [])
        switches.append(RuleSwitch(f"events.{i} {kinds}", "rules.events",
                                   events[:i] + events[i + 1:], [rule], []))
    hedges = list(raw.get("hedges") or [])
    for i, hedge in enumerate(hedges):
        switches.append(RuleSwitch(f"hedge {hedge.get('name', i)}", "hedges", hedges[:i] + hedges[i + 1:], [hedge], []))
    if not switches:
        raise ConfigError(path, "rules", "no rule to attribute: the config has no optional rule and no hedge",
                          "add rules (selection, screen, events, regime, caps, profit_taking, stop_loss, …) or hedges")
    return switches


def attribution_variants(path: Path) -> tuple[list[Variant], list[RuleSwitch]]:
    """The full config (variant ``base``), the baseline, and per rule ``without:<rule>`` and ``only:<rule>``."""
    switches = rule_switches(path, load_config(path))
    baseline = {s.path: s.empty for s in switches}
    named = {BASELINE: baseline}
    for s in switches:
        named[f"without:{s.name}"] = {s.path: s.without}
        named[f"only:{s.name}"] = baseline | {s.path: s.alone}
    return load_variants(path, VariantsConfig(named=named)), switches


def attribute(path: Path, *, executor=None) -> Attribution:
    """Run the attribution sweep of a config file and build its table."""
    variants, switches = attribution_variants(path)
    outcomes = run_variants(variants, executor=executor)
    config = variants[0].config
    equity = pd.DataFrame({o.name: o.equity for o in outcomes}).rename_axis("date")
    ppy = sessions_per_year(config.data.calendar, equity.index[0], equity.index[-1])
    levels = pd.DataFrame({o.name: _levels(o, ppy) for o in outcomes}).T
    levels["event_drawdown"] = worst_event_drawdowns(config, equity)
    return Attribution(attribution_table(levels, equity.pct_change().iloc[1:], [s.name for s in switches], ppy),
                       equity)


def attribution_table(levels: pd.DataFrame, returns: pd.DataFrame, rules: list[str], ppy: float) -> pd.DataFrame:
    """The table of ``Attribution`` from each variant's metric levels (variants x METRICS) and returns."""
    keys = [key for key, _ in METRICS]
    base, full = levels.loc[BASELINE, keys], levels.loc[BASE, keys]
    alone = compare_statistics(returns[[BASELINE] + [f"only:{r}" for r in rules]], BASELINE, ppy)
    left_out = compare_statistics(returns[[BASE] + [f"without:{r}" for r in rules]], BASE, ppy)
    rows = [{"step": BASELINE, "kind": "baseline", **base}]
    for rule in rules:
        add = levels.loc[f"only:{rule}", keys] - base
        loo = full - levels.loc[f"without:{rule}", keys]
        a, d = alone.loc[f"only:{rule}"], left_out.loc[f"without:{rule}"]
        rows.append({"step": rule, "kind": "rule", **add, "sharpe_lower": a["diff_lower"],
                     "sharpe_upper": a["diff_upper"], **{f"loo_{k}": v for k, v in loo.items()},
                     # compare's interval is of Sharpe(variant) − Sharpe(full): flip it to full − without
                     "loo_sharpe_lower": -d["diff_upper"], "loo_sharpe_upper": -d["diff_lower"]})
    singles = sum((levels.loc[f"only:{r}", keys] - base for r in rules), start=base * 0.0)
    rows.append({"step": INTERACTION, "kind": "interaction", **(full - base - singles)})
    rows.append({"step": FULL, "kind": "full", **full})
    return pd.DataFrame(rows)


def _levels(outcome: VariantOutcome, ppy: float) -> dict[str, float]:
    m, equity = outcome.metrics, outcome.equity
    years = (len(equity) - 1) / ppy
    costs = outcome.costs / float(equity.mean()) / years if years > 0 else np.nan
    return {"cagr": m["cagr"], "volatility": m["volatility"], "sharpe": m["sharpe"],
            "max_drawdown": m["max_drawdown"], "turnover": m["turnover"], "costs": costs}


def worst_event_drawdowns(config: RunConfig, equity: pd.DataFrame) -> pd.Series:
    """Per book (column of ``equity``), the deepest drawdown from the pre-event peak inside any event
    window of the config's event study (its window, kinds and file; the dataset's events by default);
    NaN when no event can be measured."""
    settings = config.event_study
    if settings.file is not None:
        events = read_events_file(settings.file, config.data.calendar)
    else:
        events = dataset(config).events
    if len(events) and settings.kinds:
        events = events[events["kind"].isin(settings.kinds)]
    events = events.reset_index(drop=True).rename_axis("event_id").reset_index()
    if not len(events):
        return pd.Series(np.nan, index=equity.columns)
    rows = study_books(equity, events, Windows(settings.window[0], settings.window[1], tuple(settings.estimation))).rows
    if rows.empty:
        return pd.Series(np.nan, index=equity.columns)
    return rows.groupby("book")["drawdown"].min().reindex(equity.columns)


def save_attribution(out_dir: Path | None, table: pd.DataFrame, equity: pd.DataFrame, base_result: BacktestResult, *,
                     wall_seconds: float, extras: Sequence[Callable[[Path], object]] = ()) -> Path:
    """The full config's run files (so a report can read the folder) plus attribution.parquet and
    attribution_equity.parquet (sessions x variants), then ``extras`` (the reports), written into
    ``out_dir`` (None: a fresh reports/<name>-attribute-<UTC time>) atomically."""
    def tables(tmp: Path) -> None:
        write_tables(tmp, {"attribution.parquet": table, "attribution_equity.parquet": equity})

    return save_run(base_result, out_dir, wall_seconds=wall_seconds, extras=[tables, *extras], kind="-attribute")
