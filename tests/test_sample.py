"""The bundled SYNTHETIC sample: deterministic, committed as generated, and as realistic as documented."""

from __future__ import annotations

import contextlib
import io
import json
import runpy
import tokenize
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pandas_market_calendars as mcal
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine.data import sample
from engine.data import sample_params as P

TABLES = ("prices", "market", "fundamentals", "events", "symbols")
ROOT = Path(__file__).resolve().parents[1]


def read(folder: Path, table: str) -> pd.DataFrame:
    return pd.read_parquet(folder / f"{table}.parquet")


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample") / "sample"
    sample.generate_sample(out)
    return out


@pytest.fixture(scope="module")
def prices(fresh) -> pd.DataFrame:
    return read(fresh, "prices")


@pytest.fixture(scope="module")
def returns(prices) -> pd.DataFrame:
    """Daily total-return log returns, session x symbol."""
    return np.log(prices.pivot(index="date", columns="symbol", values="adj_close")).diff()


@pytest.fixture(scope="module")
def coverage(fresh) -> pd.DataFrame:
    f = read(fresh, "fundamentals")
    f["coverage"] = f["operating_income"] / f["interest_expense"]
    return f.pivot(index="period_end", columns="symbol", values="coverage")


# ---- determinism -------------------------------------------------------------------------------

def test_same_seed_gives_identical_files_and_another_seed_does_not(fresh, tmp_path):
    sample.generate_sample(tmp_path / "again")
    sample.generate_sample(tmp_path / "other", seed=7)
    for table in TABLES:
        pd.testing.assert_frame_equal(read(fresh, table), read(tmp_path / "again", table))
    assert not read(fresh, "prices")["close"].equals(read(tmp_path / "other", "prices")["close"])
    assert json.loads((tmp_path / "other" / "dataset.json").read_text())["seed"] == 7


def test_committed_sample_is_a_fresh_generation_with_the_default_seed(fresh):
    committed = ROOT / "data" / "sample"
    for table in TABLES:
        pd.testing.assert_frame_equal(read(committed, table), read(fresh, table))
    assert json.loads((committed / "dataset.json").read_text()) == json.loads((fresh / "dataset.json").read_text())


def test_a_failed_generation_leaves_nothing_behind(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(sample.pq, "write_table", broken)
    with pytest.raises(OSError):
        sample.generate_sample(tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_estimation_script_reproduces_the_committed_constants(shared_data):
    out = io.StringIO()
    script = ROOT / "scripts" / "estimate_sample_params.py"
    with contextlib.redirect_stdout(out):
        runpy.run_path(str(script), run_name="not_main")["main"](shared_data)
    assert same_constants(out.getvalue(), (ROOT / "engine" / "data" / "sample_params.py").read_text())


def same_constants(generated: str, committed: str) -> bool:
    """Token for token equal, numbers within one unit of their last printed digit.

    Why not text equality: the residual factors' means are zero up to summation noise (~1e-19), whose
    digits depend on the machine's BLAS and SIMD; and a value on a rounding boundary may print its last
    digit one higher elsewhere. Anything an estimation change would move is still caught.
    """
    def tokens(text):
        return [t for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type != tokenize.NL]

    a, b = tokens(generated), tokens(committed)
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if x.type != y.type:
            return False
        if x.type != tokenize.NUMBER:
            if x.string != y.string:
                return False
            continue
        unit = 10.0 ** max(Decimal(x.string).as_tuple().exponent, Decimal(y.string).as_tuple().exponent)
        gap = abs(float(x.string) - float(y.string))
        if gap > unit * 1.000001 and not (abs(float(x.string)) < 1e-15 and abs(float(y.string)) < 1e-15):
            return False
    return True


def test_the_constants_comparison_tolerates_noise_but_not_a_change():
    committed = "MEAN = {'MKT': 0.000551901, 'SEMI': -2.42986e-19}\nNU = 4.21\n"
    assert same_constants(committed.replace("-2.42986e-19", "-2.65075e-19"), committed)
    assert same_constants(committed.replace("0.000551901", "0.000551902"), committed)
    assert not same_constants(committed.replace("0.000551901", "0.000551904"), committed)
    assert not same_constants(committed.replace("4.21", "4.23"), committed)
    assert not same_constants(committed.replace("'SEMI'", "'SEM'"), committed)
    assert not same_constants(committed.replace("-2.42986e-19", "-2.4e-9"), committed)


# ---- labelling and layout ----------------------------------------------------------------------

def test_it_says_synthetic_everywhere(fresh):
    manifest = json.loads((fresh / "dataset.json").read_text())
    assert manifest["synthetic"] is True and manifest["name"] == "rulebook-sample"
    assert manifest["description"].startswith("SYNTHETIC") and str(manifest["seed"]) in manifest["description"]
    assert manifest["generator"] == "engine.data.sample.generate_sample"
    assert "SYNTHETIC" in (ROOT / "data" / "sample" / "README.md").read_text().splitlines()[0]


def test_column_types_match_the_layout(fresh):
    schema = pq.read_schema(fresh / "prices.parquet")
    assert schema.field("date").type == pa.date32() and schema.field("symbol").type == pa.string()
    assert all(schema.field(c).type == pa.float64() for c in ("open", "high", "low", "close", "volume", "adj_close"))
    fundamentals = pq.read_schema(fresh / "fundamentals.parquet")
    assert fundamentals.field("period_end").type == pa.date32() and fundamentals.field("filed").type == pa.date32()
    assert set(read(fresh, "market")["series"]) >= {"VIX", "DGS10", "HY_OAS"}
    themes = set(read(fresh, "symbols")["theme"])
    assert themes == {"semis", "hyperscaler", "neocloud", "power", "networking", "servers", "datacenter", "etf"}


def test_events_are_the_real_calendar_rows_up_to_2025(fresh):
    events = read(fresh, "events")
    real = pd.read_csv(ROOT / "data" / "events" / "ai_events.csv")
    assert len(events) == (real["date"] <= "2025-12-31").sum()
    assert events["date"].max() <= pd.Timestamp("2025-12-31").date()
    assert list(events.columns) == list(real.columns)


# ---- calendar ----------------------------------------------------------------------------------

def test_every_row_is_an_nyse_session_and_names_start_at_their_listing(prices):
    nyse = mcal.get_calendar("XNYS").valid_days("2016-01-04", "2025-12-31").tz_localize(None)
    dates = pd.DatetimeIndex(pd.to_datetime(prices["date"]))
    assert set(dates) == set(nyse)
    for holiday in ("2025-01-09", "2025-06-19", "2025-04-18", "2024-03-29"):
        assert pd.Timestamp(holiday) not in set(dates)
    first = prices.groupby("symbol")["date"].min().astype(str)
    listings = {"ARM": "2023-09-14", "CRWV": "2025-03-28", "GEV": "2024-04-02", "CEG": "2022-02-02", "NVDA": "2016-01-04"}
    assert {s: first[s] for s in listings} == listings
    assert prices.groupby("symbol").size()["SPY"] == len(nyse)


def test_bars_are_consistent(prices):
    assert (prices[["open", "high", "low", "close", "adj_close"]] > 0).all().all()
    assert (prices["volume"] >= 0).all()
    assert (prices["high"] >= prices[["open", "close"]].max(axis=1)).all()
    assert (prices["low"] <= prices[["open", "close"]].min(axis=1)).all()


def test_adjustment_steps_only_quarterly_and_only_for_payers(prices):
    ratio = prices.assign(r=prices["adj_close"] / prices["close"]).pivot(index="date", columns="symbol", values="r")
    steps = ratio.diff().abs() > 1e-12
    assert steps["AMD"].sum() == 0 and (ratio["AMD"] == 1.0).all()  # AMD pays no dividend
    per_year = steps.groupby(pd.DatetimeIndex(pd.to_datetime(ratio.index)).year).sum()
    assert per_year["MSFT"].between(3, 4).all() and per_year["SPY"].between(3, 4).all()
    assert (ratio.iloc[-1].dropna() == 1.0).all()  # adjusted to the last session
    payers_yield = -np.log(ratio["DLR"].iloc[0]) / 10  # about the real yield per year
    assert payers_yield == pytest.approx(P.DIVIDENDS["DLR"][0], rel=0.2)


def test_overnight_gaps_and_ranges_have_real_magnitudes(prices):
    spy = prices[prices["symbol"] == "NVDA"].reset_index(drop=True)
    r = np.log(spy["close"]).diff()
    gap = np.log(spy["open"] / spy["close"].shift())
    assert 0.3 < gap.std() / r.std() < 1.0
    wick = np.log(spy["high"] / spy[["open", "close"]].max(axis=1)).mean()
    assert wick / r.std() == pytest.approx(P.WICK["NVDA"], rel=0.35)


# ---- realism against the documented constants ---------------------------------------------------

@pytest.mark.parametrize("symbol", ["SPY", "QQQ", "NVDA", "MSFT", "EQIX", "AMD"])
def test_annual_vol_is_near_the_real_one(returns, symbol):
    vol = returns[symbol].std() * np.sqrt(252)
    assert vol == pytest.approx(P.REAL_ANNUAL_VOL[symbol], rel=0.2)


def test_semis_move_together_and_apart_from_data_centres(returns):
    nvda_smh, nvda_eqix = returns["NVDA"].corr(returns["SMH"]), returns["NVDA"].corr(returns["EQIX"])
    assert nvda_smh > 0.6 and nvda_smh > nvda_eqix + 0.2


def test_returns_have_fat_tails_and_volatility_clusters(returns):
    assert (returns.kurt() > 1).all()
    spy = returns["SPY"].dropna()
    assert (spy**2).autocorr(1) > 0.05


def test_event_days_move_more_than_other_days(fresh, returns):
    events = read(fresh, "events")
    sessions = pd.DatetimeIndex(pd.to_datetime(returns.index))
    on_event = pd.DataFrame(False, index=returns.index, columns=returns.columns)
    for row in events.itertuples():
        side = "right" if row.session in ("post", "closed") else "left"
        day = sessions.searchsorted(pd.Timestamp(row.date), side=side)
        for symbol in filter(None, (row.symbols or "").split(";")):
            if symbol in returns and day < len(sessions):
                on_event.iloc[day, returns.columns.get_loc(symbol)] = True
    involved = on_event.any()
    moves = returns.loc[:, involved].abs()
    assert on_event.sum().sum() > 30
    assert moves[on_event.loc[:, involved]].stack().mean() > 1.5 * moves[~on_event.loc[:, involved]].stack().mean()


def test_vix_follows_the_simulated_market_vol(fresh, returns):
    market = read(fresh, "market").pivot(index="date", columns="series", values="value")
    realised = returns["SPY"].rolling(21).std().shift(-21) * np.sqrt(252) * 100
    assert market["VIX"].corr(realised) > 0.5
    assert market["VIX"].min() >= 9 and market["DGS10"].gt(0).all() and market["HY_OAS"].gt(0).all()


# ---- fundamentals ------------------------------------------------------------------------------

def test_filings_come_after_quarter_end_with_realistic_lags(fresh):
    f = read(fresh, "fundamentals")
    lag = (pd.to_datetime(f["filed"]) - pd.to_datetime(f["period_end"])).dt.days
    year_end = pd.to_datetime(f["period_end"]).dt.month == 12
    assert lag[~year_end].between(20, 45).all() and lag[year_end].between(46, 90).all()
    assert set(f["symbol"]) == set(P.STOCKS)
    assert (f[["revenue", "interest_expense", "cash", "total_debt", "capex"]] > 0).all().all()


def test_the_stressed_name_loses_its_interest_coverage_while_others_stay_strong(coverage):
    when = pd.DatetimeIndex(pd.to_datetime(coverage.index))
    orcl = coverage["ORCL"]
    assert orcl[when.year == 2023].iloc[0] > 8
    assert (orcl[when.year == 2025] < 3).all()
    assert coverage["NVDA"][when.year >= 2016].min() > 20
    assert coverage["CRWV"].dropna().max() < 1
    late = coverage[when.year >= 2023].drop(columns=["ORCL", "CRWV"]).min()
    assert (late > 3).mean() > 0.75
