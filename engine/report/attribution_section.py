"""The report's "What each rule earned" section, from attribution.parquet (engine.sweep.attribution).

The cells are built here once, for the report's tables and for `rulebook attribute`'s terminal
table, so both print the same numbers. Levels (baseline, full rule set) print as levels; a rule's
row and the interaction print as changes: CAGR, volatility and costs in percentage points a year,
drawdowns in points (pt) of depth (+ = shallower), Sharpe with the paired bootstrap 95% interval.
"""

from __future__ import annotations

import pandas as pd

from engine.report.formatting import MISSING, number, percent
from engine.report.model import Chart, Paragraph, Section, Table
from engine.run.folder import RunFolder
from engine.config.report import ReportConfig

COLUMNS = ("step", "CAGR", "volatility", "Sharpe", "Sharpe 95% CI", "max DD", "event DD", "turnover", "costs/yr")


def _points(value, signed: bool) -> str:
    if pd.isna(value):
        return MISSING
    return f"{100 * value:+.1f}pt" if signed else percent(value, 1)


def _cells(row: pd.Series, prefix: str, change: bool) -> list[str]:
    def get(key):
        return row.get(prefix + key)

    lower, upper = get("sharpe_lower"), get("sharpe_upper")
    interval = "" if pd.isna(lower) or pd.isna(upper) else f"{lower:+.2f} to {upper:+.2f}"
    turnover = get("turnover")
    return [percent(get("cagr"), 2, signed=change), percent(get("volatility"), 2, signed=change),
            number(get("sharpe"), signed=change), interval,
            _points(get("max_drawdown"), change), _points(get("event_drawdown"), change),
            MISSING if pd.isna(turnover) else f"{turnover:{'+' if change else ''}.2f}x",
            percent(get("costs"), 2, signed=change)]


def add_one_in_rows(table: pd.DataFrame) -> list[list[str]]:
    """Baseline, each rule added alone, the interaction, the full rule set (they add up column by column)."""
    return [[row.step, *_cells(row, "", row.kind in ("rule", "interaction"))] for _, row in table.iterrows()]


def leave_one_out_rows(table: pd.DataFrame) -> list[list[str]]:
    """Each rule's change when it is removed from the full rule set (full minus without it)."""
    return [[row.step, *_cells(row, "loo_", True)] for _, row in table[table["kind"] == "rule"].iterrows()]


def waterfall(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Waterfall data (engine.report.model.Chart) from the baseline through each rule to the full rule set."""
    measure = {"baseline": "absolute", "rule": "relative", "interaction": "relative", "full": "total"}
    return pd.DataFrame({"value": table[metric].to_numpy(), "measure": table["kind"].map(measure).to_numpy()},
                        index=pd.Index(table["step"], name="step"))


def attribution_section(run: RunFolder, settings: ReportConfig) -> Section | None:
    table = run.optional.get("attribution")
    if table is None:
        return None
    rules = table[table["kind"] == "rule"]
    best = rules.loc[rules["sharpe"].idxmax()] if len(rules) else None
    lead = ("Each rule measured two ways (from attribution.parquet): added alone to the baseline (the config's "
            "weighting and execution with every other rule off) and left out of the full rule set. The "
            "interaction is what the rules do together beyond their single effects, so the baseline, the rules "
            "and the interaction add up to the full rule set in every column. Changes: CAGR, volatility and "
            "costs in percentage points a year, drawdowns in points of depth (+ = shallower); the Sharpe "
            "interval is the paired stationary-bootstrap 95% interval of the difference.")
    blocks = [Paragraph(lead)]
    if best is not None:
        blocks.append(Paragraph(f"Alone, {best.step} adds the most Sharpe ({best.sharpe:+.2f}); "
                                f"the rules together move CAGR by {percent(table['cagr'].iloc[-1] - table['cagr'].iloc[0], 2, signed=True)} "
                                f"and the max drawdown by {_points(table['max_drawdown'].iloc[-1] - table['max_drawdown'].iloc[0], True)}."))
    blocks += [
        Chart("attribution_cagr", "CAGR: baseline → each rule → full rule set", "waterfall", waterfall(table, "cagr"),
              "CAGR", percent=True, x_label="step"),
        Chart("attribution_max_drawdown", "Max drawdown: baseline → each rule → full rule set", "waterfall",
              waterfall(table, "max_drawdown"), "max drawdown", percent=True, x_label="step"),
        Table("Add-one-in: each rule alone on the baseline", list(COLUMNS), add_one_in_rows(table),
              [False] + [True] * (len(COLUMNS) - 1), key="attribution_add"),
        Table("Leave-one-out: the full rule set minus each rule", list(COLUMNS), leave_one_out_rows(table),
              [False] + [True] * (len(COLUMNS) - 1), key="attribution_drop"),
    ]
    return Section("attribution", "What each rule earned", blocks)
