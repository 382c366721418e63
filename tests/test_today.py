"""`rulebook today` decides what the backtest decides: a backtest's book at the close of D (shares and
cash, the rule state from its own kernel) fed to `today --date D` gives the orders the backtest sent at D."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from engine.cli.main import app
from engine.config.run_config import load_config
import rulebook
from engine.practice.state import kernel_state, read_state, state_fields, state_names, write_state
from engine.run.backtest import rule_groups, run_backtest
from engine.sim import rule_layout as rk
from engine.sim.simulate import ExecutionSettings, simulate
from strategies.pipeline import run_pipeline

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "column.yaml"
# a build-out rebalance, a profit-taking stage, a trailing stop, the regime cutting gross, cap-drift trims,
# a month end, an ordinary session
SESSIONS = ("2016-04-29", "2016-05-02", "2016-05-11", "2022-06-29", "2022-12-20", "2023-03-31", "2024-08-14")


# the column's rules with the two exits of issue 16 added (a half stop-loss keeps its state while held)
EXITS = {"rules.stop_loss": {"loss": 0.10, "sell": 0.5},
         "rules.drawdown_exit": {"drawdown": 0.15, "reentry": {"cooldown": 10, "pullback": 0.05}}}


def run_of(config):
    result = run_backtest(config)
    pipeline = run_pipeline(config.rules, result.data, config.universe.symbols, rule_groups(config, result.data))
    return config, result, pipeline


@pytest.fixture(scope="module")
def backtest():
    return run_of(load_config(CONFIG))


@pytest.fixture(scope="module")
def with_exits():
    return run_of(load_config(CONFIG, EXITS))


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
    return holdings, write_state(tmp / f"state-{day.date()}.json", config=config.name, as_of=day, names=names)


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


def acting_decisions(backtest, rules: tuple[str, ...]) -> list[pd.Timestamp]:
    """Decision sessions at which each of ``rules`` acted in the compiled loop (which logs an action on the
    session it trades, the one after the decision): its first, middle and last."""
    _, result, _ = backtest
    sessions, days = result.data.sessions, set()
    for rule in rules:
        traded = sorted(set(result.activity.loc[result.activity["rule"] == rule, "session"]))
        assert len(traded) >= 3, rule
        days |= {sessions[sessions.get_loc(t) - 1] for t in (traded[0], traded[len(traded) // 2], traded[-1])}
    return sorted(days)


def assert_today_matches(backtest, tmp: Path, day: pd.Timestamp) -> pd.DataFrame:
    """`rulebook.today` on the backtest's book and kernel state at the close of ``day`` orders exactly what
    the backtest decided there."""
    holdings, state = write_inputs(tmp, backtest, day)
    got = rulebook.today(backtest[0], holdings, date=day, state=state).orders.set_index("symbol").sort_index()
    want = expected_orders(backtest, day).set_index("symbol").sort_index()
    assert list(got.index) == list(want.index), day
    assert list(got["side"]) == list(want["side"]), day
    np.testing.assert_allclose(got["shares"].astype(float), want["shares"].astype(float), rtol=1e-9, err_msg=str(day))
    return got


def test_with_stop_loss_and_drawdown_exit_orders_equal_the_backtests(with_exits, tmp_path):
    """The exits' state (the stop fired and the shares then, the peak since entry, the exit and its
    re-entry wait) goes through the state file and back: at the sessions where each acted, today's
    orders are the backtest's."""
    days = acting_decisions(with_exits, ("stop_loss", "drawdown_exit", "reentry_block"))
    rules = set()
    for day in days:
        got = assert_today_matches(with_exits, tmp_path, day)
        rules |= {rule for text in got["rule"] for rule in text.split(", ")}
    assert {"stop_loss", "drawdown_exit"} <= rules


def test_the_state_today_writes_is_what_the_next_session_reads(with_exits, tmp_path):
    """A chain: today at D (the backtest's book and state then) writes its state file; at the next session,
    with the backtest's book then and that file (not the kernel's state), today again orders what the
    backtest did. D is a drawdown exit, so the file carries the exit, its re-entry wait and the peaks.
    (today remembers an exit at its estimated fill, D's close; the backtest at the next open.)"""
    config, result, _ = with_exits
    sessions, decided = result.data.sessions, set(result.strategy.orders["decided"])
    exits = sorted(set(result.activity.loc[result.activity["rule"] == "drawdown_exit", "session"]))
    day = next(sessions[sessions.get_loc(t) - 1] for t in exits if t in decided)  # orders at D and at D + 1
    holdings, state = write_inputs(tmp_path, with_exits, day)
    first = rulebook.today(config, holdings, date=day, state=state)
    written = first.write_state(tmp_path / "today.state.json")
    exited = first.orders.loc[first.orders["rule"].str.contains("drawdown_exit"), "symbol"]
    assert all(read_state(written)["names"][s]["reentry_blocked"] for s in exited)
    nxt = sessions[sessions.get_loc(day) + 1]
    holdings, _ = write_inputs(tmp_path, with_exits, nxt, with_state=False)
    got = rulebook.today(config, holdings, date=nxt, state=written).orders.set_index("symbol").sort_index()
    want = expected_orders(with_exits, nxt).set_index("symbol").sort_index()
    assert len(want) and list(got.index) == list(want.index) and list(got["side"]) == list(want["side"])
    np.testing.assert_allclose(got["shares"].astype(float), want["shares"].astype(float), rtol=1e-9)
    forgot = rulebook.today(config, holdings, date=nxt).orders.set_index("symbol").sort_index()  # the file mattered
    assert list(forgot.index) != list(got.index) or not np.allclose(forgot["shares"], got["shares"], rtol=1e-6)


def test_without_the_state_file_the_exits_forget_and_say_so(with_exits, tmp_path):
    """The state matters for the exits (so the test above can fail): at the first drawdown exit, without
    the file the peak starts at this close, no exit fires, and the note names what was assumed."""
    day = acting_decisions(with_exits, ("drawdown_exit",))[0]
    assert assert_today_matches(with_exits, tmp_path, day)["rule"].str.contains("drawdown_exit").any()
    holdings, _ = write_inputs(tmp_path, with_exits, day, with_state=False)
    result = rulebook.today(with_exits[0], holdings, date=day)
    assert not result.orders["rule"].str.contains("drawdown_exit").any()
    note = next(n for n in result.notes if n.startswith("no state file"))
    assert "no stop_loss state (the stop fired in this holding, shares held when it fired)" in note
    assert "no drawdown_exit state (peak close since entry)" in note


def plugin_matches(tmp: Path) -> list[pd.Timestamp]:
    """(Run where examples/plugin is installed.) The column with the exits and the plugin's time_stop: today
    matches the backtest where the time stop acted, and the state file keeps time_stop's declared state."""
    backtest = run_of(load_config(CONFIG, {**EXITS, "rules.time_stop": {"sessions": 40, "cooldown": 5}}))
    days = acting_decisions(backtest, ("time_stop",))
    for day in days:
        assert_today_matches(backtest, tmp, day)
        names = json.loads((tmp / f"state-{day.date()}.json").read_text())["names"]
        assert any("entered" in fields.get("time_stop", {}) for fields in names.values()), day
    return days


def test_a_plugin_rules_state_is_kept_with_no_edit_to_today(tmp_path):
    """examples/plugin installed as pip would, in a subprocess so its rules do not leak into other tests."""
    from test_plugin import installed

    env = installed(tmp_path)
    env["PYTHONPATH"] += os.pathsep + str(Path(__file__).parent)
    script = ("import sys; from pathlib import Path; import test_today; "
              "print(test_today.plugin_matches(Path(sys.argv[1])))")
    run = subprocess.run([sys.executable, "-c", script, str(tmp_path)], env=env, capture_output=True, text=True,
                         timeout=1500)
    assert run.returncode == 0, run.stderr[-4000:]
    assert "Timestamp(" in run.stdout


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
    assert ("no state file: assuming the rules remember nothing since each position was opened: no "
            "profit_taking state (stages fired in this holding, shares held when the first stage fired, peak close "
            "since the last stage fired); no staged_entry state (") in " ".join(output.split())


@pytest.mark.parametrize("day", ["2022-06-29", "2024-08-14"])
def test_state_file_round_trips_to_the_same_kernel_state(with_exits, tmp_path, day):
    """Every state column of every rule (the kernel's own but the cost basis, which avg_cost gives) comes
    back from the file as the kernel left it, through the file's units (dates, as-traded prices, real shares)."""
    config, result, _ = with_exits
    _, _, state, scale = book_at(with_exits, pd.Timestamp(day))
    names = state_names(state, config.universe.symbols, result.data.sessions, scale.to_numpy())
    path = write_state(tmp_path / "state.json", config=config.name, as_of=pd.Timestamp(day), names=names)
    back = kernel_state(read_state(path)["names"], config.universe.symbols, result.data.sessions, scale.to_numpy())
    columns = [field.column for field in state_fields().values()]
    assert {rk.COST} | set(columns) == set(range(state.shape[1]))
    np.testing.assert_allclose(back[:, columns], state[:, columns], rtol=1e-12)
    written = json.loads(path.read_text())
    rules = {key for fields in written["names"].values() for key, value in fields.items() if isinstance(value, dict)}
    assert {"profit_taking", "stop_loss", "drawdown_exit", "staged_entry"} <= rules
    assert written["fields"]["drawdown_exit.peak"] == "price: peak close since entry"


def test_the_next_state_is_written_next_to_the_orders(backtest, tmp_path):
    day = pd.Timestamp("2016-05-02")
    holdings, state = write_inputs(tmp_path, backtest, day)
    run_today(tmp_path, holdings, day, None)
    written = json.loads((tmp_path / f"orders-{day.date()}.state.json").read_text())
    assert written["as_of"] == "2016-05-02" and written["version"] == 2
    fired = {s for s, fields in written["names"].items() if fields.get("profit_taking", {}).get("fired", 0) > 0}
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


@pytest.mark.parametrize("names, as_of, message", [
    ({"NVDA": {"time_stop": {"entered": "2022-01-03"}}}, "2022-06-29",
     "'names.NVDA.time_stop.entered': unknown field. Fix: no registered rule keeps it (a plugin not installed?)"),
    ({"NVDA": {"stop_loss": {"peak": 1.0}}}, "2022-06-29",
     "'names.NVDA.stop_loss.peak': unknown field. Fix: stop_loss keeps stop_loss.fired, stop_loss.base"),
    ({"NVDA": {"exit_date": "soon"}}, "2022-06-29", "'names.NVDA.exit_date': 'soon' is not a date"),
    ({"NVDA": {"profit_taking": {"fired": -1}}}, "2022-06-29", "'names.NVDA.profit_taking.fired': -1 is not a count"),
    ({}, "2022-07-01", "the state is as of 2022-07-01, after the decision at the close of 2022-06-29"),
])
def test_a_bad_state_file_is_one_line_and_writes_nothing(tmp_path, names, as_of, message):
    holdings = tmp_path / "holdings.csv"
    holdings.write_text("symbol,shares\nNVDA,5\nCASH,1000\n")
    state = write_state(tmp_path / "state.json", config="column", as_of=pd.Timestamp(as_of), names=names)
    args = ["today", str(CONFIG), "--holdings", str(holdings), "--state", str(state), "--date", "2022-06-29",
            "--out", str(tmp_path / "orders.csv")]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "300"})
    assert result.exit_code == 2 and message in " ".join(result.output.split()), result.output
    assert "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["holdings.csv", "state.json"]
