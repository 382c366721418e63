"""Event windows: exact drawdowns on constructed paths, the market model, real moves, the CLI end to end."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from data_builders import write_prices
from engine.data.calendar import get_sessions
from engine.cli.main import app
from engine.data.loader import load_dataset
from engine.analysis.event_study import Windows, study_symbols, window_metrics
from engine.data.events import read_events_file

PROJECT_EVENTS = Path(__file__).resolve().parents[1] / "data" / "events" / "ai_events.csv"

SESSIONS = get_sessions("2023-01-03", "2024-12-31")
T0 = 300
WINDOWS = Windows(-10, 20, (-250, -30))


def path_with(changes: dict[int, float], base: float = 100.0) -> np.ndarray:
    """A flat path at ``base`` with the given closes at offsets from T0."""
    values = np.full(len(SESSIONS), base)
    for offset, value in changes.items():
        values[T0 + offset] = value
    return values


def one_event(day: pd.Timestamp, symbols: str = "STK", kind: str = "deal") -> pd.DataFrame:
    return pd.DataFrame({"event_id": [0], "date": [day], "session": ["pre"], "session_date": [day],
                         "kind": [kind], "title": ["constructed"], "symbols": [symbols]})


# --- window metrics on constructed paths ---------------------------------------------------------

def test_drop_is_measured_from_the_pre_event_peak_with_exact_trough_and_recovery():
    # peak 110 three sessions before the news, day 0 at 90, trough 80 at +3, back to 110 at +8
    values = path_with({-3: 110, -2: 105, -1: 104, 0: 90, 1: 85, 2: 82, 3: 80, 4: 84, 5: 95, 6: 100, 7: 108, 8: 110})
    got = window_metrics(values, T0, WINDOWS, SESSIONS)
    assert got["drawdown"] == pytest.approx(80 / 110 - 1)
    assert got["peak_date"] == SESSIONS[T0 - 3]
    assert got["trough_date"] == SESSIONS[T0 + 3]
    assert got["recovery_date"] == SESSIONS[T0 + 8]
    assert got["sessions_to_recover"] == 5 and got["recovered_in_window"]
    assert got["day0_return"] == pytest.approx(90 / 104 - 1)
    assert got["pre_return"] == pytest.approx(104 / 100 - 1)
    assert got["cum_return"] == pytest.approx(0.0) and got["post_return"] == pytest.approx(100 / 104 - 1)


def test_a_rally_after_the_news_raises_the_peak_and_recovery_is_searched_past_the_window():
    values = path_with({0: 110, 1: 120, 2: 100, 3: 96})
    values[T0 + 4:] = 96.0
    values[T0 + 40] = 121.0  # back above 120 only 37 sessions after the trough
    got = window_metrics(values, T0, WINDOWS, SESSIONS)
    assert got["drawdown"] == pytest.approx(96 / 120 - 1)
    assert got["peak_date"] == SESSIONS[T0 + 1] and got["trough_date"] == SESSIONS[T0 + 3]
    assert got["sessions_to_recover"] == 37 and not got["recovered_in_window"]


def test_a_path_that_never_falls_has_no_drawdown():
    values = 100 * 1.01 ** np.arange(len(SESSIONS))
    got = window_metrics(values, T0, WINDOWS, SESSIONS)
    assert got["drawdown"] == 0.0 and pd.isna(got["trough_date"]) and pd.isna(got["sessions_to_recover"])
    assert got["cum_return"] == pytest.approx(1.01 ** 31 - 1)


def test_a_window_cut_by_the_end_of_the_data_is_marked_incomplete():
    values = path_with({0: 90})
    got = window_metrics(values, len(SESSIONS) - 5, WINDOWS, SESSIONS)
    assert not got["complete"]
    assert window_metrics(values, T0, WINDOWS, SESSIONS)["complete"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.5, 2.0), min_size=31, max_size=31), st.integers(-10, 0))
def test_drawdown_equals_brute_force_from_the_pre_event_peak(closes, pre):
    windows = Windows(pre, 20, (-250, -30))
    values = np.full(len(SESSIONS), 1.0)
    values[T0 - 10: T0 + 21] = closes
    pre_peak = values[T0 + min(pre, -1): T0].max()
    highs = np.maximum(pre_peak, np.maximum.accumulate(values[T0: T0 + 21]))
    expected = min(0.0, float((values[T0: T0 + 21] / highs - 1).min()))
    assert window_metrics(values, T0, windows, SESSIONS)["drawdown"] == pytest.approx(expected, abs=1e-12)


# --- market model --------------------------------------------------------------------------------

def market_and_stock(alpha: float, beta: float, jump: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    market = rng.normal(0.0005, 0.012, len(SESSIONS))
    stock = alpha + beta * market
    stock[T0] += jump
    market[0] = stock[0] = 0.0
    return pd.DataFrame({"STK": 50 * np.cumprod(1 + stock), "MKT": 400 * np.cumprod(1 + market)}, index=SESSIONS)


def test_a_stock_equal_to_beta_times_market_has_exact_beta_and_zero_abnormal_return():
    prices = market_and_stock(0.0, 1.7)
    tables = study_symbols(prices, prices["MKT"], one_event(SESSIONS[T0]), {"STK": "semis"}, WINDOWS)
    row = tables.rows.set_index("symbol").loc["STK"]
    assert row["beta"] == pytest.approx(1.7, abs=1e-12) and row["alpha"] == pytest.approx(0.0, abs=1e-15)
    assert row["estimation_n"] == 221 and row["group"] == "semis"
    assert np.abs(tables.paths.query("row_id == 0")["car"]).max() < 1e-14


def test_an_announcement_jump_is_the_abnormal_return():
    prices = market_and_stock(0.001, 0.8, jump=0.05)
    tables = study_symbols(prices, prices["MKT"], one_event(SESSIONS[T0]), {}, WINDOWS)
    stock, market = tables.rows.iloc[0], tables.rows.iloc[1]
    assert stock["alpha"] == pytest.approx(0.001, abs=1e-12) and stock["beta"] == pytest.approx(0.8, abs=1e-10)
    assert stock["car_day0"] == pytest.approx(0.05, abs=1e-12) and stock["car"] == pytest.approx(0.05, abs=1e-12)
    assert stock["group"] == "other"
    assert market["role"] == "benchmark" and np.isnan(market["car"])
    car = tables.paths.query("row_id == 0").set_index("offset")["car"]
    assert car.loc[:-1].abs().max() < 1e-12 and (car.loc[0:] - 0.05).abs().max() < 1e-12


def test_rows_without_prices_in_the_window_are_skipped_with_a_warning():
    prices = market_and_stock(0.0, 1.0)
    prices.loc[SESSIONS[: T0 - 5], "STK"] = np.nan  # listed five sessions before the news
    tables = study_symbols(prices, prices["MKT"], one_event(SESSIONS[T0]), {}, WINDOWS)
    assert list(tables.rows["symbol"]) == ["MKT"]
    assert len(tables.warnings) == 1 and "STK" in tables.warnings[0]


# --- real prices ---------------------------------------------------------------------------------

def real_dataset(tmp_path, raw, symbols, start, end):
    frames = []
    for symbol in symbols:
        ohlcv = pd.read_csv(raw / "prices_ohlcv_yahoo" / f"{symbol}.csv", parse_dates=["Date"])
        adjusted = pd.read_csv(raw / "prices_adjclose_yahoo" / f"{symbol}.csv", parse_dates=["Date"])
        merged = ohlcv.merge(adjusted.rename(columns={"Close": "adj_close"}), on="Date")
        merged = merged[(merged["Date"] >= start) & (merged["Date"] <= end)]
        frames.append(merged.rename(columns=str.lower).assign(symbol=symbol))
    write_prices(tmp_path, pd.concat(frames, ignore_index=True))
    return load_dataset(tmp_path, symbols=list(symbols), start=start, end=end)


def test_real_moves_of_documented_events_are_reproduced(tmp_path, shared_data):
    data = real_dataset(tmp_path, shared_data / "raw", ("NVDA", "ORCL", "SPY"), "2024-01-02", "2025-12-31")
    events = read_events_file(PROJECT_EVENTS, "XNYS")
    chosen = events[events["title"].str.startswith(("DeepSeek", "Oracle FQ1 FY26"))]
    chosen = chosen.reset_index(drop=True).rename_axis("event_id").reset_index()
    prices = data.adjusted("close")
    tables = study_symbols(prices, prices["SPY"], chosen, {}, WINDOWS)
    rows = tables.rows.set_index(["session_date", "symbol"])
    # DeepSeek sell-off, Monday 2025-01-27: NVDA -17% close to close
    assert rows.loc[(pd.Timestamp("2025-01-27"), "NVDA"), "day0_return"] == pytest.approx(-0.17, abs=0.005)
    # Oracle's results after the close of 2025-09-09 (RPO $455B): ORCL +36% on 2025-09-10
    assert rows.loc[(pd.Timestamp("2025-09-10"), "ORCL"), "day0_return"] == pytest.approx(0.36, abs=0.005)
    deepseek_nvda = rows.loc[(pd.Timestamp("2025-01-27"), "NVDA")]
    assert deepseek_nvda["drawdown"] <= deepseek_nvda["day0_return"] < deepseek_nvda["car_day0"] + 0.05


# --- command line --------------------------------------------------------------------------------

runner = CliRunner()
CONFIG = {
    "name": "events-e2e",
    "period": {"start": "2023-01-03", "end": "2025-12-31"},
    "universe": {"symbols": ["NVDA", "AMD", "MSFT", "ORCL", "AVGO"], "groups": {"semis": ["NVDA", "AMD", "AVGO"]}},
    "strategy": {"kind": "equal_weight", "rebalance": "monthly"},
    "event_study": {"enabled": True, "bootstrap": 200, "kinds": ["deal", "shock", "earnings", "macro"]},
}


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("events")
    (tmp / "c.yaml").write_text(yaml.safe_dump(CONFIG))
    result = runner.invoke(app, ["run", str(tmp / "c.yaml"), "--out", str(tmp / "run")])
    assert result.exit_code == 0, result.output
    return tmp / "run"


def test_run_writes_the_event_files_and_they_agree_with_the_equity_curve(study_dir):
    events = pd.read_parquet(study_dir / "events.parquet")
    books = pd.read_parquet(study_dir / "event_strategy.parquet")
    summary = pd.read_parquet(study_dir / "event_summary.parquet")
    car = pd.read_parquet(study_dir / "event_car.parquet")
    equity = pd.read_parquet(study_dir / "equity.parquet").set_index("date")
    assert set(events["kind"]) <= set(CONFIG["event_study"]["kinds"])
    assert not events.duplicated(["event_id", "symbol"]).any()
    assert set(books["book"]) == {"strategy", "holding", "benchmark"}
    # the strategy's window return recomputed from equity.parquet
    row = books[(books["book"] == "strategy") & books["complete"]].iloc[0]
    position = equity.index.get_loc(row["session_date"])
    expected = equity["equity"].iloc[position + 20] / equity["equity"].iloc[position - 11] - 1
    assert row["cum_return"] == pytest.approx(expected, rel=1e-12)
    # a summary line is the mean of its rows; the CAR path at the last offset averages the rows' car
    deals = events[(events["kind"] == "deal") & (events["role"] == "involved")]
    line = summary.query("subject == 'symbols' and by == 'kind' and key == 'deal' and metric == 'drawdown'").iloc[0]
    assert line["mean"] == pytest.approx(deals["drawdown"].mean()) and line["n"] == len(deals)
    assert line["ci_lower"] <= line["mean"] <= line["ci_upper"]
    complete = deals[deals["complete"] & deals["car"].notna()]
    path = car.query("subject == 'symbols' and by == 'kind' and key == 'deal' and measure == 'car' and offset == 20")
    assert path["n"].iloc[0] == len(complete) and path["mean"].iloc[0] == pytest.approx(complete["car"].mean())


def test_events_command_on_a_run_folder_with_another_file_and_window(study_dir, tmp_path):
    study_dir = Path(shutil.copytree(study_dir, tmp_path / "run"))
    custom = tmp_path / "mine.csv"
    custom.write_text("date,session,kind,symbols,title\n2025-04-18,pre,deal,NVDA;ZZZZ,Good Friday news\n")
    result = runner.invoke(app, ["events", str(study_dir), "--events", str(custom), "--window", "-3:5"])
    assert result.exit_code == 0, result.output
    assert "ZZZZ: not in the price data" in result.output
    events = pd.read_parquet(study_dir / "events.parquet")
    assert set(events["symbol"]) == {"NVDA", "SPY"}
    assert (events["session_date"] == pd.Timestamp("2025-04-21")).all()
    car = pd.read_parquet(study_dir / "event_car.parquet")
    assert car["offset"].min() == -3 and car["offset"].max() == 5


def test_a_bad_window_is_a_one_line_error(study_dir):
    result = runner.invoke(app, ["events", str(study_dir), "--window", "5:10"])
    assert result.exit_code == 2 and "event_study.window" in result.output and "day 0" in result.output


@pytest.mark.parametrize("end, complete", [("2024-12-31", True), (None, False)])
def test_an_event_near_the_runs_end_gets_its_window_from_the_data_after_it(tmp_path, end, complete):
    from engine.analysis.event_run import run_event_study
    from engine.config.run_config import SAMPLE_DATA_DIR, load_config
    from engine.data.loader import load_dataset

    last = load_dataset(SAMPLE_DATA_DIR, symbols=["NVDA"]).sessions[-1]
    day = "2024-12-20" if end else f"{last - pd.Timedelta(days=7):%Y-%m-%d}"
    custom = tmp_path / "near_end.csv"
    custom.write_text(f"date,session,kind,symbols,title\n{day},pre,deal,NVDA,late news\n")
    minimal = Path(__file__).resolve().parents[1] / "configs" / "minimal.yaml"
    config = load_config(minimal, {"period.start": "2023-01-03"} | ({"period.end": end} if end else {}))
    data = load_dataset(SAMPLE_DATA_DIR, symbols=["NVDA", "MSFT", "AVGO", "SPY"], start="2023-01-03", end=end)
    equity = pd.DataFrame({"equity": 1.0}, index=data.sessions)
    result = run_event_study(config, equity, data, events_file=custom, window="-5:10")
    nvda = result.events[result.events["symbol"] == "NVDA"].iloc[0]
    # by hand from prices.parquet: total-return close at day 0 + 10 over the close before day 0
    prices = pd.read_parquet(SAMPLE_DATA_DIR / "prices.parquet").query("symbol == 'NVDA'")
    prices["date"] = pd.to_datetime(prices["date"])
    tr = (prices.set_index("date")["adj_close"] if "adj_close" in prices
          else prices.set_index("date")["close"] * prices.set_index("date")["adj_factor"]).sort_index()
    t0 = tr.index.get_loc(nvda["session_date"])
    assert bool(nvda["complete"]) is complete
    expected = tr.iloc[min(t0 + 10, len(tr) - 1)] / tr.iloc[t0 - 1] - 1
    assert nvda["post_return"] == pytest.approx(expected)
    book = result.strategy[result.strategy["book"] == "strategy"].iloc[0]
    assert not book["complete"]  # the run's own equity ends with the run


def test_event_counts_agree_between_tables_and_terminal_and_the_left_out_events_are_named(study_dir, tmp_path):
    from engine.report.event_section import events_section
    from engine.run.folder import RunFolder

    study_dir = Path(shutil.copytree(study_dir, tmp_path / "run"))
    custom = tmp_path / "mine.csv"
    custom.write_text("date,session,kind,symbols,title\n"
                      "2025-04-16,pre,deal,NVDA,priced\n"
                      "2025-05-06,pre,deal,ZZZZ,a name without prices\n"
                      "2025-05-20,pre,macro,,names no stock\n"
                      "2025-06-03,pre,shock,NVDA;AMD,two names\n")
    result = runner.invoke(app, ["events", str(study_dir), "--events", str(custom)])
    assert result.exit_code == 0, result.output
    # by hand from the file: kind -> (events, events with a stock priced over the window)
    expected = {"deal": ("2", "1", "1"), "macro": ("1", "0", "0"), "shock": ("1", "1", "1")}  # NVDA, AMD: long history
    lines = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:5]]
             for line in result.output.split("Strategy vs")[0].splitlines()
             if line.startswith("│") and line.split("│")[1].strip()}
    assert {kind: tuple(lines[kind]) for kind in expected} == expected
    section = events_section(RunFolder.read(study_dir), None)
    tables = {block.key: block for block in section.blocks if hasattr(block, "rows")}
    reaction = {row[0]: tuple(row[1:4]) for row in tables["event_reaction"].rows}
    strategy = {row[0]: row[1] for row in tables["event_strategy"].rows}
    assert reaction == expected and strategy == {kind: events for kind, (events, *_) in expected.items()}
    note = " ".join(block.text for block in section.blocks if hasattr(block, "text"))
    assert "name no stock: 2025-05-20 macro" in note and "2025-05-06 deal (ZZZZ)" in note
    assert "name no stock: 2025-05-20 macro" in " ".join(result.output.split())
