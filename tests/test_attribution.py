"""`rulebook attribute`: each rule's effects equal independent backtests, the table adds up, outputs, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from engine.cli.main import app
from engine.config.run_config import load_config
from engine.data.calendar import sessions_per_year
from engine.report.contents import build_report
from engine.run.backtest import load_run_data, run_backtest
from engine.sim.simulate import ExecutionSettings, simulate, simulate_many
from engine.sweep.attribution import BASELINE, FULL, INTERACTION, METRICS, attribute
from strategies.staging import compile_rules

CONFIG = {
    "name": "attr",
    "period": {"start": "2021-06-01", "end": "2023-12-29"},
    "universe": {"symbols": ["NVDA", "AMD", "AVGO", "MSFT", "META", "ORCL", "VRT"],
                 "groups": {"semis": ["NVDA", "AMD", "AVGO"], "hyperscalers": ["MSFT", "META", "ORCL"]}},
    "rules": {
        "selection": {"min_history": 63},
        "weighting": {"kind": "equal", "rebalance": "monthly"},
        "events": [{"kinds": ["regulatory"], "action": "scale", "scale": 0.5, "sessions": 10}],
        "caps": {"name": 0.2, "groups": {"semis": 0.4}, "band": 0.01, "cash_floor": 0.02},
        "profit_taking": {"stages": [{"gain": 0.2, "sell": 0.3}], "trailing_stop": 0.15},
    },
    "execution": {"fees_bps": 5, "slippage_bps": 5, "min_trade_weight": 0.005},
    "benchmark": "SPY",
    "hedges": [{"name": "puts", "underlying": "SPY", "structure": "protective_put", "schedule": "monthly",
                "size": {"of": "portfolio", "fraction": 0.3}, "timing": {"rule": "always"},
                "vol": {"source": "VIX"}, "rate": 0.04}],
    "report": {"enabled": False},
}
RULES = ["selection", "caps", "profit_taking", "events.0 regulatory", "hedge puts"]


def _write(path: Path, config: dict) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def config_file(tmp_path_factory) -> Path:
    return _write(tmp_path_factory.mktemp("attr") / "attr.yaml", CONFIG)


@pytest.fixture(scope="module")
def table(config_file) -> pd.DataFrame:
    return attribute(config_file).table.set_index("step")


def _backtest(tmp: Path, config: dict):
    return run_backtest(load_config(_write(tmp / f"{len(list(tmp.iterdir()))}.yaml", config)))


def _without(config: dict, *keys: str) -> dict:
    out = yaml.safe_load(yaml.safe_dump(config))
    for key in keys:
        if key == "hedges":
            out["hedges"] = []
        else:
            out["rules"].pop(key)
    return out


def test_rules_in_stage_order_then_hedges(table):
    assert list(table.index) == [BASELINE, *RULES, INTERACTION, FULL]


def test_baseline_single_effects_and_interaction_add_up_to_the_full_rule_set(table):
    for key, _ in METRICS:
        steps = table.loc[table["kind"] != "full", key]
        assert steps.sum() == pytest.approx(table.loc[FULL, key], rel=1e-12, abs=1e-15), key


def test_effects_equal_independent_backtests(table, tmp_path):
    """Levels from plain run_backtest of hand-written configs: full, baseline, caps alone, full minus caps."""
    full = _backtest(tmp_path, CONFIG).metrics
    baseline = _backtest(tmp_path, _without(CONFIG, "selection", "events", "caps", "profit_taking", "hedges")).metrics
    caps_alone = _without(CONFIG, "selection", "events", "profit_taking", "hedges")
    no_caps = _backtest(tmp_path, _without(CONFIG, "caps")).metrics
    for key in ("cagr", "volatility", "sharpe", "max_drawdown", "turnover"):
        assert table.loc[FULL, key] == pytest.approx(full[key], rel=1e-9), key
        assert table.loc[BASELINE, key] == pytest.approx(baseline[key], rel=1e-9), key
        assert table.loc["caps", f"loo_{key}"] == pytest.approx(full[key] - no_caps[key], rel=1e-9, abs=1e-12), key
    alone = _backtest(tmp_path, caps_alone).metrics
    assert table.loc["caps", "cagr"] == pytest.approx(alone["cagr"] - baseline["cagr"], rel=1e-9)


def test_costs_are_fees_and_slippage_from_the_trades(table, tmp_path):
    """Independently: fees from trades.parquet, slippage = shares x |fill price - the session's open|."""
    config = _without(CONFIG, "hedges")
    result = _backtest(tmp_path, config)
    trades = result.strategy.orders
    opens = result.data.adjusted("open")
    unslipped = np.array([opens.at[s, sym] for s, sym in zip(trades["session"], trades["symbol"])])
    paid = trades["fees"].sum() + (trades["shares"] * (trades["price"] - unslipped).abs()).sum()
    equity = result.equity
    years = (len(equity) - 1) / sessions_per_year("XNYS", equity.index[0], equity.index[-1])
    per_year = paid / equity.mean() / years
    # the hedge's own costs are the difference between the full config and the one without it
    assert table.loc[FULL, "costs"] - table.loc["hedge puts", "loo_costs"] == pytest.approx(per_year, rel=2e-3)


def test_worst_event_window_drawdown_matches_a_plain_loop(table, tmp_path):
    result = _backtest(tmp_path, CONFIG)
    values, sessions = result.equity.to_numpy(), result.equity.index
    events = result.data.events
    worst = 0.0
    for day0 in events["session_date"]:
        t0 = sessions.searchsorted(day0)
        if t0 >= len(sessions) or sessions[t0] != day0 or t0 - 11 < 0:
            continue
        high = values[t0 - 10:t0].max()  # the pre-event peak over offsets -10..-1
        for t in range(t0, min(t0 + 20, len(values) - 1) + 1):
            high = max(high, values[t])
            worst = min(worst, values[t] / high - 1.0)
    assert table.loc[FULL, "event_drawdown"] == pytest.approx(worst, rel=1e-9)


def test_sharpe_intervals_bracket_their_differences(table):
    rules = table[table["kind"] == "rule"]
    for prefix in ("", "loo_"):
        low, high, point = rules[f"{prefix}sharpe_lower"], rules[f"{prefix}sharpe_upper"], rules[f"{prefix}sharpe"]
        assert (low <= high).all()
        assert ((point > low - 0.02) & (point < high + 0.02)).all(), prefix  # a flipped sign would miss


def test_books_with_different_capped_groups_simulate_together(config_file):
    """Caps with groups and caps without them in one simulation (the attribution sweep does this)."""
    config = load_config(config_file)
    data = load_run_data(config)
    symbols = config.universe.symbols
    targets = pd.DataFrame(np.nan, index=data.sessions, columns=symbols)
    targets.iloc[::21] = 1.0 / len(symbols)
    caps = config.rules.caps
    grouped = compile_rules(symbols, config.universe.groups, caps=caps)
    plain = compile_rules(symbols, {}, caps=caps.model_copy(update={"groups": {}}))
    args = (data.adjusted("open")[symbols], data.adjusted("close")[symbols], ExecutionSettings())
    together = simulate_many([targets, targets], *args, [grouped, plain])
    for rules, result in zip((grouped, plain), together):
        assert np.allclose(result.equity, simulate(targets, *args, rules).equity, rtol=1e-12)


def test_cli_writes_the_table_and_a_report_section(config_file, table, tmp_path):
    raw = yaml.safe_load(config_file.read_text()) | {"report": {"enabled": True, "formats": ["html", "pdf"]}}
    path = _write(tmp_path / "attr.yaml", raw)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["attribute", str(path), "--out", str(out)], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "each rule added alone to the baseline" in result.output and "caps" in result.output
    saved = pd.read_parquet(out / "attribution.parquet").set_index("step")
    pd.testing.assert_frame_equal(saved, table)
    section = build_report(out).section("attribution")
    assert [chart.kind for chart in section.charts()] == ["waterfall", "waterfall"]
    rows = {row[0]: row for row in section.tables()[0].rows}
    assert rows["caps"][1] == f"{table.loc['caps', 'cagr']:+.2%}"
    html = (out / "report.html").read_text()
    assert "What each rule earned" in html and '"type":"waterfall"' in html
    assert (out / "report.pdf").stat().st_size > 10_000


def test_a_config_without_rules_is_one_line_and_exit_2(tmp_path):
    plain = {"name": "plain", "universe": {"symbols": ["NVDA", "AMD"]}, "strategy": {"kind": "equal_weight"}}
    result = CliRunner().invoke(app, ["attribute", str(_write(tmp_path / "plain.yaml", plain))])
    assert result.exit_code == 2
    assert "no rule to attribute" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "reports").exists()
