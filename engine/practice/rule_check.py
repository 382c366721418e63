"""The one-page "rule check" of a book (`rulebook today --report`): where it stands against each rule.

Drawn with the report's own model and renderers (engine.report: HTML and PDF show the same cells):
the orders; each name's weight against its cap and group cap, and the gross against its limit;
the screen's verdict per name with the filing it rests on; open event windows; the regime; the
hedges. Each rule is asked through its own ``apply`` on the same data the decision used.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from engine.config.report import ReportConfig
from engine.report.formatting import money, percent
from engine.report.html import write_html
from engine.report.model import Paragraph, Report, Section, Table
from engine.report.pdf import write_pdf
from engine.report.sections import frame_table
from engine.run.backtest import rule_groups
from engine.practice.today import Today
from strategies.rule_types import RuleContext
from strategies.schedule import rebalance_sessions


@dataclass(frozen=True)
class RuleCheck(Report):
    @property
    def title(self) -> str:
        return f"{self.run_name}: rule check at the close of {self.end}"


def write_rule_check(result: Today, stem: Path) -> list[Path]:
    """``<stem>.rule-check.html`` and ``.pdf``."""
    report = rule_check(result)
    stem = Path(stem)
    return [write_html(report, stem.with_name(stem.name + ".rule-check.html")),
            write_pdf(report, stem.with_name(stem.name + ".rule-check.pdf"))]


def rule_check(result: Today) -> RuleCheck:
    config, data, at = result.config, result.decision.data, result.decision.at
    day = result.as_of.date().isoformat()
    blocks = [Paragraph(f"Book {money(result.equity)} ({money(result.cash)} cash) at the close of {day}. "
                        "Orders are estimated at that close and fill at the next session."),
              frame_table("Orders", result.orders.drop(columns=["price"]),
                          {"weight_now": "percent", "weight_after": "percent", "notional": "money"}, key="orders")]
    blocks += [Paragraph(note) for note in result.notes]
    sections = [Section("orders", "Orders", blocks), Section("caps", "Weights against the caps", _caps(result))]
    if config.rules is not None:
        ctx = RuleContext(data, config.universe.symbols, rule_groups(config, data),
                          rebalance_sessions(data.sessions, config.rules.weighting.rebalance))
        sections.append(Section("rules", "Screen, events and regime", _rule_states(config.rules, ctx, at)))
    if len(result.hedges):
        sections.append(Section("hedges", "Hedges", [frame_table("Hedge actions", result.hedges, key="hedges")]))
    return RuleCheck(run_name=config.name, description=config.description, created=day, start=day, end=day,
                     synthetic=data.synthetic, settings=ReportConfig(), sections=sections)


def _caps(result: Today) -> list:
    caps = result.config.rules.caps if result.config.rules is not None else None
    book = result.book[result.book["shares"].gt(0) | result.book["weight_after"].gt(0)]
    frame = book[["weight", "weight_after"]].rename_axis("symbol").reset_index()
    if caps is None:
        return [frame_table("Weights", frame, {"weight": "percent", "weight_after": "percent"}, key="weights")]
    symbols = list(result.book.index)
    name_cap = pd.Series(caps.name_caps(symbols), index=symbols)
    frame["name cap"] = name_cap.reindex(frame["symbol"]).to_numpy()
    groups = rule_groups(result.config, result.decision.data)
    rows = [[group, percent(result.book.loc[members, "weight"].sum()),
             percent(result.book.loc[members, "weight_after"].sum()), percent(cap)]
            for group, cap in caps.groups.items() for members in [[s for s in groups.get(group, []) if s in symbols]]]
    gross_limit = caps.gross_limit()
    rows.append(["gross (all names)", percent(result.book["weight"].sum()), percent(result.book["weight_after"].sum()),
                 percent(gross_limit) + f" (cash floor {percent(caps.cash_floor)})"])
    return [frame_table("Names", frame, {"weight": "percent", "weight_after": "percent", "name cap": "percent"},
                        key="names"),
            Table("Groups and gross", ["group", "weight", "after orders", "cap"], rows, [False, True, True, True],
                  key="groups")]


def _rule_states(rules, ctx: RuleContext, at: int) -> list:
    blocks = []
    if rules.screen is not None:
        out = rules.screen.build().apply(ctx)
        values, reasons = out.values.iloc[at], out.reasons.iloc[at]
        verdict = np.where(values >= 1, "passes", np.where(values > 0, "scaled", "excluded"))
        frame = pd.DataFrame({"symbol": ctx.symbols, "verdict": verdict, "why": reasons.to_numpy()})
        failing = frame[frame["verdict"] != "passes"]
        blocks += [Paragraph(f"Financial-health screen: {len(frame) - len(failing)} of {len(frame)} names pass "
                             "on what was filed by this close."),
                   frame_table("Names the screen scales or excludes (with the filing each verdict rests on)",
                               failing if len(failing) else pd.DataFrame({"symbol": ["—"], "verdict": ["none"],
                                                                           "why": [""]}), key="screen")]
    if rules.events:
        rows = []
        for rule in rules.events:
            out = rule.build().apply(ctx)
            for symbol in ctx.symbols:
                blocked = out.no_buy is not None and bool(out.no_buy.iloc[at][symbol])
                if out.values.iloc[at][symbol] < 1 or blocked:
                    rows.append([symbol, ", ".join(rule.kinds), rule.action, str(out.reasons.iloc[at][symbol])])
        blocks.append(Table("Open event windows", ["symbol", "kinds", "action", "why"], rows or [["—", "", "", "none"]],
                            [False] * 4, key="events"))
    if rules.regime is not None:
        out = rules.regime.build().apply(ctx)
        limit, why = out.values.iloc[at], out.reasons.iloc[at]
        text = (f"Regime: gross exposure capped at {percent(limit)} ({why})." if np.isfinite(limit) and why
                else "Regime: no cap on gross exposure at this close.")
        blocks.append(Paragraph(text))
    return blocks
