"""End to end: `rulebook run` and `validate` on the bundled sample and on altered copies of it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from engine.cli.main import app
from engine.config.run_config import SAMPLE_DATA_DIR

SYMBOLS = ["NVDA", "AMD", "MSFT", "ORCL", "EQIX", "CRWV"]
CONFIG = {
    "name": "e2e",
    "period": {"start": "2024-06-03", "end": "2025-12-31"},
    "universe": {"symbols": SYMBOLS},
    "strategy": {"kind": "inverse_volatility", "rebalance": "weekly", "lookback": 20},
    "execution": {"fees_bps": 10, "slippage_bps": 5},
}
runner = CliRunner()


def write_config(tmp_path: Path, config: dict = CONFIG, name: str = "e2e.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(config))
    return path


def run_cli(*args: str):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("run")
    result = run_cli("run", write_config(tmp), "--out", tmp / "out")
    assert result.exit_code == 0, result.output
    return tmp / "out"


def test_run_folder_is_complete_and_consistent(run_dir: Path) -> None:
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "config.yaml", "equity.parquet", "manifest.json", "metrics.json", "report.html", "report.pdf",
        "trades.parquet", "weights.parquet"]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    equity = pd.read_parquet(run_dir / "equity.parquet")
    assert metrics["final_equity"] == pytest.approx(equity["equity"].iloc[-1], rel=1e-12)
    assert metrics["total_return"] == pytest.approx(equity["equity"].iloc[-1] / equity["equity"].iloc[0] - 1)
    assert metrics["benchmark_total_return"] == pytest.approx(
        equity["benchmark"].iloc[-1] / equity["benchmark"].iloc[0] - 1)
    assert (equity["cash"] >= 0).all()
    trades = pd.read_parquet(run_dir / "trades.parquet")
    assert (trades["session"] > trades["decided"]).all(), "every fill comes after its decision"
    assert set(trades["symbol"]) <= set(SYMBOLS)
    resolved = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert resolved["execution"]["fees_bps"] == 10 and resolved["data"]["calendar"] == "XNYS"
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["data"]["synthetic"] is True
    assert manifest["start"] == "2024-06-03" and manifest["end"] == "2025-12-31"
    assert len(manifest["data"]["fingerprint"]) == 64


def test_same_config_same_data_gives_identical_metrics(tmp_path: Path, run_dir: Path) -> None:
    assert run_cli("run", write_config(tmp_path), "--out", tmp_path / "again").exit_code == 0
    assert (tmp_path / "again" / "metrics.json").read_bytes() == (run_dir / "metrics.json").read_bytes()
    first = pd.read_parquet(run_dir / "trades.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "again" / "trades.parquet"), first)


def test_changing_the_future_does_not_move_the_past(tmp_path: Path, run_dir: Path) -> None:
    """Perturb every price after T in a copy of the data: everything up to T must be identical."""
    cut = pd.Timestamp("2025-03-14")
    data = tmp_path / "data"
    shutil.copytree(SAMPLE_DATA_DIR, data)
    prices = pd.read_parquet(data / "prices.parquet")
    later = pd.to_datetime(prices["date"]) > cut
    shock = np.random.default_rng(7).uniform(0.5, 1.5, later.sum())
    for column in ("open", "high", "low", "close", "adj_close"):
        prices.loc[later, column] = prices.loc[later, column] * shock
    prices.to_parquet(data / "prices.parquet", index=False)
    assert run_cli("run", write_config(tmp_path), "--data", data, "--out", tmp_path / "out").exit_code == 0

    for name, key in (("equity", "date"), ("weights", "date"), ("trades", "session")):
        before = pd.read_parquet(run_dir / f"{name}.parquet")
        after = pd.read_parquet(tmp_path / "out" / f"{name}.parquet")
        pd.testing.assert_frame_equal(after[after[key] <= cut].reset_index(drop=True),
                                      before[before[key] <= cut].reset_index(drop=True))
        assert not after.equals(before), f"{name}: the perturbation should change the future"


def test_unknown_ticker_is_a_clear_error_and_writes_nothing(tmp_path: Path) -> None:
    bad = {**CONFIG, "universe": {"symbols": ["NVDA", "NVDAA"]}}
    result = run_cli("run", write_config(tmp_path, bad), "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert "NVDAA" in result.output and "prices.parquet" in result.output
    assert list(tmp_path.iterdir()) == [tmp_path / "e2e.yaml"]


def test_bad_key_and_bad_date_exit_2_with_the_key_path(tmp_path: Path) -> None:
    result = run_cli("validate", write_config(tmp_path, {**CONFIG, "executon": {}}))
    assert result.exit_code == 2 and "executon" in result.output and "execution" in result.output
    result = run_cli("run", write_config(tmp_path), "--start", "2025-02-30", "--out", tmp_path / "o")
    assert result.exit_code == 2 and "period.start" in result.output
    assert not (tmp_path / "o").exists()


def test_validate_reports_the_data_span(tmp_path: Path) -> None:
    result = run_cli("validate", write_config(tmp_path))
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "6 symbols, 397 sessions 2024-06-03 → 2025-12-31" in text and "SYNTHETIC" in text


def test_existing_run_folder_is_never_overwritten(tmp_path: Path, run_dir: Path) -> None:
    before = {p.name: p.read_bytes() for p in run_dir.iterdir()}
    result = run_cli("run", write_config(tmp_path), "--out", run_dir)
    assert result.exit_code == 2 and "already exists" in result.output
    assert {p.name: p.read_bytes() for p in run_dir.iterdir()} == before


def test_a_failure_while_writing_leaves_no_folder(tmp_path: Path, monkeypatch) -> None:
    import engine.run.folder as runfolder

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(runfolder, "manifest", broken)
    result = runner.invoke(app, ["run", str(write_config(tmp_path)), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "unexpected OSError: disk full" in result.output and "rulebook --debug" in result.output
    with pytest.raises(OSError):  # --debug shows the real exception (and its traceback)
        runner.invoke(app, ["--debug", "run", str(write_config(tmp_path)), "--out", str(tmp_path / "out")],
                      catch_exceptions=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e2e.yaml"], "no run folder, no temp leftovers"


def test_error_text_keeps_its_brackets(tmp_path: Path) -> None:
    """Rich markup must not eat '[1]' in a key path (or '[yfinance]' in an install hint)."""
    result = run_cli("validate", write_config(tmp_path, {**CONFIG, "universe": {"symbols": ["NVDA", 5]}}))
    assert result.exit_code == 2 and "universe.symbols[1]" in result.output
