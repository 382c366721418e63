"""A full disk, for real: a 256 KB tmpfs (needs root; skipped elsewhere). One line naming the path, exit 2,
and nothing half-written: no run folder, no new dataset folder, an existing dataset byte-identical."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from engine.cli.main import app
from engine.data.calendar import get_sessions
from data_builders import folder_state, random_prices, write_random_dataset

runner = CliRunner()


@pytest.fixture
def small_disk(tmp_path: Path):
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)],
                                           capture_output=True).returncode != 0:
        pytest.skip("mounting a small tmpfs needs root")
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def big_prices_csv(folder: Path) -> Path:
    """Fifteen years of four symbols: about 1.7 MB of CSV, far more Parquet than the disk holds."""
    path = folder / "prices.csv"
    random_prices(["AAA", "BBB", "CCC", "DDD"], get_sessions("2010-01-01", "2024-12-31", "XNYS")).to_csv(path, index=False)
    return path


def one_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in output, output
    return lines[0]


def test_an_import_onto_a_full_disk_leaves_no_dataset_folder(small_disk: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["data", "import", "prices", str(big_prices_csv(tmp_path)), "--out", str(small_disk / "new")])
    assert result.exit_code == 2
    assert f"{small_disk / 'new' / 'prices.parquet'}: could not write it (no space left on device)" in one_line(result.output)
    assert list(small_disk.iterdir()) == []


def test_an_import_into_an_existing_dataset_on_a_full_disk_keeps_it(small_disk: Path, tmp_path: Path) -> None:
    write_random_dataset(small_disk / "data", symbols=("AAA",), end="2024-01-31")
    before = folder_state(small_disk)
    result = runner.invoke(app, ["data", "import", "prices", str(big_prices_csv(tmp_path)), "--out", str(small_disk / "data")])
    assert result.exit_code == 2 and "no space left on device" in one_line(result.output)
    assert folder_state(small_disk) == before  # every file byte-identical, and no temporary file beside them


def test_a_run_onto_a_full_disk_leaves_no_run_folder(small_disk: Path, tmp_path: Path) -> None:
    write_random_dataset(tmp_path / "data", symbols=("AAA", "BBB"))
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"name": "full", "data": {"dir": "data"}, "universe": {"symbols": ["AAA", "BBB"]},
                                      "strategy": {"kind": "buy_and_hold"}, "benchmark": None,
                                      "report": {"formats": ["html"]}}))
    result = runner.invoke(app, ["run", str(config), "--out", str(small_disk / "run")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    message = " ".join(result.output.split())
    assert f"{small_disk / 'run'}" in message and "no space left on device" in message and "rulebook-tmp" not in message
    assert list(small_disk.iterdir()) == []
