"""The hedge book: crash and calm paths computed by hand, no look-ahead, cash that reconciles,
rolls, timing, sizing, the calendar's value, config errors and the run-folder hooks."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from engine.data.calendar import get_sessions
from engine.config.run_config import RunConfig
from engine.analysis.drawdowns import drawdown_fractions
from engine.errors import ConfigError
from engine.config.hedges import PRESETS, HedgeConfig
from engine.hedges.book import simulate_hedges, total_equity
from engine.hedges.pricing import timing_multiplier
from engine.run.backtest import run_backtest
from engine.run.folder import save_run
from rule_data import make_dataset, perturbed_after, random_dataset
from test_options import quantlib_price_delta

INIT = 1_000_000.0


def spy_data(spot: np.ndarray, vix: float | np.ndarray = 20.0, dgs10: float = 0.0, start: str = "2024-01-02"):
    """One underlying 'SPY' on real XNYS sessions, with VIX and DGS10 in percent."""
    sessions = get_sessions(start, pd.Timestamp(start) + pd.Timedelta(days=2 * len(spot) + 10))[:len(spot)]
    close = pd.DataFrame({"SPY": spot}, index=sessions)
    market = pd.DataFrame({"VIX": vix, "DGS10": dgs10}, index=sessions)
    return make_dataset(close, market=market)


def put_hedge(**overrides) -> HedgeConfig:
    spec = dict(name="put", underlying="SPY", legs=[{"right": "put", "moneyness": 0.95, "tenor_days": 30}],
                roll_before=0, vol={"source": "VIX"}, rate=0.0, costs={"spread": 0.0})
    return HedgeConfig.model_validate(spec | overrides)


def book_of(data, equity: pd.Series | None = None):
    equity = equity if equity is not None else INIT * data.close["SPY"] / data.close["SPY"].iloc[0]
    return equity, pd.DataFrame({"SPY": equity})


def test_protective_put_cuts_the_crash_drawdown_by_its_payoff() -> None:
    sessions = get_sessions("2024-01-02", "2024-03-29")
    hedge = put_hedge()
    fill = sessions[1]
    expiry = sessions[sessions <= fill + pd.Timedelta(days=30)][-1]
    e = sessions.get_loc(expiry)
    spot = np.full(e + 1, 100.0)
    spot[10:] = np.linspace(100.0, 70.0, e + 1 - 10)  # the crash bottoms at the put's expiry
    data = spy_data(spot)
    equity, positions = book_of(data)
    book = simulate_hedges([hedge], data, equity, positions)

    # by hand: 100 contracts of the 95 put (1e6 / (100 × 100)); premium at the skewed vol, flat term structure
    contracts, commission = 100, 0.65
    vol = 0.20 - 0.2 * np.log(0.95)
    premium, _ = quantlib_price_delta(100.0, 95.0, (expiry - fill).days, vol, 0.0, 0.0, False)
    payoff = contracts * 100 * (95.0 - 70.0)
    # trough at expiry: stock 700k, the put paid premium + commission and settled at intrinsic; the roll
    # decided the session before buys the next put at the expiry close (commission only, spread 0)
    trough = 700_000 - contracts * 100 * premium - contracts * commission + payoff - contracts * commission
    total = total_equity(equity, book)
    hedged_dd, unhedged_dd = drawdown_fractions(total.to_numpy()).min(), drawdown_fractions(equity.to_numpy()).min()
    assert unhedged_dd == pytest.approx(-0.30, abs=1e-12)
    assert hedged_dd == pytest.approx(trough / INIT - 1, abs=1e-9)
    assert hedged_dd - unhedged_dd == pytest.approx((payoff - contracts * (100 * premium + 2 * commission)) / INIT,
                                                    abs=1e-9)
    first = book.legs[book.legs["package"] == 0]
    assert first["settlement"].iloc[-1] == pytest.approx(payoff) and first["fees"].iloc[-1] == 0
    assert first["premium"].iloc[0] == pytest.approx(-contracts * 100 * premium, abs=1e-6)


def test_in_calm_markets_a_put_costs_its_premium_and_fees_no_more() -> None:
    data = spy_data(np.full(130, 100.0), vix=20.0, dgs10=2.0)
    hedge = put_hedge(costs={"spread": 0.10, "commission": 0.65}, dividend_yield=0.01, rate="DGS10")
    equity, positions = book_of(data)
    book = simulate_hedges([hedge], data, equity, positions)
    legs = book.legs
    vol = 0.20 - 0.2 * np.log(0.95)
    paid, still_open = 0.0, 0.0
    for _, package in legs.groupby("package"):
        first, last = package.iloc[0], package.iloc[-1]
        premium, _ = quantlib_price_delta(100.0, 95.0, (first["expiry"] - first["date"]).days, vol, 0.02, 0.01, False)
        assert first["contracts"] == 100 and first["decided"] < first["date"]
        paid += 100 * 100 * premium * 1.05 + 100 * 0.65
        if last["value"] > 0:  # open at the end: marked to model
            mark, _ = quantlib_price_delta(100.0, 95.0, (last["expiry"] - last["date"]).days, vol, 0.02, 0.01, False)
            still_open += 100 * 100 * mark
    assert legs["package"].nunique() >= 5 and (legs["settlement"] == 0).all()
    assert book.cash.iloc[-1] == pytest.approx(-paid, abs=1e-6)
    assert total_equity(equity, book).iloc[-1] - INIT == pytest.approx(-paid + still_open, abs=1e-6)
    assert (total_equity(equity, book) <= INIT).all()


def test_a_hedge_never_uses_data_from_after_its_decision() -> None:
    data = random_dataset(seed=3, n_sessions=320)
    data = dataclasses.replace(data, market=data.market.assign(DGS10=np.linspace(1.0, 5.0, 320)))
    rng = np.random.default_rng(0)
    equity = pd.Series(INIT * np.exp(np.cumsum(rng.normal(0, 0.01, 320))), index=data.sessions)
    positions = pd.DataFrame({"C": equity * 0.3})
    hedges = [
        HedgeConfig(name="puts", underlying="A", structure="protective_put", roll_before=3,
                    vol={"source": "realized", "premium": 1.2}, timing={"rule": "scale", "percentile": 40,
                                                                          "window": 40}, rate="DGS10"),
        HedgeConfig(name="collar", underlying="B", structure="collar", vol={"source": "VIX"}, rate=0.03,
                    timing={"rule": "below_percentile", "percentile": 60, "window": 30}, schedule="weekly"),
        HedgeConfig(name="calls", underlying="C", structure="long_call", size={"of": "position", "symbol": "C"},
                    rate=0.01, roll_before=0),
    ]
    base = simulate_hedges(hedges, data, equity, positions)
    decisions = base.legs.drop_duplicates(["hedge", "package"]).groupby("hedge")["decided"].nth(2)
    cutoffs = [*data.sessions.get_indexer(decisions), 150]  # right at decisions: the fill is the next session
    assert len(cutoffs) == 4 and min(cutoffs) > 0
    for cutoff in cutoffs:
        later = equity.iloc[cutoff + 1:] * rng.uniform(0.5, 2.0, len(equity) - cutoff - 1)
        changed_equity = pd.concat([equity.iloc[:cutoff + 1], later])
        changed = simulate_hedges(hedges, perturbed_after(data, cutoff, seed=cutoff), changed_equity,
                                  pd.DataFrame({"C": changed_equity * 0.3}))
        t = data.sessions[cutoff]
        past = lambda legs: legs[legs["date"] <= t].reset_index(drop=True)  # noqa: E731
        pd.testing.assert_frame_equal(past(changed.legs), past(base.legs))
        pd.testing.assert_series_equal(changed.cash[:t], base.cash[:t])
        pd.testing.assert_series_equal(changed.value[:t], base.value[:t])
        decided = lambda legs: (legs[legs["decided"] <= t]  # noqa: E731
                                .drop_duplicates(["hedge", "package", "leg"])[["hedge", "decided", "strike",
                                                                               "contracts", "expiry"]]
                                .reset_index(drop=True))
        pd.testing.assert_frame_equal(decided(changed.legs), decided(base.legs))
        assert not changed.legs.equals(base.legs), "the future did change"


@pytest.mark.parametrize("structure", sorted(PRESETS))
def test_cash_flows_reconcile_and_closed_packages_hold_nothing(structure: str) -> None:
    data = random_dataset(seed=7, n_sessions=260)
    equity = pd.Series(INIT, index=data.sessions)
    hedge = HedgeConfig(name=structure, underlying="A", structure=structure, rate=0.02, dividend_yield=0.01,
                        vol={"source": "VIX", "premium": 1.1}, costs={"whole_contracts": False})
    book = simulate_hedges([hedge], data, equity, pd.DataFrame({"A": equity}))
    legs = book.legs
    flows = legs["premium"] + legs["fees"] + legs["settlement"]
    assert book.cash.iloc[-1] == pytest.approx(flows.sum(), rel=1e-12)
    np.testing.assert_allclose(book.cash, flows.groupby(legs["date"]).sum().reindex(data.sessions, fill_value=0)
                               .cumsum(), rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(book.value, legs.groupby("date")["value"].sum().reindex(data.sessions, fill_value=0))
    assert (legs["fees"] <= 0).all() and legs["package"].nunique() >= 3
    for _, package in legs.groupby("package"):
        at_close = package[package["date"] == package["date"].max()]
        if package["package"].iloc[0] < legs["package"].max():
            assert (at_close["value"] == 0).all() and (at_close["delta"] == 0).all()
    # at each fill the legs are bought at mid: the package's premium equals minus its value, so equity drops by fees
    fills = legs[legs["date"] == legs.groupby("package")["date"].transform("min")]
    np.testing.assert_allclose(fills["premium"], -fills["value"], rtol=1e-12)


def test_rolls_happen_roll_before_sessions_ahead_and_refill_that_session() -> None:
    data = spy_data(100 * np.exp(np.cumsum(np.random.default_rng(1).normal(0, 0.01, 200))))
    hedge = put_hedge(legs=[{"right": "put", "moneyness": 0.9, "tenor_days": 60}], roll_before=4,
                      costs={"spread": 0.04, "commission": 1.0})
    equity, positions = book_of(data)
    legs = simulate_hedges([hedge], data, equity, positions).legs
    packages = legs.groupby("package").agg(fill=("date", "min"), close=("date", "max"), expiry=("expiry", "first"),
                                           decided=("decided", "first"))
    closed = packages.iloc[:-1]
    sessions = data.sessions
    assert all(sessions.get_loc(e) - sessions.get_loc(c) == 4 for c, e in zip(closed["close"], closed["expiry"]))
    assert (packages["fill"].iloc[1:].to_numpy() == closed["close"].to_numpy()).all()
    assert list(packages["decided"].iloc[1:]) == [sessions[sessions.get_loc(c) - 1] for c in closed["close"]]
    sells = legs[legs["date"].isin(closed["close"]) & (legs["value"] == 0)]
    assert (sells["settlement"] == 0).all() and (sells["premium"] > 0).all()
    np.testing.assert_allclose(sells["fees"], -sells["contracts"] * (sells["price"] * 100 * 0.02 + 1.0))


def test_timing_rules_read_the_trailing_vol_rank() -> None:
    rng = np.random.default_rng(5)
    vix = rng.uniform(10, 40, 400)
    data = spy_data(np.full(400, 100.0), vix=vix)
    equity, positions = book_of(data)
    rank = np.array([np.nan if i < 59 else np.mean(vix[i - 59:i + 1] <= vix[i]) for i in range(400)])
    gated = put_hedge(timing={"rule": "below_percentile", "percentile": 30, "window": 60}, schedule="weekly",
                      costs={"whole_contracts": False, "spread": 0.0})
    legs = simulate_hedges([gated], data, equity, positions).legs
    decided = data.sessions.get_indexer(legs.drop_duplicates("package")["decided"])
    assert len(decided) >= 3 and (rank[decided] <= 0.30).all()
    scaled = gated.model_copy(update={"timing": gated.timing.model_copy(update={"rule": "scale", "min_scale": 0.2})})
    legs = simulate_hedges([scaled], data, equity, positions).legs.drop_duplicates("package")
    decided = data.sessions.get_indexer(legs["decided"])
    expected = np.where(rank[decided] <= 0.3, 1.0, np.maximum((1 - rank[decided]) / 0.7, 0.2))
    np.testing.assert_allclose(legs["contracts"], 100 * expected, rtol=1e-12)
    assert (expected < 1).any()
    assert np.isnan(rank[:59]).all() and (timing_multiplier(vix / 100, scaled)[:59] == 0).all()


def test_calendar_spread_is_worth_more_than_zero_under_an_upward_term_structure() -> None:
    data = spy_data(100 * np.exp(np.cumsum(np.random.default_rng(2).normal(0, 0.01, 120))), vix=14.0, dgs10=3.0)
    hedge = HedgeConfig(name="cal", underlying="SPY", structure="calendar", vol={"source": "VIX", "long_run_vol": 0.22},
                        roll_before=2)
    equity, positions = book_of(data)
    legs = simulate_hedges([hedge], data, equity, positions).legs
    held = legs[legs.groupby(["package", "date"])["value"].transform(lambda v: (v != 0).all())]
    per_session = held.groupby(["package", "date"])["value"].sum()
    assert len(per_session) > 50 and (per_session > 0).all()
    near, far = held[held["contracts"] < 0], held[held["contracts"] > 0]
    assert (far["vol"].to_numpy() > near["vol"].to_numpy()).all(), "the far leg is priced at the higher vol"


def test_hedge_config_errors_name_the_key() -> None:
    with pytest.raises(ValidationError, match="exactly one of 'structure'"):
        HedgeConfig(name="x", underlying="SPY", structure="collar", legs=[{"right": "put", "moneyness": 0.9}])
    with pytest.raises(ValidationError, match="put's delta is negative"):
        HedgeConfig(name="x", underlying="SPY", legs=[{"right": "put", "delta": 0.3}])
    with pytest.raises(ValidationError, match="'symbol' is required"):
        HedgeConfig(name="x", underlying="SPY", structure="collar", size={"of": "position"})
    spec = {"name": "x", "universe": {"symbols": ["SPY"]}, "strategy": {"kind": "buy_and_hold"},
            "hedges": [{"name": "h", "underlying": "SPY", "structure": "collar"}] * 2}
    with pytest.raises(ValidationError, match="hedge names must be unique"):
        RunConfig.model_validate(spec)
    data = spy_data(np.full(30, 100.0))
    equity, positions = book_of(data)
    with pytest.raises(ConfigError, match=r"hedges\[0\]\.vol\.source.*available: VIX, DGS10"):
        simulate_hedges([put_hedge(vol={"source": "VXX"})], data, equity, positions)
    with pytest.raises(ConfigError, match=r"hedges\[0\]\.roll_before"):
        simulate_hedges([put_hedge(roll_before=30)], data, equity, positions)


def test_run_metrics_and_run_folder_include_the_hedge(tmp_path) -> None:
    data = spy_data(100 * np.exp(np.cumsum(np.random.default_rng(4).normal(0, 0.01, 150))), dgs10=4.0)
    config = RunConfig.model_validate({
        "name": "hedged", "universe": {"symbols": ["SPY"]}, "strategy": {"kind": "buy_and_hold"}, "benchmark": None,
        "report": {"enabled": False},
        "hedges": [{"name": "p", "underlying": "SPY", "structure": "put_spread", "vol": {"source": "VIX"}}]})
    result = run_backtest(config, data)
    total = result.strategy.equity + result.hedges.cash + result.hedges.value
    assert result.metrics["final_equity"] == pytest.approx(total.iloc[-1], rel=1e-12)
    assert result.hedges.cash.iloc[-1] < 0 and result.metrics["final_equity"] != result.strategy.equity.iloc[-1]
    save_run(result, tmp_path / "run", wall_seconds=0.0)
    frame = pd.read_parquet(tmp_path / "run" / "equity.parquet")
    np.testing.assert_allclose(frame["equity"], frame["hedge_value"] + frame["hedge_cash"]
                               + result.strategy.equity.to_numpy(), rtol=1e-12)
    legs = pd.read_parquet(tmp_path / "run" / "hedges.parquet")
    assert legs["cash_flow"].sum() == pytest.approx(frame["hedge_cash"].iloc[-1], rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 9), st.floats(-1e16, 1e16, allow_nan=False)), min_size=0, max_size=60))
@example([(3, 1e16), (3, 1.0), (3, 1.0)])  # adding in order loses both 1s; the compensated sum keeps them
def test_session_sums_are_a_groupby_sum_to_the_bit(rows) -> None:
    """The hedge book's value and cash per session add the rows as pandas' (compensated) groupby sum does,
    with one, two or many rows on a session: hedges.parquet and the equity curve agree to the bit."""
    from engine.hedges.book import _session_sums

    session = np.array([s for s, _ in rows], dtype=np.int64)
    values = np.array([[v, -v / 3] for _, v in rows]).reshape(-1, 2)
    expected = pd.DataFrame(values).groupby(session).sum().reindex(range(10), fill_value=0.0).to_numpy()
    np.testing.assert_array_equal(_session_sums(session, values, 10), expected)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.booleans())
def test_many_books_at_once_equal_the_per_book_loop_to_the_bit(seed, two_hedges) -> None:
    """simulate_hedge_books walks the schedule of many books together; each book's packages, contract counts,
    flows and session sums equal the per-book loop (tests/hedge_reference.py) to the bit, also when the books'
    paths part: a book with nothing to hedge for a while, one too small for a whole contract; with one put
    (sessions summed in the batch) and with a multi-leg hedge beside it (several rows on a session)."""
    from engine.hedges.book import simulate_hedge_books
    from engine.hedges.pricing import price_hedges
    from hedge_reference import reference_book

    rng = np.random.default_rng(seed)
    n = 260
    spot = 400 * np.exp(np.cumsum(rng.normal(0, 0.015, n)))
    data = spy_data(spot, vix=rng.uniform(12, 45, n), dgs10=rng.uniform(1, 5, n))
    hedges = [put_hedge(name="puts", schedule="monthly", roll_before=int(rng.integers(0, 6)),
                        timing={"rule": str(rng.choice(["always", "below_percentile", "scale"])), "window": 20},
                        costs={"spread": 0.04, "commission": 0.65, "whole_contracts": bool(rng.integers(2))},
                        size={"of": "portfolio", "fraction": 0.5}),
              HedgeConfig.model_validate(dict(name="cal", underlying="SPY", structure=str(rng.choice(
                  ["collar", "calendar", "put_spread"])), schedule="quarterly", roll_before=int(rng.integers(0, 3)),
                  vol={"source": "VIX"}, rate="DGS10", size={"of": "position", "symbol": "SPY", "fraction": 1.0},
                  costs={"whole_contracts": True}))][:2 if two_hedges else 1]
    growth = spot / spot[0]
    equities = [pd.Series(INIT * growth * rng.uniform(0.5, 2.0), index=data.sessions) for _ in range(4)]
    equities[1] = equities[1].where((np.arange(n) < 40) | (np.arange(n) > 90), 0.0)  # nothing to hedge a while
    equities.append(pd.Series(80_000.0 * rng.uniform(0.5, 1.5, n), index=data.sessions))  # 0, 1 or 2 contracts
    positions = [pd.DataFrame({"SPY": equity * rng.uniform(0.1, 1.0)}) for equity in equities]
    pricing = price_hedges(hedges, data)
    books = simulate_hedge_books(hedges, data, equities, positions, pricing=pricing)
    for equity, held, book in zip(equities, positions, books):
        bases = [equity.to_numpy() * 0.5, held["SPY"].to_numpy() * 1.0][:len(hedges)]
        packages, value, cash = reference_book(pricing, bases)
        assert [(p.priced.decided, p.number) for p in book.held] == [(p["decided"], p["number"]) for p in packages]
        for mine, theirs in zip(book.held, packages):
            for name in ("contracts", "value", "premium", "fees", "settlement"):
                np.testing.assert_array_equal(getattr(mine, name), theirs[name], err_msg=name)
        np.testing.assert_array_equal(book.value.to_numpy(), value)
        np.testing.assert_array_equal(book.cash.to_numpy(), cash)
        single = simulate_hedges(hedges, data, equity, held, pricing=pricing)
        pd.testing.assert_series_equal(single.cash, book.cash, check_exact=True)
    assert not [p for p in books[1].held if 40 <= p.priced.decided <= 90]  # nothing to hedge: no decision
