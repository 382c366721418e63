"""Sections from files the rules and hedges add to a run folder; each is left out when its file is absent.

Columns read (as documented by the modules that write them):
rules.parquet: session, symbol, rule, before, after, reason (strategies.activity, engine.sim.rule_kernels).
hedges.parquet: date, hedge, value, premium, fees, settlement, cash_flow (engine.hedges.book).
"""

from __future__ import annotations

import pandas as pd

from engine.analysis.drawdowns import max_drawdown
from engine.report.formatting import integer, money, percent
from engine.report.model import Chart, Paragraph, Section, Table
from engine.run.folder import RunFolder
from engine.report.sections import frame_table
from engine.config.report import ReportConfig

# what a reader asks of the rule log: label, rule names, reason prefix (None: any), count unique names screened out
RULE_FAMILIES = (
    ("Caps binding", ("caps", "caps_drift"), None, False),
    ("Profit-taking stages fired", ("profit_taking",), "stage", False),
    ("Buys capped at what a stage left", ("profit_taking",), "target capped", False),
    ("Trailing stops", ("trailing_stop",), None, False),
    ("Staged-entry tranches", ("staged_entry",), None, False),
    ("Re-entries blocked", ("reentry_block",), None, False),
    ("Names screened out", ("screen",), None, True),
    ("Event actions", ("event", "no_buy"), None, False),
    ("Regime cuts", ("regime",), None, False),
)
TOP_ROWS = 20


def rules_section(run: RunFolder, settings: ReportConfig) -> Section | None:
    log = run.optional.get("rules")
    if log is None:
        return None
    if log.empty:
        return Section("rules", "Rule activity", [Paragraph("No rule changed a weight during the run.")])
    log = log.assign(session=pd.to_datetime(log["session"]), rule=log["rule"].astype(str),
                     change=log["after"].fillna(0.0) - log["before"].fillna(0.0))
    by_rule = log.groupby("rule", sort=False).agg(
        actions=("symbol", "size"), names=("symbol", "nunique"), sessions=("session", "nunique"),
        first=("session", "min"), last=("session", "max"), mean_change=("change", "mean"),
    ).sort_values("actions", ascending=False).reset_index()
    families = []
    for label, rules, prefix, screened_out in RULE_FAMILIES:
        hits = log[log["rule"].isin(rules)]
        if prefix is not None:
            hits = hits[hits["reason"].astype(str).str.startswith(prefix)]
        if len(hits):
            count = hits.loc[hits["after"].fillna(0.0) == 0.0, "symbol"].nunique() if screened_out else len(hits)
            families.append([label, integer(count), ", ".join(sorted(hits["rule"].unique()))])
    covered = {rule for _, rules, _, _ in RULE_FAMILIES for rule in rules}
    for rule in sorted(set(log["rule"]) - covered):  # stop-loss, drawdown exit, a plugin's rules: their own row
        families.append([f"{rule.replace('_', ' ').capitalize()} actions", integer(int((log["rule"] == rule).sum())),
                         rule])
    monthly = (log.assign(month=log["session"].dt.to_period("M").dt.to_timestamp())
               .pivot_table(index="month", columns="rule", values="symbol", aggfunc="size", fill_value=0))
    latest = log.sort_values("session", kind="stable").tail(TOP_ROWS)[["session", "symbol", "rule", "before",
                                                                        "after", "reason"]]
    blocks = [
        Paragraph(f"Rules changed a name's target weight {integer(len(log))} times on "
                  f"{integer(log['session'].nunique())} decision sessions (from rules.parquet)."),
        frame_table("Activity by rule", by_rule.rename(columns={"mean_change": "mean change"}),
                    {"mean change": "signed_percent"}, key="rules_by_rule"),
    ]
    if families:
        blocks.append(Table("What the rules did", ["Action", "Count", "Rules"], families, [False, True, False],
                            key="rule_families"))
    blocks += [
        Chart("rules_timeline", "Rule actions per month, by rule", "stacked_bars", monthly, "actions",
              x_label="month", height=1.0),
        frame_table("Latest rule actions", latest, {"before": "percent", "after": "percent"}, key="rules_latest"),
    ]
    return Section("rules", "Rule activity", blocks)


def hedges_section(run: RunFolder, settings: ReportConfig) -> Section | None:
    """Premium paid, payoff and net effect per hedge (engine.hedges.book: one row per leg and session)."""
    legs = run.optional.get("hedges")
    if legs is None:
        return None
    legs = legs.assign(date=pd.to_datetime(legs["date"]), hedge=legs["hedge"].astype(str))
    last = legs["date"].max()
    by_hedge = legs.groupby("hedge").agg(
        paid=("premium", lambda p: -p[p < 0].sum()), received=("premium", lambda p: p[p > 0].sum()),
        fees=("fees", lambda f: -f.sum()), payoff=("settlement", "sum"), flows=("cash_flow", "sum"))
    by_hedge["open value"] = legs[legs["date"] == last].groupby("hedge")["value"].sum().reindex(by_hedge.index,
                                                                                              fill_value=0.0)
    by_hedge["net"] = by_hedge.pop("flows") + by_hedge["open value"]
    daily = legs.groupby("date")[["value", "cash_flow"]].sum()
    curves = pd.DataFrame({"Marked value": daily["value"], "Cumulative cash flow": daily["cash_flow"].cumsum()})
    net = by_hedge["net"].sum()
    return Section("hedges", "Hedges", [*_drawdown_effect(run.equity),
        Paragraph(f"Premium paid {money(by_hedge['paid'].sum())}, fees {money(by_hedge['fees'].sum())}, payoff at "
                  f"expiry {money(by_hedge['payoff'].sum())}: the hedges {'added' if net >= 0 else 'cost'} "
                  f"{money(abs(net))} net, counting the value of legs still open (from hedges.parquet; every "
                  "metric and drawdown in this report already includes them)."),
        frame_table("Hedges", by_hedge.reset_index(), {name: "money" for name in by_hedge.columns}, key="hedge_legs"),
        Chart("hedge_value", "Hedge value and cumulative cash flow", "lines", curves, "USD", height=0.6),
    ])


def _drawdown_effect(equity: pd.DataFrame) -> list[Paragraph]:
    """Max drawdown of the total book against the stock book alone (equity less the hedges' value and
    cash account, both in equity.parquet)."""
    if not {"hedge_value", "hedge_cash"} <= set(equity.columns):
        return []
    total = max_drawdown(equity["equity"].to_numpy(dtype=float))
    stock = max_drawdown((equity["equity"] - equity["hedge_value"] - equity["hedge_cash"]).to_numpy(dtype=float))
    change = "cut" if total > stock else "deepened"
    return [Paragraph(f"Max drawdown with the hedges {percent(total)}, without them {percent(stock)}: the hedges "
                      f"{change} the deepest fall by {abs(total - stock) * 100:.2f} percentage points.")]
