"""The example plugin (examples/plugin) registered through the ``rulebook.rules`` entry-point group,
as pip would install it, then used like a shipped rule: config reference, validate errors, a run
whose rules.parquet and report show both of its rules.

The plugin is not pip-installed into the shared environment: its dist-info (with the
entry_points.txt pip writes from its pyproject.toml) is put on a temporary path, and every
command runs in a subprocess, so the rules it registers do not leak into other tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pandas as pd
import pytest
import yaml

from test_import_boundary import heavy_modules_after

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "examples" / "plugin"


def installed(tmp_path: Path) -> dict[str, str]:
    """An environment in which the plugin is installed: its package and dist-info on the path."""
    site = tmp_path / "site"
    shutil.copytree(PLUGIN / "rulebook_example_plugin", site / "rulebook_example_plugin")
    project = tomllib.loads((PLUGIN / "pyproject.toml").read_text())["project"]
    info = site / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n")
    points = "".join(f"[{group}]\n" + "".join(f"{name} = {target}\n" for name, target in entries.items())
                     for group, entries in project["entry-points"].items())
    (info / "entry_points.txt").write_text(points)
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}


def rulebook(env: dict, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from engine.cli.main import app; app()", *args], env=env,
                          cwd=cwd, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict:
    return installed(tmp_path_factory.mktemp("plugin"))


def test_the_plugin_rules_are_in_the_config_reference(env):
    reference = subprocess.run([sys.executable, "-m", "engine.config.reference"], env=env, capture_output=True,
                               text=True, check=True, cwd=ROOT).stdout
    assert "| `rules.fcf_margin.min_margin` | `0.05` |" in reference
    assert "| `rules.time_stop.sessions` | required |" in reference
    plain = subprocess.run([sys.executable, "-m", "engine.config.reference"], capture_output=True, text=True,
                           check=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout
    assert "time_stop" not in plain  # without the plugin: not registered, not documented


def test_an_unknown_key_inside_a_plugin_rule_is_rejected_with_its_path(env, tmp_path):
    raw = yaml.safe_load((PLUGIN / "config.yaml").read_text())
    raw["rules"]["time_stop"]["sesions"] = 10
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(raw))
    done = rulebook(env, "validate", str(bad), cwd=tmp_path)
    assert done.returncode == 2
    assert "'rules.time_stop.sesions': unknown key (did you mean 'sessions'?)" in done.stderr
    assert "Traceback" not in done.stderr
    without = rulebook({**os.environ, "PYTHONPATH": str(ROOT)}, "validate", str(PLUGIN / "config.yaml"), cwd=tmp_path)
    assert without.returncode == 2 and "'rules.fcf_margin': unknown key" in without.stderr


def test_validating_with_the_plugin_loads_no_compiled_code(env):
    """The plugin names its step by module (time_stop_step.py), so its rules register without numba."""
    code = ("from engine.cli.main import app\nfrom strategies import registry\n"
            f"app(['validate', {str(PLUGIN / 'config.yaml')!r}], standalone_mode=False)\n"
            "assert registry.rule('time_stop').kernel.step.endswith(':time_stop_step')\n")
    assert heavy_modules_after(code, env=env) == []


def test_the_example_config_runs_and_its_rules_act(env, tmp_path):
    out = tmp_path / "run"
    done = rulebook(env, "run", str(PLUGIN / "config.yaml"), "--out", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    log = pd.read_parquet(out / "rules.parquet")
    screened = log[log.rule == "fcf_margin"]
    # the sample's margins (fundamentals.parquet): SMCI and DELL stay below 10%, EQIX is negative
    assert {"SMCI", "DELL", "EQIX"} <= set(screened.symbol) and not {"NVDA", "MSFT"} & set(screened.symbol)
    assert screened.reason.str.match(r"FCF margin -?\d+\.\d% < 10\.0%").any()
    stops = log[log.rule == "time_stop"]
    assert len(stops) and (stops.after == 0).all() and stops.reason.str.startswith("held 60 sessions").all()
    trades = pd.read_parquet(out / "trades.parquet")
    sold = trades[(trades.side == "sell")].set_index(["session", "symbol"]).index
    assert set(zip(stops.session, stops.symbol)) <= set(sold)  # every time stop is a sale that session
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["rules"]["time_stop"] == {"sessions": 60, "cooldown": 10}
    html = (out / "report.html").read_text()
    assert "time_stop" in html and "fcf_margin" in html
