"""`rulebook data pull yfinance`, offline: yfinance.download is replaced by a recorded frame; no network."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from data_builders import folder_state
from engine.cli.main import app
from engine.data.loader import load_dataset
from engine.errors import DataError
from engine.data.yf_pull import pull_yfinance

RECORDED = Path(__file__).parent / "fixtures" / "yfinance_download_MSFT_NVDA_2025-12.csv"
runner = CliRunner()


def recorded_frame() -> pd.DataFrame:
    """The recorded yf.download result: (Price, Ticker) columns, Date index, floats."""
    frame = pd.read_csv(RECORDED, header=[0, 1], index_col=0)
    frame = frame[frame.index != "Date"].astype("float64")
    frame.index = pd.DatetimeIndex(frame.index, name="Date")
    frame.columns.names = ["Price", "Ticker"]
    return frame


@pytest.fixture
def fake_yfinance(monkeypatch):
    """Install a stand-in yfinance module whose download() replays the recording and logs its arguments."""
    calls = []

    def download(tickers, **kwargs):
        calls.append({"tickers": tickers, **kwargs})
        frame = recorded_frame()
        return frame.loc[:, frame.columns.get_level_values("Ticker").isin(tickers)]

    monkeypatch.setitem(sys.modules, "yfinance", types.SimpleNamespace(download=download))
    return calls


def test_pull_writes_the_recorded_bars_with_adjusted_close(tmp_path, fake_yfinance):
    result = runner.invoke(app, ["data", "pull", "yfinance", "NVDA", "MSFT", "--start", "2025-12-01",
                                 "--end", "2025-12-31", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    call, = fake_yfinance
    assert (call["start"], call["end"], call["auto_adjust"]) == ("2025-12-01", "2026-01-01", False)  # end made inclusive
    data = load_dataset(tmp_path)
    frame = recorded_frame()
    for symbol in ("NVDA", "MSFT"):
        np.testing.assert_allclose(data.close[symbol], frame[("Close", symbol)], rtol=1e-12)
        np.testing.assert_allclose(data.close[symbol] * data.adj_factor[symbol], frame[("Adj Close", symbol)], rtol=1e-12)
    assert data.close.loc["2025-12-31", "NVDA"] == pytest.approx(186.50, abs=0.005)  # SOURCES.md spot value


def test_saved_yfinance_csv_imports_like_the_pull(tmp_path, fake_yfinance):
    runner.invoke(app, ["data", "pull", "yfinance", "NVDA", "MSFT", "--start", "2025-12-01", "--end", "2025-12-31",
                        "--out", str(tmp_path / "pulled")])
    result = runner.invoke(app, ["data", "import", "prices", str(RECORDED), "--out", str(tmp_path / "imported")])
    assert result.exit_code == 0, result.output
    pulled = pd.read_parquet(tmp_path / "pulled" / "prices.parquet")
    imported = pd.read_parquet(tmp_path / "imported" / "prices.parquet")
    pd.testing.assert_frame_equal(pulled, imported)


def test_a_ticker_without_data_is_an_error_and_nothing_is_written(tmp_path, fake_yfinance):
    before = folder_state(tmp_path)
    result = runner.invoke(app, ["data", "pull", "yfinance", "NVDA", "NVDAX", "--start", "2025-12-01",
                                 "--end", "2025-12-31", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "NVDAX" in result.output
    assert folder_state(tmp_path) == before


def test_missing_yfinance_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "yfinance", None)  # import yfinance now raises ImportError
    result = runner.invoke(app, ["data", "pull", "yfinance", "NVDA", "--start", "2025-12-01", "--end", "2025-12-31",
                                 "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "optional extra 'yfinance'" in " ".join(result.output.split())
    with pytest.raises(DataError, match=re.escape("pip install 'rulebook[yfinance]'")):
        pull_yfinance(["NVDA"], "2025-12-01", "2025-12-31", tmp_path)
