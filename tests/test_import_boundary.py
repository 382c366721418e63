"""Reading a config and `rulebook validate` import no compiled or plotting code (numba, vectorbt,
plotly, matplotlib, reportlab): those commands take about a second only because the config models
and the rule registry read the rules' declarations (engine.sim.rule_layout), and a path-dependent
rule names its numba step by module (strategies.steps), imported when a simulation needs it.

Each check runs in a fresh interpreter, so what the test process itself imported does not count."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("numba", "vectorbt", "plotly", "matplotlib", "reportlab")
READ_CONFIG = ("import rulebook\nfrom strategies import registry\n"
               "rulebook.load_config('configs/column.yaml')\nregistry.kernel_layout().codes\n")
VALIDATE = "from engine.cli.main import app\napp(['validate', 'configs/column.yaml'], standalone_mode=False)\n"


def heavy_modules_after(code: str, root: Path = ROOT, env: dict[str, str] | None = None) -> list[str]:
    """The HEAVY modules loaded once ``code`` has run in a new interpreter on the project at ``root``
    (``env``: its environment, default this one with the project on the path)."""
    probe = code + f"\nimport sys\nprint('loaded:' + ','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    out = subprocess.run([sys.executable, "-c", probe], env=env or {**os.environ, "PYTHONPATH": str(root)}, cwd=root,
                         capture_output=True, text=True, check=True, timeout=600).stdout
    loaded = out.rsplit("loaded:", 1)[1].strip()
    return loaded.split(",") if loaded else []


def test_reading_a_config_and_the_registry_loads_no_compiled_code():
    assert heavy_modules_after(READ_CONFIG) == []


def test_validate_loads_no_compiled_code():
    assert heavy_modules_after(VALIDATE) == []


def test_validate_with_cached_sessions_loads_no_calendar_library(tmp_path):
    """pandas-market-calendars (0.2-0.4 s to import) is needed only to compute sessions not yet cached."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RULEBOOK_CACHE_DIR": str(tmp_path)}
    probe = VALIDATE + "import sys\nprint('loaded:' + str('pandas_market_calendars' in sys.modules))\n"
    runs = [subprocess.run([sys.executable, "-c", probe], env=env, cwd=ROOT, capture_output=True, text=True,
                           check=True, timeout=600).stdout.rsplit("loaded:", 1)[1].strip() for _ in range(2)]
    assert runs == ["True", "False"]  # the first run computes and caches the sessions, the second reads them


def test_the_check_catches_a_rule_that_imports_its_step(tmp_path):
    """The regression the split prevents: a shipped rule importing its compiled step at the top
    (as every path-dependent rule did before) pulls numba into every config read (vectorbt no longer:
    engine.sim.orders imports it only to compile)."""
    for folder in ("engine", "strategies", "rulebook", "configs", "data"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    rule = tmp_path / "strategies" / "stop_loss.py"
    rule.write_text(rule.read_text() + "\nfrom strategies.steps.stop_loss import stop_loss_step  # noqa: E402\n")
    assert "numba" in heavy_modules_after(READ_CONFIG, tmp_path)
    assert "numba" in heavy_modules_after(VALIDATE, tmp_path)


def test_scipy_special_loads_only_when_an_option_is_priced():
    """scipy.special (~0.2 s to import) is needed by the option pricer only, not by a run without hedges."""
    probe = ("import sys\nimport engine.run.backtest, engine.hedges.book, engine.analysis.scenarios\n"
             "before = 'scipy.special' in sys.modules\nfrom engine.hedges.options import bsm_price\n"
             "price = float(bsm_price(100.0, 90.0, 0.25, 0.2, 0.0, 0.0, False))\n"
             "print('loaded:', before, 'scipy.special' in sys.modules, round(price, 6))\n")
    out = subprocess.run([sys.executable, "-c", probe], env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT,
                         capture_output=True, text=True, check=True, timeout=600).stdout
    assert out.rsplit("loaded:", 1)[1].split() == ["False", "True", "0.712381"]
