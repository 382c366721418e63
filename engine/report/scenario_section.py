"""Scenarios in the report (files of `rulebook scenarios`): each case's P&L at the low end, midpoint
and high end of its ranges with and without hedges, the Monte Carlo distribution, the historical
stress replay and the forecast scorecard.

A case's probability is what the outlook states; the Monte Carlo's share of draws is how often the
simulation drew that case (close to the stated probability, never the same number): they are kept
in separate columns.
"""

from __future__ import annotations

import pandas as pd

from engine.report.formatting import percent
from engine.report.model import Chart, Paragraph, Section
from engine.run.folder import RunFolder
from engine.report.sections import frame_table
from engine.config.report import ReportConfig

HEDGED = {False: "without hedges", True: "with hedges"}
QUANTILE_LABELS = {"mc_q01": "1%", "mc_q05": "5%", "mc_q25": "25%", "mc_q50": "50%", "mc_q75": "75%",
                   "mc_q95": "95%", "mc_q99": "99%"}


def scenarios_section(run: RunFolder, settings: ReportConfig) -> Section | None:
    frame = run.optional.get("scenarios")
    if frame is None:
        return None
    first = frame.iloc[0]
    cases = frame[frame["measure"].isin(["low", "mid", "high"])]
    table = cases.pivot_table(index=["scenario", "probability", "measure"], columns="with_hedges", values="ret",
                              sort=False).reset_index()
    table.columns = ["scenario", "stated probability", "case"] + [
        f"return {HEDGED[bool(hedged)]}" for hedged in table.columns[3:]]
    expected = frame[frame["measure"] == "expected"].set_index("with_hedges")["ret"]
    blocks = [
        Paragraph(f"Outlook '{first['set']}' applied to the portfolio of {pd.Timestamp(first['as_of']).date()} over "
                  f"{int(first['horizon'])} sessions: low, mid and high put every range of a case at its low end, "
                  "midpoint or high end. The probability-weighted expectation is "
                  f"{percent(expected.get(False))} without hedges and {percent(expected.get(True))} with them "
                  "(from scenarios.parquet)."),
        frame_table("Scenario impact (stated probabilities)", table,
                    {"stated probability": "percent", **{c: "signed_percent" for c in table.columns[3:]}},
                    key="scenarios"),
    ]
    for scenario, part in cases.groupby("scenario", sort=False):
        bars = part.pivot_table(index="measure", columns="with_hedges", values="ret", sort=False)
        bars.columns = [HEDGED[bool(c)] for c in bars.columns]
        blocks.append(Chart(f"scenario_{scenario}", f"{scenario} (p = {percent(part['probability'].iloc[0], 0)}): "
                            "portfolio return at the low end, midpoint and high end", "bars", bars, "return",
                            percent=True, x_label="case", height=0.55))
    blocks += _monte_carlo(frame)
    blocks += _stress_and_scorecard(run)
    return Section("scenarios", "Scenarios and stress tests", blocks)


def _monte_carlo(frame: pd.DataFrame) -> list:
    draws = frame[frame["measure"].str.startswith("mc_")]
    if draws.empty:
        return []
    overall = draws[draws["scenario"] == "all"]
    quantiles = overall[overall["measure"].isin(QUANTILE_LABELS)].pivot_table(
        index="measure", columns="with_hedges", values="ret", sort=False)
    quantiles.index = [QUANTILE_LABELS[m] for m in quantiles.index]
    quantiles.columns = [HEDGED[bool(c)] for c in quantiles.columns]
    rows = []
    for (scenario, hedged), part in draws.groupby(["scenario", "with_hedges"], sort=False):
        values = part.set_index("measure")
        rows.append({"scenario": scenario, "hedges": "with" if hedged else "without",
                     "share of draws": values["probability"].iloc[0], "mean": values.loc["mc_mean", "ret"],
                     "loss probability": values.loc["mc_loss_probability", "pnl"],
                     "5th percentile": values.loc["mc_q05", "ret"], "median": values.loc["mc_q50", "ret"],
                     "95th percentile": values.loc["mc_q95", "ret"]})
    kinds = {"share of draws": "percent", "loss probability": "percent", "mean": "signed_percent",
             "5th percentile": "signed_percent", "median": "signed_percent", "95th percentile": "signed_percent"}
    return [
        Paragraph("Monte Carlo: each draw picks a case by its stated probability and every factor uniformly in "
                  "its range, plus each name's own noise; 'share of draws' is how often a case was drawn."),
        Chart("scenario_monte_carlo", "Monte Carlo distribution of the portfolio return (percentiles)", "bars",
              quantiles, "return", percent=True, x_label="percentile of the draws", height=0.6),
        frame_table("Monte Carlo by case", pd.DataFrame(rows), kinds, key="scenario_mc"),
    ]


def _stress_and_scorecard(run: RunFolder) -> list:
    blocks = []
    stress = run.optional.get("stress")
    if stress is not None:
        replay = stress.pivot_table(index=["window", "start", "end", "benchmark_return"], columns="with_hedges",
                                    values="ret", sort=False).reset_index()
        replay.columns = ["window", "start", "end", "benchmark"] + [
            f"return {HEDGED[bool(hedged)]}" for hedged in replay.columns[4:]]
        blocks.append(frame_table("Historical stress replay", replay,
                                  {c: "signed_percent" for c in replay.columns[3:]}, key="stress"))
    scorecard = run.optional.get("scorecard")
    if scorecard is not None and len(scorecard):
        by_factor = scorecard.groupby("factor", sort=False).agg(
            outlooks=("brier", "size"), mean_brier=("brier", "mean"), inside_a_range=("inside", "mean")).reset_index()
        by_factor.columns = ["factor", "outlooks", "mean Brier score", "inside a range"]
        blocks += [Paragraph("Scorecard: the outlook re-issued at every month end and scored on what followed "
                             "(Brier score: 0 = certain and right, 2 = certain and wrong; from scorecard.parquet)."),
                   frame_table("Forecast scorecard", by_factor,
                               {"mean Brier score": "ratio", "inside a range": "percent"}, key="scorecard")]
    return blocks
