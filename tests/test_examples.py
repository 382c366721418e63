"""examples/notebook.py runs top to bottom, and what it shows is what the API computed."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def test_the_notebook_example_runs_and_plots_the_compared_equity(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["notebook.py", str(tmp_path)])
    monkeypatch.chdir(tmp_path)
    ns = runpy.run_path(str(ROOT / "examples" / "notebook.py"), run_name="__main__")
    result, comparison = ns["result"], ns["comparison"]
    assert result.config.name == "column"
    assert [v.name for v in comparison.variants] == ["base", "caps.name=0.06", "caps.name=0.12"]
    assert comparison.base.metrics == result.metrics, "compare's base is the single run"
    lines = {line.get_label(): line.get_ydata() for line in ns["ax"].get_lines()}
    assert set(lines) == set(comparison.equity.columns)
    for name, values in lines.items():
        np.testing.assert_array_equal(values, comparison.equity[name].to_numpy())
    assert (tmp_path / "equity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list(tmp_path.iterdir()) == [tmp_path / "equity.png"], "the example writes only its figure"
