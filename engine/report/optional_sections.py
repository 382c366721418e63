"""Sections from files other features add to a run folder; each is left out when its file is absent.

Columns read (as documented by the modules that write them):
rules.parquet: session, symbol, rule, before, after, reason (strategies.activity).
hedges.parquet: date, hedge, value, premium, fees, settlement, cash_flow (engine.hedges.book).
events, event_summary, event_car, event_strategy.parquet: as documented in engine.cli.events.
variants.parquet: one row per variant, parameters and metrics (metrics.json keys).
scenarios.parquet: scenario, probability, measure, with_hedges, pnl, ret, as_of, set, horizon (engine.analysis.scenarios).
stress.parquet: window, start, end, with_hedges, pnl, ret, benchmark_return (engine.analysis.stress).
scorecard.parquet: factor, realised, scenario, inside, brier, as_of, issued (engine.analysis.scorecard).
"""

from __future__ import annotations

import pandas as pd

from engine.analysis.drawdowns import drawdown_fractions
from engine.report.formatting import integer, money, percent
from engine.report.model import Chart, Paragraph, RunFolder, Section, Table
from engine.report.sections import frame_table
from engine.config.report import ReportConfig

RULE_FAMILIES = (  # what the issue asks a reader to see, matched on rule names
    ("Caps binding", ("cap",), False),
    ("Profit-taking stages fired", ("profit", "stage", "trail"), False),
    ("Names screened out", ("screen",), True),
    ("Event actions", ("event",), False),
    ("Regime actions", ("regime",), False),
)
TOP_ROWS = 20
VARIANT_STATISTICS = {"sharpe_diff", "diff_lower", "diff_upper", "beats_base", "psr", "dsr", "verdict"}  # not parameters


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
    for label, words, screened_out in RULE_FAMILIES:
        hits = log[log["rule"].str.lower().str.contains("|".join(words))]
        if len(hits):
            count = hits.loc[hits["after"].fillna(0.0) == 0.0, "symbol"].nunique() if screened_out else len(hits)
            families.append([label, integer(count), ", ".join(sorted(hits["rule"].unique()))])
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
        Chart("rules_timeline", "Rule actions per month", "stacked_bars", monthly, "actions", height=0.7),
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
        Chart("hedge_value", "Hedge value and cumulative cash flow", "lines", curves, "value", height=0.6),
    ])


def _drawdown_effect(equity: pd.DataFrame) -> list[Paragraph]:
    """Max drawdown of the total book against the stock book alone (equity less the hedges' value and
    cash account, both in equity.parquet)."""
    if not {"hedge_value", "hedge_cash"} <= set(equity.columns):
        return []
    total = drawdown_fractions(equity["equity"].to_numpy(dtype=float)).min()
    stock = drawdown_fractions((equity["equity"] - equity["hedge_value"] - equity["hedge_cash"]).to_numpy(
        dtype=float)).min()
    change = "cut" if total > stock else "deepened"
    return [Paragraph(f"Max drawdown with the hedges {percent(total)}, without them {percent(stock)}: the hedges "
                      f"{change} the deepest fall by {abs(total - stock) * 100:.2f} percentage points.")]


def events_section(run: RunFolder, settings: ReportConfig) -> Section | None:
    """The event study's headline table (strategy vs holding by kind) and figures (engine.cli.events files)."""
    books, summary = run.optional.get("event_strategy"), run.optional.get("event_summary")
    car, rows = run.optional.get("event_car"), run.optional.get("events")
    if all(frame is None for frame in (books, summary, car, rows)):
        return None
    blocks: list = [Paragraph("What happened around each AI deal announcement and other market event, over the "
                              "event window: the strategy against an equal-weight holding of the same universe, "
                              "and the prices of the names involved (from the event study files).")]
    if books is not None and {"strategy", "holding"} <= set(books["book"]):
        blocks += _strategy_vs_holding(books)
    if summary is not None:
        blocks.append(_reaction_by_kind(summary))
    if car is not None:
        blocks += _car_charts(car)
    if rows is not None:
        involved = rows[rows["role"] == "involved"] if "role" in rows.columns else rows
        worst = involved.nsmallest(TOP_ROWS, "drawdown")[["session_date", "kind", "symbol", "day0_return", "car",
                                                          "drawdown", "trough_date", "sessions_to_recover"]]
        blocks.append(frame_table(f"Deepest drawdowns of involved names (top {TOP_ROWS})", worst.rename(columns={
            "session_date": "day 0", "day0_return": "day 0 return", "trough_date": "trough",
            "sessions_to_recover": "sessions to recover"}), {"day 0 return": "signed_percent", "car": "signed_percent",
                                                             "drawdown": "percent"}, key="events_worst"))
    return Section("events", "Drawdowns around AI deal announcements", blocks)


def _strategy_vs_holding(books: pd.DataFrame) -> list:
    means = books.groupby(["kind", "book"])[["drawdown", "cum_return"]].mean().unstack("book")
    table = pd.DataFrame({
        "kind": means.index, "events": books.groupby("kind")["event_id"].nunique().reindex(means.index).to_numpy(),
        "DD strategy": means[("drawdown", "strategy")].to_numpy(), "DD holding": means[("drawdown", "holding")].to_numpy(),
        "return strategy": means[("cum_return", "strategy")].to_numpy(),
        "return holding": means[("cum_return", "holding")].to_numpy(),
    })
    table["DD cut"] = table["DD strategy"] - table["DD holding"]
    per_event = books.pivot_table(index=["session_date", "event_id", "kind"], columns="book", values="drawdown")
    bars = pd.DataFrame({"Strategy": per_event["strategy"].to_numpy(), "Holding": per_event["holding"].to_numpy()},
                        index=[f"{day:%Y-%m-%d} {kind}" for day, _, kind in per_event.index])
    kinds = {name: "percent" if name.startswith("DD") else "signed_percent" for name in table.columns[2:]}
    kinds["DD cut"] = "signed_percent"
    return [frame_table("Strategy vs holding, same windows (mean over events)", table, kinds, key="event_strategy"),
            Paragraph("DD: deepest fall inside the window from the pre-event peak; DD cut > 0 means the rules "
                      "lost less than holding. Return: cumulative over the window."),
            Chart("event_drawdowns", "Drawdown in each event window: strategy vs holding", "bars", bars,
                  "drawdown", percent=True, height=0.8)]


def _reaction_by_kind(summary: pd.DataFrame) -> Table:
    by_kind = summary[(summary["subject"] == "symbols") & (summary["by"] == "kind")].set_index(["key", "metric"])
    rows = []
    for kind in by_kind.index.get_level_values(0).unique():
        car, day0, drawdown = (by_kind.loc[(kind, metric)] for metric in ("car", "day0_return", "drawdown"))
        rows.append([kind, integer(day0["n_events"]), percent(day0["mean"], 1, True), percent(car["mean"], 1, True),
                     f"{percent(car['ci_lower_clustered'], 1, True)} to {percent(car['ci_upper_clustered'], 1, True)}",
                     f"{car['t_stat_clustered']:.2f}", percent(drawdown["mean"], 1)])
    return Table("Price reaction of the names involved, by event kind", ["kind", "events", "day 0", "CAR",
                 "95% CI (clustered)", "t (clustered)", "mean max DD"], rows,
                 [False, True, True, True, True, True, True], key="event_reaction")


def variants_section(run: RunFolder, settings: ReportConfig) -> Section | None:
    variants = run.optional.get("variants")
    if variants is None:
        return None
    metric_columns = [name for name in variants.columns if name in run.metrics]
    label = next((name for name in ("variant", "name") if name in variants.columns), None)
    params = [name for name in variants.columns if name not in metric_columns and name != label
              and name not in VARIANT_STATISTICS and not pd.api.types.is_bool_dtype(variants[name])]
    rank_by = "sharpe" if "sharpe" in variants.columns else (metric_columns or [variants.columns[-1]])[0]
    ranked = variants.sort_values(rank_by, ascending=False, kind="stable").head(TOP_ROWS)
    shown = [name for name in [label, *params, "sharpe", "cagr", "max_drawdown", "total_return", "verdict"]
             if name is not None and name in ranked.columns]
    blocks = [frame_table(f"Variants ranked by {rank_by} (top {TOP_ROWS})", ranked[list(dict.fromkeys(shown))],
                          key="variants_ranking"),
              Paragraph(_significance_words(variants, label))]
    numeric_params = [name for name in params if pd.api.types.is_numeric_dtype(variants[name])]
    if len(numeric_params) >= 2:
        grid = variants.pivot_table(index=numeric_params[0], columns=numeric_params[1], values=rank_by, aggfunc="mean")
        grid.index = [str(v) for v in grid.index]
        grid.columns = [str(v) for v in grid.columns]
        blocks.insert(1, Chart("variants_heatmap", f"{rank_by} by {numeric_params[0]} (rows) and {numeric_params[1]}",
                               "heatmap", grid, percent=rank_by not in ("sharpe", "sortino", "calmar"), height=0.7))
    return Section("variants", "Variant comparison", blocks)


def _significance_words(variants: pd.DataFrame, label: str | None) -> str:
    """What the bootstrap says, in words; the per-variant verdict column (if any) is in the ranking table."""
    if "beats_base" not in variants.columns:
        return "variants.parquet carries no significance test, so no variant is claimed to beat the base config."
    winners = variants[variants["beats_base"].fillna(False).astype(bool)]
    if winners.empty:
        return f"None of the {len(variants)} variants has a Sharpe ratio reliably above the base config's."
    names = ", ".join(winners[label].astype(str)) if label else f"{len(winners)} variants"
    return (f"{len(winners)} of {len(variants)} variants have a bootstrap interval of the Sharpe difference above "
            f"zero against the base config: {names}. See each variant's verdict for whether that survives the "
            "number of variants tried (deflated Sharpe).")


def _car_charts(car: pd.DataFrame) -> list[Chart]:
    """Mean CAR path of the names involved with its bootstrap band: all events, then each kind."""
    paths = car[(car["subject"] == "symbols") & (car["measure"] == "car") & car["by"].isin(["all", "kind"])]
    charts = []
    for (by, key), part in paths.groupby(["by", "key"], sort=False):
        band = part.set_index("offset").sort_index()[["mean", "lower", "upper"]]
        band.columns = ["mean", "low", "high"]
        title = "all events" if by == "all" else f"{key} ({integer(part['n'].max())} event-symbol windows)"
        charts.append(Chart(f"car_{key}", f"Average cumulative abnormal return: {title}", "band", band,
                            "CAR", percent=True, height=0.55))
    return charts


def scenarios_section(run: RunFolder, settings: ReportConfig) -> Section | None:
    """The outlook's scenarios on the portfolio (rulebook scenarios), and historical stress windows."""
    cases = run.optional.get("scenarios")
    if cases is None:
        return None
    first = cases.iloc[0]
    table = cases.pivot_table(index=["scenario", "probability", "measure"], columns="with_hedges", values="ret",
                              sort=False).reset_index()
    table.columns = ["scenario", "probability", "case"] + [
        "return with hedges" if hedged else "return without hedges" for hedged in table.columns[3:]]
    expected = cases[cases["measure"] == "expected"]["ret"]
    blocks = [
        Paragraph(f"Outlook '{first['set']}' issued {pd.Timestamp(first['as_of']).date()} over {int(first['horizon'])} "
                  f"sessions: low, mid and high put every range at its low end, midpoint or high end; the "
                  f"probability-weighted expectation is {percent(expected.iloc[0]) if len(expected) else 'n/a'} "
                  "(from scenarios.parquet)."),
        frame_table("Scenario impact", table, {"probability": "percent", **{c: "percent" for c in table.columns[3:]}},
                    key="scenarios"),
    ]
    stress = run.optional.get("stress")
    if stress is not None:
        replay = stress.pivot_table(index=["window", "start", "end", "benchmark_return"], columns="with_hedges",
                                    values="ret", sort=False).reset_index()
        replay.columns = ["window", "start", "end", "benchmark"] + [
            "return with hedges" if hedged else "return without hedges" for hedged in replay.columns[4:]]
        blocks.append(frame_table("Historical stress replay", replay,
                                  {c: "percent" for c in replay.columns[3:]}, key="stress"))
    scorecard = run.optional.get("scorecard")
    if scorecard is not None and len(scorecard):
        by_factor = scorecard.groupby("factor", sort=False).agg(
            outlooks=("brier", "size"), mean_brier=("brier", "mean"), inside_a_range=("inside", "mean")).reset_index()
        blocks += [Paragraph("Scorecard: the outlook re-issued at every month end and scored on what followed "
                             "(Brier score: 0 = certain and right, 2 = certain and wrong; from scorecard.parquet)."),
                   frame_table("Forecast scorecard", by_factor,
                               {"mean_brier": "ratio", "inside_a_range": "percent"}, key="scorecard")]
    return Section("scenarios", "Scenarios and stress tests", blocks)


OPTIONAL_SECTIONS = (rules_section, hedges_section)
STUDY_SECTIONS = (events_section, variants_section, scenarios_section)
