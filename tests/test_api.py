"""The public API (rulebook/): what a notebook sees equals what the CLI writes, cheaply imported."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import rulebook
from engine.cli.main import app
from engine.errors import ConfigError, DataError

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("engine", "strategies", "vectorbt", "numba", "plotly", "matplotlib", "reportlab", "scipy", "pandas",
         "pandas_market_calendars", "pydantic")
CONFIG = {
    "name": "api",
    "period": {"start": "2024-06-03", "end": "2025-06-30"},
    "universe": {"symbols": ["NVDA", "AMD", "MSFT", "ORCL"], "groups": {"semis": ["NVDA", "AMD"]}},
    "rules": {"weighting": {"kind": "equal", "rebalance": "monthly"}, "caps": {"name": 0.3, "groups": {"semis": 0.5}}},
    "execution": {"fees_bps": 10, "slippage_bps": 5},
    "report": {"enabled": False},
}


def loaded_modules(statement: str) -> list[str]:
    """Top-level HEAVY packages in sys.modules after running ``statement`` in a fresh interpreter."""
    code = f"import sys; {statement}; print(sorted({{m.split('.')[0] for m in sys.modules}}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    return [name for name in eval(out) if name in HEAVY]


def test_import_rulebook_loads_nothing_heavy_and_the_check_would_see_it():
    assert loaded_modules("import rulebook") == []
    assert loaded_modules("import rulebook; rulebook.__doc__; dir(rulebook)") == []
    assert "pandas" in loaded_modules("import rulebook.result"), "the probe detects a heavy import"


def test_the_command_line_parser_loads_no_engine_library():
    """`rulebook --help` imports the CLI modules only: no pandas, vectorbt, numba, plotting, config models."""
    assert set(loaded_modules("import engine.cli.main")) <= {"engine"}
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0 and "compare" in result.output


def test_every_public_name_has_a_docstring():
    for name in rulebook.__all__:
        obj = getattr(rulebook, name)
        assert inspect.getdoc(obj), name
        if inspect.isclass(obj):
            for member, value in vars(obj).items():
                if not member.startswith("_"):
                    assert inspect.getdoc(value), f"{name}.{member}"


@pytest.fixture(scope="module")
def result() -> rulebook.Result:
    return rulebook.run(CONFIG)


@pytest.fixture(scope="module")
def saved(result, tmp_path_factory) -> Path:
    return result.save(tmp_path_factory.mktemp("api") / "run", reports=[])


def test_the_saved_folder_reads_back_as_the_result_that_wrote_it(result, saved):
    back = rulebook.open_run(saved)
    assert back.metrics == json.loads(json.dumps(result.metrics))
    pd.testing.assert_frame_equal(back.equity, result.equity, check_freq=False)
    pd.testing.assert_frame_equal(back.weights, result.weights, check_freq=False)
    pd.testing.assert_frame_equal(back.trades, result.trades)
    pd.testing.assert_frame_equal(back.rules, result.rules)
    assert back.hedges is None and result.hedges is None
    assert back.config == result.config


def test_the_cli_writes_the_same_run_as_the_api(tmp_path, result):
    config = tmp_path / "api.yaml"
    config.write_text(json.dumps(CONFIG))  # JSON is YAML
    out = tmp_path / "cli"
    assert CliRunner().invoke(app, ["run", str(config), "--out", str(out)]).exit_code == 0
    assert json.loads((out / "metrics.json").read_text()) == json.loads(json.dumps(result.metrics))
    pd.testing.assert_frame_equal(pd.read_parquet(out / "trades.parquet"), result.trades)


def test_returns_are_the_session_returns_of_total_equity(result):
    equity = result.equity["equity"].to_numpy()
    np.testing.assert_allclose(result.returns.to_numpy(), equity[1:] / equity[:-1] - 1.0, rtol=1e-15)
    from engine.data.calendar import sessions_per_year

    ppy = sessions_per_year("XNYS", result.equity.index[0], result.equity.index[-1])
    assert result.metrics["volatility"] == pytest.approx(result.returns.std() * np.sqrt(ppy), rel=1e-12)


def test_the_vectorbt_portfolio_is_the_stock_book_annualised_on_the_calendar(result):
    portfolio = result.portfolio
    np.testing.assert_allclose(portfolio.value().to_numpy(), result.equity["equity"].to_numpy(), rtol=1e-9)
    from engine.data.calendar import sessions_per_year

    ppy = sessions_per_year("XNYS", result.equity.index[0], result.equity.index[-1])
    assert portfolio.returns_acc.ann_factor == pytest.approx(ppy, rel=1e-12), "not vectorbt's 365 days"
    returns = portfolio.returns()
    assert returns.iloc[0] == 0.0, "vectorbt also counts the first session, against the initial cash"
    np.testing.assert_allclose(returns.iloc[1:].to_numpy(), result.returns.to_numpy(), rtol=1e-9, atol=1e-15)
    same_sessions = returns.iloc[1:].vbt.returns(freq=portfolio.wrapper.freq)
    assert same_sessions.sharpe_ratio() == pytest.approx(result.metrics["sharpe"], rel=1e-9)
    assert same_sessions.annualized_volatility() == pytest.approx(result.metrics["volatility"], rel=1e-9)


def test_overrides_as_dotted_keys_or_double_underscores_equal_an_edited_config(result):
    edited = {**CONFIG, "rules": {**CONFIG["rules"], "caps": {"name": 0.26, "groups": {"semis": 0.5}}}}
    by_dict = rulebook.run(edited).metrics
    assert rulebook.run(CONFIG, **{"rules.caps.name": 0.26}).metrics == by_dict
    assert rulebook.run(CONFIG, rules__caps__name=0.26).metrics == by_dict
    assert by_dict != result.metrics, "the override changed the run"


def test_a_loaded_dataset_runs_like_the_folder_it_came_from(result):
    data = rulebook.load_dataset(CONFIG)
    assert rulebook.run(CONFIG, data=data).metrics == result.metrics
    with pytest.raises(ConfigError, match="has no AMD"):
        rulebook.run(CONFIG, data=rulebook.load_dataset(symbols=["NVDA", "MSFT"]))


def test_compare_with_a_variants_dict_matches_single_runs(result):
    comparison = rulebook.compare(CONFIG, variants={"named": {"loose": {"rules.caps.name": 0.4}}})
    assert [v.name for v in comparison.variants] == ["base", "loose"]
    assert comparison.base.metrics == result.metrics
    table = comparison.table.set_index("variant")
    assert table.loc["loose", "sharpe"] == rulebook.run(CONFIG, **{"rules.caps.name": 0.4}).metrics["sharpe"]
    assert table.loc["base", "sharpe"] == result.metrics["sharpe"]
    assert comparison.config.variants.named == {"loose": {"rules.caps.name": 0.4}}


def test_a_save_that_fails_while_writing_reports_leaves_no_folder(result, tmp_path, monkeypatch):
    import engine.report.write

    def broken(folder, formats, page_size=None):
        assert (Path(folder) / "metrics.json").is_file(), "reports are written inside the unfinished folder"
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(engine.report.write, "write_reports", broken)
    with pytest.raises(RuntimeError, match="renderer crashed"):
        result.save(tmp_path / "run", reports=["html"])
    assert list(tmp_path.iterdir()) == [], "complete or absent: no folder, no temporary left behind"


def test_validate_names_the_bad_key():
    with pytest.raises(ConfigError, match="fee_bps"):
        rulebook.validate({**CONFIG, "execution": {"fee_bps": 10}})
    checked = rulebook.validate(CONFIG)
    assert checked.data.sessions[0] == pd.Timestamp("2024-06-03") and checked.config.name == "api"


def test_open_run_rejects_a_folder_that_is_not_a_run(tmp_path):
    with pytest.raises(DataError, match="not a complete run folder"):
        rulebook.open_run(tmp_path)
