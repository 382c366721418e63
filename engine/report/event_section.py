"""The event study in the report: strategy against holding over each event window, the price
reaction of the names involved, and the average abnormal-return paths (engine.cli.events files).

The window is read from the files themselves (RunFolder.event_window), so the report says the
window that `rulebook events --window` used even when the config's event_study.window differs.
"""

from __future__ import annotations

import pandas as pd

from engine.analysis.event_stats import event_coverage
from engine.report.formatting import MISSING, integer, number, percent
from engine.report.model import Chart, Paragraph, Section, Table
from engine.run.folder import RunFolder
from engine.report.sections import frame_table
from engine.config.report import ReportConfig

TOP_ROWS = 20


def window_words(run: RunFolder) -> str:
    window = run.event_window
    if window is None:
        return ""
    text = f" Window: {-window[0]} sessions before to {window[1]} after day 0 (from the event files)."
    configured = (run.config.get("event_study") or {}).get("window")
    if configured and list(configured) != list(window):
        text += (f" The config's event_study.window is {configured[0]}:{configured[1]}; the files were written by "
                 f"`rulebook events --window {window[0]}:{window[1]}`.")
    return text


def events_section(run: RunFolder, settings: ReportConfig) -> Section | None:
    books, summary = run.optional.get("event_strategy"), run.optional.get("event_summary")
    car, rows = run.optional.get("event_car"), run.optional.get("events")
    if all(frame is None for frame in (books, summary, car, rows)):
        return None
    kinds = sorted(set().union(*(set(frame["kind"].astype(str)) for frame in (books, rows) if frame is not None
                                 and "kind" in frame.columns)))
    blocks: list = [Paragraph("What happened around each market event"
                              + (f" ({', '.join(kinds)})" if kinds else "") + ": the strategy against an "
                              "equal-weight holding of the same universe over the same window, and the prices of "
                              "the names involved (from the event study files)." + window_words(run))]
    if books is not None and {"strategy", "holding"} <= set(books["book"]):
        blocks += _strategy_vs_holding(books)
    if summary is not None:
        blocks += _reaction_by_kind(summary, event_coverage(books, rows))
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
    return Section("events", "Event study: drawdowns around market events", blocks)


def event_counts(books: pd.DataFrame) -> pd.Series:
    """Events per kind: distinct event ids (the terminal's event study table counts the same way)."""
    return books.groupby("kind")["event_id"].nunique()


def _strategy_vs_holding(books: pd.DataFrame) -> list:
    means = books.groupby(["kind", "book"])[["drawdown", "cum_return"]].mean().unstack("book")
    table = pd.DataFrame({
        "kind": means.index, "events": event_counts(books).reindex(means.index).to_numpy(),
        "DD strategy": means[("drawdown", "strategy")].to_numpy(), "DD holding": means[("drawdown", "holding")].to_numpy(),
        "return strategy": means[("cum_return", "strategy")].to_numpy(),
        "return holding": means[("cum_return", "holding")].to_numpy(),
    })
    table["DD cut"] = table["DD strategy"] - table["DD holding"]
    per_event = books.pivot_table(index=["session_date", "event_id", "kind"], columns="book", values="drawdown")
    points = pd.DataFrame({"holding": per_event["holding"].to_numpy(), "strategy": per_event["strategy"].to_numpy()},
                          index=[f"{day:%Y-%m-%d} {kind}" for day, _, kind in per_event.index])
    kinds = {name: "percent" if name.startswith("DD") else "signed_percent" for name in table.columns[2:]}
    kinds["DD cut"] = "signed_percent"
    lost_less = int((points["strategy"] > points["holding"]).sum())
    return [frame_table("Strategy vs holding, same windows (mean over events)", table, kinds, key="event_strategy"),
            Paragraph("DD: deepest fall inside the window from the pre-event peak; DD cut > 0 means the rules "
                      f"lost less than holding. Return: cumulative over the window. In {lost_less} of "
                      f"{len(points)} events the strategy fell less than holding (points above the dashed line)."),
            Chart("event_drawdowns", "Drawdown in each event window: strategy against holding", "scatter", points,
                  "strategy's drawdown", percent=True, x_label="holding's drawdown", x_percent=True, height=0.9)]


REACTION_COLUMNS = ["kind", "events", "with a stock", "with CAR", "day 0", "CAR", "95% CI", "t", "mean max DD"]


def reaction_rows(summary: pd.DataFrame, coverage: pd.DataFrame) -> list[list[str]]:
    """Cells of the price reaction by kind, one row per kind of the coverage (every kind the strategy
    table has): events, those with a stock priced over the window, then the stocks' averages."""
    by_kind = summary[(summary["subject"] == "symbols") & (summary["by"] == "kind")].set_index(["key", "metric"])
    counts = coverage.groupby("kind")["with_stock"].agg(["size", "sum"])
    rows = []
    for kind, (events, with_stock) in counts.iterrows():
        if (kind, "car") not in by_kind.index:
            rows.append([kind, integer(events), integer(with_stock), integer(0)] + [MISSING] * 5)
            continue
        car, day0, drawdown = (by_kind.loc[(kind, metric)] for metric in ("car", "day0_return", "drawdown"))
        rows.append([kind, integer(events), integer(with_stock), integer(car["n_events"]), percent(day0["mean"], 1, True),
                     percent(car["mean"], 1, True), interval(car["ci_lower_clustered"], car["ci_upper_clustered"]),
                     number(car["t_stat_clustered"]), percent(drawdown["mean"], 1)])  # one event: no t
    return rows


def coverage_note(coverage: pd.DataFrame) -> str:
    """Which events the price reaction leaves out, and why (so its counts can differ from the strategy table's)."""
    text = ("CAR: cumulative market-model abnormal return over the window. events: every event of the kind "
            "measured, as in the strategy table; with a stock: those with a "
            "named stock priced over the whole window, the only ones the price reaction can average; with CAR: "
            "those with a stock whose market model could be fitted (half the returns of sessions -250..-30 "
            "exist; a stock listed shortly before has none), the only ones CAR, its interval and t average.")
    left_out = coverage[~coverage["with_stock"]]
    if left_out.empty:
        return text
    reasons = []
    for what, part in (("name no stock", left_out[left_out["symbols"] == ""]),
                       ("name only stocks without a price over the whole window (not listed yet?)",
                        left_out[left_out["symbols"].fillna("") != ""]),
                       ("have no named stock priced over the window", left_out[left_out["symbols"].isna()])):
        if len(part):
            reasons.append(what + ": " + ", ".join(
                f"{row.session_date:%Y-%m-%d} {row.kind}" + (f" ({row.symbols.replace(';', ', ')})"
                                                            if isinstance(row.symbols, str) and row.symbols else "")
                for row in part.itertuples()))
    return text + f" Left out, {len(left_out)} event(s) that " + "; ".join(reasons) + "."


def _reaction_by_kind(summary: pd.DataFrame, coverage: pd.DataFrame) -> list:
    return [Table("Price reaction of the names involved, by event kind (95% CI clustered by event date)",
                  REACTION_COLUMNS, reaction_rows(summary, coverage), [False] + [True] * 8, key="event_reaction"),
            Paragraph(coverage_note(coverage))]


def window_cut(path: pd.DataFrame, end: int) -> str:
    """How far the windows of one CAR path reach when the data's end cuts some ('' when none is cut)."""
    reached = path[path["n"] > 0]
    last, at_end = int(reached["offset"].max()), int(path.loc[path["offset"] == end, "n"].sum())
    if last < end:
        return f"; the data ends at +{last} of +{end}"
    if at_end < path["n"].max():
        return f"; {at_end} reach +{end} before the data ends"
    return ""


def interval(lower: float, upper: float) -> str:
    """'-1.2% to +3.4%', or n/a when there is none (fewer than two event dates)."""
    if pd.isna(lower) or pd.isna(upper):
        return MISSING
    return f"{percent(lower, 1, True)} to {percent(upper, 1, True)}"


def _car_charts(car: pd.DataFrame) -> list[Chart]:
    """Mean CAR path of the names involved with its bootstrap band: all events, then each kind,
    each over the whole window (a kind whose events end early leaves the rest of the axis empty)."""
    paths = car[(car["subject"] == "symbols") & (car["measure"] == "car") & car["by"].isin(["all", "kind"])]
    offsets = pd.RangeIndex(int(car["offset"].min()), int(car["offset"].max()) + 1, name="offset")
    charts = []
    for (by, key), part in paths.groupby(["by", "key"], sort=False):
        band = part.set_index("offset").sort_index()[["mean", "lower", "upper"]].reindex(offsets)
        band.columns = ["mean", "low", "high"]
        title = "all events" if by == "all" else key
        title += f" ({integer(part['n'].max())} stock windows{window_cut(part, int(offsets[-1]))})"
        charts.append(Chart(f"car_{key}", f"Mean CAR: {title}", "band", band,
                            "CAR", percent=True, x_label="sessions from day 0", height=0.55))
    return charts
