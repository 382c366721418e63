"""validate and run check every input the config will read, before anything runs, in one error."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from engine.cli.main import app
from engine.config.run_config import SAMPLE_DATA_DIR, load_config
from engine.errors import DataError
from engine.run.requirements import check_inputs, missing_inputs

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def partial_copy(folder: Path, *, market_series: list[str], fundamentals_columns: list[str] | None,
                 events: bool, drop_symbols: tuple[str, ...] = ()) -> Path:
    """The sample dataset with some inputs taken away (tables rewritten from the sample's own)."""
    folder.mkdir()
    prices = pd.read_parquet(SAMPLE_DATA_DIR / "prices.parquet")
    prices[~prices["symbol"].isin(drop_symbols)].to_parquet(folder / "prices.parquet")
    market = pd.read_parquet(SAMPLE_DATA_DIR / "market.parquet")
    market[market["series"].isin(market_series)].to_parquet(folder / "market.parquet")
    if fundamentals_columns is not None:
        rows = pd.read_parquet(SAMPLE_DATA_DIR / "fundamentals.parquet")
        for name in ("revenue", "operating_income", "interest_expense", "cash", "total_debt", "capex"):
            if name not in fundamentals_columns:
                rows[name] = float("nan")
        rows.to_parquet(folder / "fundamentals.parquet")
    if events:
        pd.read_parquet(SAMPLE_DATA_DIR / "events.parquet").to_parquet(folder / "events.parquet")
    return folder


def test_the_column_config_on_the_sample_needs_nothing_more():
    assert missing_inputs(load_config(ROOT / "configs" / "column.yaml")) == []


def test_every_missing_input_is_listed_once_with_its_file_and_command(tmp_path):
    folder = partial_copy(tmp_path / "d", market_series=["VIX"], fundamentals_columns=["revenue", "capex"],
                          events=False, drop_symbols=("CRWV", "SPY"))
    config = load_config(ROOT / "configs" / "column.yaml", {"data.dir": str(folder)})
    items = [str(item) for item in missing_inputs(config)]
    out = f"--out {folder}"
    assert items == [
        f"prices.parquet symbols CRWV, SPY (for universe.symbols, benchmark): rulebook data import prices CRWV.csv "
        f"SPY.csv {out}",
        f"market.parquet series DGS10 (for hedges.spy_puts.rate): rulebook data import market DGS10.csv --lag-days 1 "
        f"{out} (a FRED file date,DGS10)",
        f"fundamentals.parquet values of operating_income, interest_expense (for rules.screen.min_interest_coverage): "
        f"rulebook data import fundamentals SHEET.csv {out} (--map YOUR_COLUMN=NAME)",
        f"events.parquet (the file) (for rules.events, event_study): rulebook data import events "
        f"data/events/ai_events.csv {out}"]
    with pytest.raises(DataError, match=r"needs 4 input\(s\) the dataset lacks: 1\) prices.parquet"):
        check_inputs(config)


def test_validate_and_run_stop_before_simulating_and_leave_no_run_folder(tmp_path, monkeypatch):
    folder = partial_copy(tmp_path / "d", market_series=["DGS10"], fundamentals_columns=None, events=True)
    simulated = []
    monkeypatch.setattr("engine.run.backtest.run_backtest", lambda *a, **k: simulated.append(1))
    config = ROOT / "configs" / "column.yaml"
    result = runner.invoke(app, ["validate", str(config), "--data", str(folder)])
    assert result.exit_code == 2 and "series VIX (for rules.regime.vol_series)" in result.output
    assert "values of operating_income, interest_expense, capex, revenue" in result.output
    run = runner.invoke(app, ["run", str(config), "--data", str(folder), "--out", str(tmp_path / "run")])
    assert run.exit_code == 2 and "series VIX" in run.output
    assert simulated == [] and not (tmp_path / "run").exists()


def test_a_hedge_rate_series_the_data_lacks_is_caught_by_validate(tmp_path):
    raw = yaml.safe_load((ROOT / "configs" / "column.yaml").read_text())
    raw["hedges"][0] |= {"rate": "DGS2", "vol": {"source": "VXN"}}
    (tmp_path / "hedged.yaml").write_text(yaml.safe_dump(raw))
    config = load_config(tmp_path / "hedged.yaml")
    assert [(m.item, m.needed_by) for m in missing_inputs(config)] == [
        ("series VXN", "hedges.spy_puts.vol.source"), ("series DGS2", "hedges.spy_puts.rate")]
