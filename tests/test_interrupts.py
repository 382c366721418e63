"""Ctrl-C (a real SIGINT, in a real process) at each stage of run, compare and events.

A small driver starts the CLI in a subprocess (in a session of its own, like a terminal's foreground
job) with one function wrapped so that the process sends its process group SIGINT when it reaches
that function (the n-th call), as Ctrl-C in a terminal does (so it reaches the background PDF
process too): the signal lands exactly at the stage named, however loaded the machine is. Every
case asserts exit 130, no traceback, and that the destination is complete or absent (or, for a folder being updated, byte-identical to before), with
no temporary entries left beside it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from engine.atomic import TMP_SUFFIX
from data_builders import folder_state

ROOT = Path(__file__).resolve().parents[1]
DRIVER = """
import importlib, os, signal, sys
where, nth, sig = sys.argv[1], int(sys.argv[2]), getattr(signal, sys.argv[3])
module_name, _, dotted = where.partition(":")
owner = importlib.import_module(module_name)
*path, name = dotted.split(".")
for part in path:
    owner = getattr(owner, part)
original, calls = getattr(owner, name), [0]
def wrapped(*args, **kwargs):
    calls[0] += 1
    if calls[0] == nth:
        os.killpg(os.getpgid(0), sig)
    return original(*args, **kwargs)
setattr(owner, name, wrapped if not isinstance(original, staticmethod) else staticmethod(wrapped))
from engine.cli.main import app
sys.argv = ["rulebook", *sys.argv[4:]]
app()
"""
CONFIG = {"name": "sig", "period": {"start": "2024-06-03", "end": "2025-12-31"},
          "universe": {"symbols": ["NVDA", "MSFT", "AVGO"]}, "strategy": {"kind": "buy_and_hold"},
          "event_study": {"enabled": True, "bootstrap": 100}, "report": {"formats": ["html"]}}  # PDF: one case (slow)


def cli(tmp: Path, where: str, *args, nth: int = 1, sig: str = "SIGINT") -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-c", DRIVER, where, str(nth), sig, *map(str, args)], cwd=tmp, env=env,
                          capture_output=True, text=True, timeout=600, start_new_session=True)


@pytest.fixture
def config(tmp_path: Path, request) -> Path:
    path = tmp_path / "sig.yaml"
    formats = ["pdf"] if "pdf" in request.node.name else ["html"]
    path.write_text(yaml.safe_dump({**CONFIG, "report": {"formats": formats}}))
    return path


def assert_interrupted(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 130, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr, result.stderr
    assert "interrupted" in result.stderr


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob("*") if TMP_SUFFIX in p.name] if folder.exists() else []


@pytest.mark.parametrize("where, nth", [
    ("engine.run.backtest:run_backtest", 1),  # simulating
    ("engine.analysis.event_run:run_event_study", 1),  # the event study runs (before the folder is written)
    ("matplotlib.figure:Figure.savefig", 3),  # rendering the PDF's charts
    ("engine.atomic:_rename_noreplace", 1),  # everything written, about to rename into place
], ids=["simulation", "event-study", "pdf-rendering", "final-rename"])
def test_interrupted_run_leaves_no_folder(tmp_path: Path, config: Path, where: str, nth: int) -> None:
    result = cli(tmp_path, where, "run", config, "--out", tmp_path / "out", nth=nth)
    assert_interrupted(result)
    assert not (tmp_path / "out").exists() and leftovers(tmp_path) == []


def test_a_killed_run_leaves_a_recognisable_temporary_folder_that_the_next_run_removes(tmp_path: Path,
                                                                                       config: Path) -> None:
    killed = cli(tmp_path, "engine.atomic:_rename_noreplace", "run", config, "--no-report", sig="SIGKILL")
    assert killed.returncode == -9
    left = leftovers(tmp_path / "reports")
    assert len(left) == 1 and left[0].startswith(".sig-") and left[0].endswith(".new" + TMP_SUFFIX)
    done = cli(tmp_path, "engine.atomic:sweep_stale", "run", config, "--no-report", "--out", tmp_path / "reports" / "b",
               nth=99)  # nth=99: never interrupted
    assert done.returncode == 0, done.stderr
    assert leftovers(tmp_path / "reports") == [] and [p.name for p in (tmp_path / "reports").iterdir()] == ["b"]
    assert {"events.parquet", "metrics.json"} <= {p.name for p in (tmp_path / "reports" / "b").iterdir()}


@pytest.mark.parametrize("where", ["engine.sweep.compare:_run_batch", "engine.report.write:write_reports"],
                         ids=["variants", "reports"])
def test_interrupted_compare_leaves_no_folder(tmp_path: Path, where: str) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump({**CONFIG, "event_study": {"enabled": False},
                                    "variants": {"grid": {"execution.fees_bps": [1, 10]}}}))
    result = cli(tmp_path, where, "compare", path, "--out", tmp_path / "out")
    assert_interrupted(result)
    assert not (tmp_path / "out").exists() and leftovers(tmp_path) == []


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("finished")
    (tmp / "sig.yaml").write_text(yaml.safe_dump({**CONFIG, "report": {"enabled": False}}))
    result = cli(tmp, "engine.atomic:sweep_stale", "run", tmp / "sig.yaml", "--out", tmp / "run", nth=99)
    assert result.returncode == 0, result.stderr
    return tmp / "run"


@pytest.mark.parametrize("where, nth", [
    ("engine.run.files:write_file", 3),  # two of the four event files written, the third starting
    ("engine.atomic:_exchange", 1),  # the new set complete, about to be swapped in
], ids=["between-files", "before-swap"])
def test_interrupted_events_keep_the_old_set(tmp_path: Path, finished: Path, where: str, nth: int) -> None:
    folder = tmp_path / "run"
    subprocess.run(["cp", "-a", str(finished), str(folder)], check=True)
    before = folder_state(folder)
    result = cli(tmp_path, where, "events", folder, "--window", "-5:10", nth=nth)
    assert_interrupted(result)
    assert folder_state(folder) == before and leftovers(tmp_path) == []


def test_events_replace_the_set(tmp_path: Path, finished: Path) -> None:
    """Uninterrupted, the same command replaces all four event files (the control for the test above)."""
    folder = tmp_path / "run"
    subprocess.run(["cp", "-a", str(finished), str(folder)], check=True)
    before = folder_state(folder)
    result = cli(tmp_path, "engine.atomic:sweep_stale", "events", folder, "--window", "-5:10", nth=99)
    assert result.returncode == 0, result.stderr
    after = folder_state(folder)
    changed = {name for name in after if after[name] != before.get(name)}
    assert changed == {"events.parquet", "event_summary.parquet", "event_car.parquet", "event_strategy.parquet"}
    assert leftovers(tmp_path) == []
