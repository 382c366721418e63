"""`rulebook today` decides what the backtest decides: a backtest's book at the close of D (shares and
cash, the rule state from its own kernel) fed to `today --date D` gives the orders the backtest sent at D."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from engine.cli.main import app
from engine.config.run_config import load_config
from engine.practice.state import FIELDS, kernel_state, state_column, state_names
from engine.run.backtest import rule_groups, run_backtest
from engine.sim import rule_kernels as rk
from engine.sim.simulate import ExecutionSettings, simulate
from strategies.pipeline import run_pipeline

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "column.yaml"
# a build-out rebalance, a profit-taking stage, a trailing stop, the regime cutting gross, cap-drift trims,
# a month end, an ordinary session
SESSIONS = ("2016-04-29", "2016-05-02", "2016-05-11", "2022-06-29", "2022-12-20", "2023-03-31", "2024-08-14")


@pytest.fixture(scope="module")
def backtest():
    config = load_config(CONFIG)
    result = run_backtest(config)
    pipeline = run_pipeline(config.rules, result.data, config.universe.symbols, rule_groups(config, result.data))
    return config, result, pipeline


def book_at(backtest, day: pd.Timestamp):
    """(real shares, cash, kernel state) of the backtest's book at the close of ``day``: its own kernel run
    to that session (and checked against the full run's positions)."""
    config, result, pipeline = backtest
    symbols = config.universe.symbols
    i = result.data.sessions.get_loc(day)
    rows = result.data.sessions[:i + 1]
    kernel = pipeline.kernel_rules
    kernel = dataclasses.replace(kernel, gross_limit=kernel.gross_limit.loc[rows], no_buy=kernel.no_buy.loc[rows])
    upto = simulate(pipeline.targets.loc[rows], result.data.adjusted("open")[symbols].loc[rows],
                    result.data.adjusted("close")[symbols].loc[rows],
                    ExecutionSettings(**config.execution.model_dump()), kernel)
    np.testing.assert_allclose(upto.positions.iloc[-1], result.strategy.positions.iloc[i], rtol=1e-12)
    scale = result.data.adj_factor[symbols].iloc[i].fillna(1.0)
    return upto.positions.iloc[-1] * scale, float(upto.cash.iloc[-1]), upto.rule_state, scale


def write_inputs(tmp: Path, backtest, day: pd.Timestamp, with_state: bool = True) -> tuple[Path, Path | None]:
    config, result, _ = backtest
    shares, cash, state, scale = book_at(backtest, day)
    held = shares[shares > 0]
    cost = state[:, rk.COST][shares.to_numpy() > 0]
    rows = [f"{s},{float(n)!r},{float(c / n)!r}" for s, n, c in zip(held.index, held.to_numpy(), cost)]
    holdings = tmp / f"holdings-{day.date()}.csv"
    holdings.write_text("Symbol,Quantity,Average Cost\n" + "\n".join(rows + [f"CASH,{cash!r},"]) + "\n")
    if not with_state:
        return holdings, None
    names = state_names(state, config.universe.symbols, result.data.sessions, scale.to_numpy())
    path = tmp / f"state-{day.date()}.json"
    path.write_text(json.dumps({"version": 1, "config": "column", "as_of": str(day.date()), "names": names}))
    return holdings, path


def expected_orders(backtest, day: pd.Timestamp) -> pd.DataFrame:
    config, result, _ = backtest
    orders = result.strategy.orders.assign(shares=result.strategy.ordered_shares)
    orders = orders[orders["decided"] == day]
    scale = result.data.adj_factor[config.universe.symbols].loc[day].fillna(1.0)
    return orders.assign(shares=orders["shares"].to_numpy() * scale[orders["symbol"]].to_numpy())


def run_today(tmp: Path, holdings: Path, day: pd.Timestamp, state: Path | None, *extra: str):
    out = tmp / f"orders-{day.date()}.csv"
    args = ["today", str(CONFIG), "--holdings", str(holdings), "--date", str(day.date()), "--out", str(out), *extra]
    result = CliRunner().invoke(app, args + (["--state", str(state)] if state else []), env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    return pd.read_csv(out, keep_default_na=False), result.output


@pytest.mark.parametrize("session", SESSIONS)
def test_orders_equal_the_backtests_decision(backtest, tmp_path, session):
    day = pd.Timestamp(session)
    holdings, state = write_inputs(tmp_path, backtest, day)
    orders, _ = run_today(tmp_path, holdings, day, state)
    expected = expected_orders(backtest, day)
    assert len(expected) > 0 or session == "2024-08-14"
    got = orders.set_index("symbol")[["side", "shares"]].sort_index()
    want = expected.set_index("symbol")[["side", "shares"]].sort_index()
    assert list(got.index) == list(want.index)
    assert list(got["side"]) == list(want["side"])
    np.testing.assert_allclose(got["shares"].astype(float), want["shares"].astype(float), rtol=1e-9)


def test_rules_and_reasons_name_what_acted(backtest, tmp_path):
    day = pd.Timestamp("2022-12-20")
    holdings, state = write_inputs(tmp_path, backtest, day)
    orders, output = run_today(tmp_path, holdings, day, state)
    assert set(orders["rule"]) == {"caps_drift"}
    assert orders["reason"].str.contains("drift above group semis 35%").all()
    assert "Orders (8;" in output and "caps_drift" in output and "column" in output
    _, result, _ = backtest
    prices = result.data.close.loc[day, orders["symbol"]].to_numpy()
    np.testing.assert_allclose(orders["price"], prices, rtol=1e-12)  # the last close, as traded
    np.testing.assert_allclose(orders["notional"], orders["shares"] * prices, rtol=1e-12)


def test_without_the_state_file_the_decision_differs_and_says_so(backtest, tmp_path):
    """The state matters (so the test above can fail): on 2022-06-29 stages had fired and re-entries were
    blocked; without the file today assumes none did, says so, and orders something else."""
    day = pd.Timestamp("2022-06-29")
    holdings, _ = write_inputs(tmp_path, backtest, day, with_state=False)
    orders, output = run_today(tmp_path, holdings, day, None)
    expected = expected_orders(backtest, day)
    assert set(orders["symbol"]) != set(expected["symbol"])
    assert "no state file: assuming no profit-taking stage has fired" in output


def test_state_file_round_trips_to_the_same_kernel_state(backtest):
    config, result, _ = backtest
    _, _, state, scale = book_at(backtest, pd.Timestamp("2022-06-29"))
    names = state_names(state, config.universe.symbols, result.data.sessions, scale.to_numpy())
    back = kernel_state(json.loads(json.dumps(names)), config.universe.symbols, result.data.sessions,
                        scale.to_numpy())
    remembered = [config.universe.symbols.index(s) for s in names]
    assert len(remembered) > 0
    columns = [state_column(field) for field in FIELDS]
    np.testing.assert_allclose(back[np.ix_(remembered, columns)], state[np.ix_(remembered, columns)], rtol=1e-12)


def test_the_next_state_is_written_next_to_the_orders(backtest, tmp_path):
    day = pd.Timestamp("2016-05-02")
    holdings, state = write_inputs(tmp_path, backtest, day)
    run_today(tmp_path, holdings, day, None)
    written = json.loads((tmp_path / f"orders-{day.date()}.state.json").read_text())
    assert written["as_of"] == "2016-05-02" and written["version"] == 1
    fired = {s for s, fields in written["names"].items() if fields["stages_fired"] > 0}
    assert {"META", "MU", "NVDA"} <= fired  # the stages this decision fires (orders above)


def test_json_output_and_the_rule_check_report(backtest, tmp_path):
    day = pd.Timestamp("2022-12-20")
    holdings, state = write_inputs(tmp_path, backtest, day)
    out = tmp_path / "orders.json"
    args = ["today", str(CONFIG), "--holdings", str(holdings), "--date", str(day.date()), "--out", str(out),
            "--state", str(state), "--report"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text())
    expected = expected_orders(backtest, day).set_index("symbol")["shares"]
    got = pd.Series({o["symbol"]: o["shares"] for o in written["orders"]})
    np.testing.assert_allclose(got.sort_index(), expected.sort_index(), rtol=1e-9)
    assert written["hedges"][0]["action"] == "hold"
    assert json.loads(state.read_text())["as_of"] == "2022-12-20"  # --state is rewritten after the decision
    html = (tmp_path / "orders.rule-check.html").read_text()
    for text in ("Names held or ordered", "Groups and gross", "Financial-health screen: ", "Open event windows",
                 "Regime:", "Hedges", "drift above group semis 35%"):
        assert text in html
    assert (tmp_path / "orders.rule-check.pdf").read_bytes()[:4] == b"%PDF"


def test_hedge_packages_equal_the_backtests(backtest, tmp_path):
    """At a session where the backtest decided a put package, today opens the same one: strike and
    contracts from that close (contracts sized on the stock book, which is the backtest's here)."""
    _, result, _ = backtest
    legs = result.hedges.legs
    decided = sorted(set(pd.to_datetime(legs["decided"])))
    day = decided[len(decided) // 2]
    package = legs[(pd.to_datetime(legs["decided"]) == day)].iloc[0]
    holdings, state = write_inputs(tmp_path, backtest, day)
    out = tmp_path / "orders.json"
    args = ["today", str(CONFIG), "--holdings", str(holdings), "--date", str(day.date()), "--out", str(out),
            "--state", str(state)]
    run = CliRunner().invoke(app, args)
    assert run.exit_code == 0, run.output
    opened = [h for h in json.loads(out.read_text())["hedges"] if h["action"] == "open"]
    assert len(opened) == 1
    assert opened[0]["strike"] == pytest.approx(package["strike"], rel=1e-12)
    assert opened[0]["contracts"] == package["contracts"]
    assert opened[0]["expiry"] == pd.Timestamp(package["expiry"]).date().isoformat()
