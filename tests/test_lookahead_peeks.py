"""The look-ahead harness can fail: planted peeks are reported, and the honest code beside them is clean.

Three faults the audit must catch, each planted for the test only:
- a rule reading row t+1 (a weighting that holds the names whose next close is higher);
- the simulation kernel sizing orders from the close of the fill session instead of the decision's;
- fundamentals used on their filing day (the screen reading a filing the session it is filed,
  one session before it is known).
"""

from __future__ import annotations

import dataclasses
import types

import numpy as np
import yaml
import pandas as pd
import pytest
from numba import njit

from engine.run.audit import audit
from engine.config.run_config import RunConfig
from engine.run.backtest import load_run_data, run_backtest
from engine.sim import loop
from strategies.weighting import EqualWeights
from test_lookahead import column_raw, config

PERIOD = {"start": "2021-01-04", "end": "2022-12-30"}


def equal_weight_config(**execution) -> RunConfig:
    raw = {k: v for k, v in column_raw().items() if k not in ("rules", "hedges", "event_study")}
    return config({**raw, "period": PERIOD, "strategy": {"kind": "equal_weight"},
                   "execution": {**raw["execution"], **execution}})


def moved(checks) -> list:
    return [check.moved for check in checks if not check.clean]


HONEST_WEIGH = EqualWeights.weigh


def tomorrows_winners(self, ctx, eligible):
    """Equal weight over the names whose *next* close is higher: reads row t+1 (planted as the
    equal weighting's ``weigh``, which the equal_weight baseline runs)."""
    rises = ctx.data.close[ctx.symbols].shift(-1) > ctx.data.close[ctx.symbols]
    return HONEST_WEIGH(self, ctx, eligible & rises)


def test_a_rule_reading_the_next_row_is_caught(monkeypatch):
    run_config = equal_weight_config()
    data = load_run_data(run_config)
    assert not moved(audit(run_config, data, 3))  # the honest rule is clean
    monkeypatch.setattr(EqualWeights, "weigh", tomorrows_winners)
    found = moved(audit(run_config, data, 3))
    assert found and all(m.kind == "decision" for m in found)


def _sizing_at_the_fill_close_nb(i, size_at_decision, value, equity, val_price, marks, size_price):
    """The planted fault: orders sized from the close of the fill session (not known at the decision)."""
    loop._copy_nb(size_price, marks[i])
    return value


def _planted_books_kernel(session):
    """engine.sim.loop's book loop compiled with the planted sizing function in place of _sizing_nb
    (under its own cache key: the honest loop's is taken)."""
    names = {**loop.__dict__, "_sizing_nb": njit(_sizing_at_the_fill_close_nb)}
    build = types.FunctionType(loop._books_kernel.__code__, names, "_books_kernel")
    return build(session, "planted peek")


@pytest.mark.parametrize("size_at", ["decision", "fill"])
def test_a_kernel_sizing_from_the_close_of_the_fill_session_is_caught(monkeypatch, size_at):
    run_config = equal_weight_config(size_at=size_at)
    data = load_run_data(run_config)
    assert not moved(audit(run_config, data, 3))
    monkeypatch.setattr(loop, "books_kernel", _planted_books_kernel)
    checks = audit(run_config, data, 3)
    same_session = [c.moved for c in checks if c.perturbation == "same_session" and not c.clean]
    assert same_session, "the open of T+1 is kept, so only the peek at its close can move the fill"
    assert all(m.kind in ("order", "fill") for m in same_session)


def _filing_day_known(data):
    """The planted fault: every filing usable on its filing session (the contract: the session after)."""
    filings = data.fundamentals
    on = data.sessions[np.minimum(data.sessions.searchsorted(filings["filed"].dt.normalize()), len(data.sessions) - 1)]
    return dataclasses.replace(data, fundamentals=filings.assign(known=on))


def test_fundamentals_used_on_their_filing_day_are_caught():
    raw = column_raw()
    screen = {**raw["rules"]["screen"], "lag_sessions": 0}
    run_config = config({**{k: v for k, v in raw.items() if k not in ("hedges", "event_study")},
                         "period": PERIOD, "rules": {"weighting": {"kind": "equal", "rebalance": "daily"},
                                                     "screen": screen}})
    data = load_run_data(run_config)
    filings = data.fundamentals[data.fundamentals.symbol.isin(run_config.universe.symbols)]
    filing_days = data.sessions[data.sessions.isin(filings.filed.dt.normalize())][:-1]
    cutoffs = list(filing_days[:: max(1, len(filing_days) // 6)][:6])
    assert not moved(audit(run_config, data, cutoffs))
    found = moved(audit(run_config, data, cutoffs, run=lambda c, d: run_backtest(c, _filing_day_known(d))))
    assert found and all(m.kind == "decision" for m in found)


def test_rulebook_audit_exits_0_when_clean_and_1_naming_the_first_move(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from engine.cli.main import app

    path = tmp_path / "ew.yaml"
    raw = {k: v for k, v in column_raw().items() if k not in ("rules", "hedges", "event_study")}
    path.write_text(yaml.safe_dump({**raw, "period": PERIOD, "strategy": {"kind": "equal_weight"}}))
    clean = CliRunner().invoke(app, ["audit", str(path), "--cutoffs", "3"])
    assert clean.exit_code == 0, clean.output
    assert clean.output.count("clean") == 7  # six perturbed runs and the verdict
    monkeypatch.setattr(EqualWeights, "weigh", tomorrows_winners)
    peeking = CliRunner().invoke(app, ["audit", str(path), "--cutoffs", "3"])
    assert peeking.exit_code == 1, peeking.output
    assert "The first one: decision on" in " ".join(peeking.output.split())
    bad = CliRunner().invoke(app, ["audit", str(tmp_path / "absent.yaml")])
    assert bad.exit_code == 2 and "config file not found" in bad.output
