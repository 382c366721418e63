"""The report model: which sections a run folder yields, and that its numbers are the run folder's."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.data.calendar import get_sessions, sessions_per_year
from engine.analysis.drawdowns import drawdown_table
from engine.errors import ConfigError, DataError
from engine.analysis.metrics import compute_metrics
from engine.report import performance as perf
from engine.report.formatting import parse_number
from engine.report.contents import build_report
from engine.report.formatting import HEADLINE
from report_run_folder import write_run_folder

CORE = ["summary", "metrics", "drawdowns", "returns", "rolling", "exposure", "trades", "glossary", "provenance"]
FULL = ["summary", "metrics", "drawdowns", "returns", "rolling", "exposure", "rules", "hedges", "trades", "events",
        "variants", "glossary", "provenance"]


@pytest.fixture(scope="module")
def full_dir(tmp_path_factory) -> Path:
    return write_run_folder(tmp_path_factory.mktemp("report") / "full")


@pytest.fixture(scope="module")
def full(full_dir):
    return build_report(full_dir)


def table(report, section: str, key: str):
    return next(t for t in report.section(section).tables() if t.key == key)


def test_full_run_has_every_section_in_order_and_a_core_run_omits_the_optional_ones(full, tmp_path) -> None:
    assert [s.key for s in full.sections] == FULL
    core = build_report(write_run_folder(tmp_path / "core", full=False))
    assert [s.key for s in core.sections] == CORE
    assert all(s.blocks for s in full.sections)


def test_headline_cells_are_the_metrics_json_numbers(full, full_dir) -> None:
    metrics = json.loads((full_dir / "metrics.json").read_text())
    rows = {row[0]: row for row in table(full, "metrics", "headline").rows}
    checked = 0
    for label, key, bench_key, _ in HEADLINE:
        for cell, value in ((rows[label][1], metrics[key]), (rows[label][2], metrics.get(bench_key))):
            if bench_key is None and cell == rows[label][2]:
                continue
            shown = parse_number(cell)
            decimals = len(cell.rstrip("%").split(".")[1]) if "." in cell else 0
            tolerance = 0.51 * 10 ** -decimals * (0.01 if cell.endswith("%") else 1)
            assert shown == pytest.approx(value, abs=tolerance), (label, cell, value)
            checked += 1
    assert checked >= len(HEADLINE) + 4


def test_drawdown_table_is_engine_drawdowns_and_its_worst_is_the_metric(full, full_dir) -> None:
    equity = pd.read_parquet(full_dir / "equity.parquet").set_index("date")["equity"]
    expected = drawdown_table(equity, top=10)
    rows = table(full, "drawdowns", "worst_drawdowns").rows
    assert [r[1] for r in rows] == [d.date().isoformat() for d in expected["peak"]]
    assert [parse_number(r[4]) for r in rows] == pytest.approx(expected["depth"].round(4).tolist(), abs=1e-9)
    metrics = json.loads((full_dir / "metrics.json").read_text())
    assert parse_number(rows[0][4]) == pytest.approx(metrics["max_drawdown"], abs=5e-5)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-0.2, 0.2), min_size=30, max_size=300), st.sampled_from(["ME", "YE"]))
def test_period_returns_compound_to_the_total_return(returns, freq) -> None:
    sessions = get_sessions("2020-01-02", "2022-12-30")[: len(returns) + 1]
    curve = pd.Series(np.cumprod([1.0] + [1 + r for r in returns]), index=sessions)
    periods = perf.period_returns(curve, freq)
    assert np.prod(1 + periods.to_numpy()) == pytest.approx(curve.iloc[-1] / curve.iloc[0], rel=1e-9)
    assert periods.index[-1].to_period(freq[0]) == sessions[-1].to_period(freq[0])  # last period holds the last session


def test_yearly_returns_are_year_end_closes_over_each_other(full, full_dir) -> None:
    equity = pd.read_parquet(full_dir / "equity.parquet").set_index("date")["equity"]
    year_ends = [equity[equity.index.year == y].iloc[-1] for y in (2019, 2020, 2021)]
    expected = [year_ends[0] / equity.iloc[0] - 1, year_ends[1] / year_ends[0] - 1, year_ends[2] / year_ends[1] - 1]
    rows = table(full, "returns", "yearly").rows
    assert [parse_number(r[1]) for r in rows] == pytest.approx(expected, abs=5e-5)


def test_rolling_statistics_at_the_last_session_equal_engine_metrics_on_that_window(full_dir) -> None:
    frame = pd.read_parquet(full_dir / "equity.parquet").set_index("date")
    ppy = sessions_per_year("XNYS", frame.index[0], frame.index[-1])
    stats = perf.rolling_statistics(frame["equity"], frame["benchmark"], ppy, risk_free=0.01)
    window = perf.rolling_window(ppy)
    last = frame.iloc[-(window + 1):]
    expected = compute_metrics(last["equity"], periods_per_year=ppy, benchmark_equity=last["benchmark"], risk_free=0.01)
    assert stats["sharpe"]["strategy"].iloc[-1] == pytest.approx(expected["sharpe"], rel=1e-9)
    assert stats["sharpe"]["benchmark"].iloc[-1] == pytest.approx(expected["benchmark_sharpe"], rel=1e-9)
    assert stats["volatility"]["strategy"].iloc[-1] == pytest.approx(expected["volatility"], rel=1e-9)
    assert stats["beta"]["beta"].iloc[-1] == pytest.approx(expected["beta"], rel=1e-9)
    assert stats["sharpe"].index[0] == frame.index[window]  # first full window


def test_exposure_groups_follow_the_config_and_sum_to_gross(full_dir) -> None:
    weights = pd.read_parquet(full_dir / "weights.parquet").set_index("date")
    groups = {"semis": ["NVDA", "AMD"], "power": ["VRT", "CEG"]}
    by_group = perf.exposure_by_group(weights, groups)
    assert list(by_group.columns) == ["semis", "power", "other"]
    assert by_group["semis"].to_numpy() == pytest.approx((weights["NVDA"] + weights["AMD"]).to_numpy())
    assert by_group.sum(axis=1).to_numpy() == pytest.approx(perf.gross_exposure(weights).to_numpy())


def test_rule_activity_counts_what_the_log_says(full, full_dir) -> None:
    log = pd.read_parquet(full_dir / "rules.parquet")
    counts = {row[0]: int(parse_number(row[1])) for row in table(full, "rules", "rules_by_rule").rows}
    assert counts == log["rule"].value_counts().to_dict()
    families = {row[0]: int(parse_number(row[1])) for row in table(full, "rules", "rule_families").rows}
    screened = log[(log["rule"] == "screen") & (log["after"] == 0)]["symbol"].nunique()
    # stages are the profit_taking rows that fired a stage: not the buys capped after one, not staged entry
    assert families == {"Caps binding": 12, "Profit-taking stages fired": 4, "Buys capped at what a stage left": 2,
                        "Staged-entry tranches": 3, "Names screened out": screened}


def test_event_headline_is_the_mean_over_events_of_each_book(full, full_dir) -> None:
    books = pd.read_parquet(full_dir / "event_strategy.parquet")
    rows = {row[0]: row for row in table(full, "events", "event_strategy").rows}
    for kind, part in books.groupby("kind"):
        strategy = part.loc[part["book"] == "strategy", "drawdown"].mean()
        holding = part.loc[part["book"] == "holding", "drawdown"].mean()
        assert parse_number(rows[kind][2]) == pytest.approx(strategy, abs=5e-5)
        assert parse_number(rows[kind][3]) == pytest.approx(holding, abs=5e-5)
        assert parse_number(rows[kind][6]) == pytest.approx(strategy - holding, abs=5e-5)


def test_hedge_net_is_premium_fees_and_payoff_plus_value_still_open(full) -> None:
    row = table(full, "hedges", "hedge_legs").rows[0]
    assert row[0] == "spy_put"
    paid, received, fees, payoff, open_value, net = (parse_number(cell) for cell in row[1:])
    assert (paid, received, fees, payoff, open_value) == (5000, 0, 50, 2000, 0)
    assert net == -3050


def test_variant_ranking_is_by_sharpe_and_significance_is_in_words(full, full_dir) -> None:
    variants = pd.read_parquet(full_dir / "variants.parquet")
    section = full.section("variants")
    ranked = [row[0] for row in section.tables()[0].rows]
    order = variants.sort_values("sharpe", ascending=False)["variant"].tolist()
    assert ranked == order
    words = " ".join(b.text for b in section.blocks if hasattr(b, "text"))
    assert "1 of 6 variants have a bootstrap interval of the Sharpe difference above zero" in words
    assert words.split("base config: ", 1)[1].startswith("v0.")
    heatmap = next(chart for chart in section.charts() if chart.kind == "heatmap")
    assert heatmap.title == "sharpe by cap (rows) and stage"  # parameters, not the statistics columns
    assert not heatmap.diverging  # the colour scale spans the data
    best = variants.loc[variants["sharpe"].idxmax()]
    assert (f"With 6 variants tried, a best sharpe of {best['sharpe']:.2f} ({best['variant']}) is what luck alone "
            f"would give {1 - best['dsr']:.0%} of the time") in words
    assert "Probability of backtest overfitting 35%" in words
    curves = next(chart for chart in section.charts() if chart.key == "variant_equity")
    assert list(curves.data.columns) == ["base", f"best: {order[0]}", f"worst: {order[-1]}"]


def test_bad_page_size_and_incomplete_folder_are_clear_errors(full_dir, tmp_path) -> None:
    with pytest.raises(ConfigError, match="--page-size"):
        build_report(full_dir, page_size="A5")
    (tmp_path / "half").mkdir()
    with pytest.raises(DataError, match="config.yaml"):
        build_report(tmp_path / "half")


def test_log_scale_setting_reaches_the_equity_chart(tmp_path) -> None:
    folder = write_run_folder(tmp_path / "log", full=False)
    text = (folder / "config.yaml").read_text().replace("log_scale: false", "log_scale: true")
    (folder / "config.yaml").write_text(text)
    chart = build_report(folder).section("summary").charts()[0]
    assert chart.log_y and not math.isnan(chart.data.iloc[-1, 0])


def test_scenarios_section_shows_each_case_and_the_expectation(tmp_path: Path) -> None:
    from engine.report.contents import build_report
    from report_run_folder import write_run_folder

    run = write_run_folder(tmp_path / "run", full=False)
    assert build_report(run).section("scenarios") is None, "no scenarios.parquet, no section"
    rows = [("base", 0.55, "low", -0.05), ("base", 0.55, "high", 0.07), ("bear", 0.45, "low", -0.20),
            ("bear", 0.45, "high", -0.10), ("all", 1.0, "expected", 0.55 * 0.01 + 0.45 * -0.15)]
    frame = pd.DataFrame([(s, p, m, hedged, r * 1e6, r, pd.Timestamp("2021-12-31"), "outlook", 15)
                          for s, p, m, r in rows for hedged in (False, True)],
                         columns=["scenario", "probability", "measure", "with_hedges", "pnl", "ret", "as_of", "set",
                                  "horizon"])
    frame.to_parquet(run / "scenarios.parquet", index=False)
    section = build_report(run).section("scenarios")
    table = section.tables()[0]
    assert table.columns == ["scenario", "stated probability", "case", "return without hedges",
                             "return with hedges"]
    assert [row[:3] for row in table.rows][:2] == [["base", "55.00%", "low"], ["base", "55.00%", "high"]]
    assert table.rows[2][3] == "-20.00%" and len(table.rows) == 4  # the expectation is in the words
    assert "-6.20% without hedges" in section.blocks[0].text and "15 sessions" in section.blocks[0].text
    assert [chart.key for chart in section.charts()] == ["scenario_base", "scenario_bear"]

    pd.DataFrame({"factor": ["benchmark", "benchmark", "semis"], "realised": [0.01, -0.2, 0.3],
                  "scenario": ["base", "bear", "base"], "inside": [True, True, False], "brier": [0.305, 0.905, 0.305],
                  "as_of": pd.to_datetime(["2021-10-29", "2021-11-30", "2021-10-29"]), "issued": "month_end"}
                 ).to_parquet(run / "scorecard.parquet", index=False)
    scorecard = build_report(run).section("scenarios").tables()[-1]
    # mean Brier of the benchmark: (0.305 + 0.905) / 2 = 0.605, a float just below 0.605, shown as 0.60
    assert scorecard.rows == [["benchmark", "2", "0.60", "100.00%"], ["semis", "1", "0.30", "0.00%"]]


def test_hedges_section_states_the_effect_on_the_max_drawdown(tmp_path: Path) -> None:
    from engine.report.contents import build_report
    from report_run_folder import write_run_folder

    run = write_run_folder(tmp_path / "run", full=True)
    equity = pd.read_parquet(run / "equity.parquet")
    fall = (equity["equity"].cummax() - equity["equity"]) * 0.3  # the hedge pays 30% of every fall back
    equity["hedge_value"], equity["hedge_cash"] = fall, -1000.0
    equity["equity"] = equity["equity"] + fall - 1000.0
    equity.to_parquet(run / "equity.parquet", index=False)
    text = build_report(run).section("hedges").blocks[0].text

    def max_dd(x: pd.Series) -> float:
        return float((x / x.cummax() - 1).min())

    with_hedges, without = max_dd(equity["equity"]), max_dd(equity["equity"] - fall + 1000.0)
    assert with_hedges > without
    assert f"with the hedges {100 * with_hedges:.2f}%" in text and f"without them {100 * without:.2f}%" in text
    assert f"cut the deepest fall by {100 * (with_hedges - without):.2f} percentage points" in text
