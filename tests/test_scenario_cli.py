"""`rulebook scenarios` on a fabricated run folder over the bundled sample data: the book read back,
files written, hedges repriced with the config's multiplier and dividend yield."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from engine.cli.main import app
from engine.config.run_config import RunConfig, to_yaml
from engine.hedges.options import bsm_price
from engine.run.files import FILES

SESSIONS = pd.to_datetime(["2025-06-26", "2025-06-27", "2025-06-30"])
PUT = {"spot": 600.0, "strike": 570.0, "tau": 0.2, "vol": 0.18, "rate": 0.04, "contracts": 30.0}
OUTLOOK = {"horizon": 15, "simulations": 2000, "scenarios": {
    "up": {"probability": 0.4, "benchmark": [0.01, 0.03], "groups": {"semis": [0.0, 0.1]}},
    "down": {"probability": 0.6, "benchmark": [-0.08, -0.04], "groups": {"semis": [-0.25, -0.10],
                                                                        "hyperscalers": [-0.2, -0.1]}, "vol_shift": 12}},
    "stress": {"deepseek": {"start": "2025-01-27", "end": "2025-01-27"}}}


def run_folder(tmp_path, scenarios: dict | None = OUTLOOK):
    config = RunConfig.model_validate({
        "name": "fab", "universe": {"symbols": ["NVDA", "MSFT", "VRT"],
                                    "groups": {"semis": ["NVDA"], "hyperscalers": ["MSFT"]}},
        "strategy": {"kind": "buy_and_hold"}, "period": {"start": "2024-01-02", "end": "2025-06-30"},
        "hedges": [{"name": "puts", "underlying": "SPY", "structure": "protective_put", "dividend_yield": 0.013}],
        "scenarios": scenarios})
    folder = tmp_path / "run"
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text(to_yaml(config))
    pd.DataFrame({"date": SESSIONS, "equity": [1.0e6, 1.1e6, 1.2e6], "cash": 0.0, "hedge_value": [0, 0, 30_000.0],
                  "hedge_cash": [0, 0, -50_000.0]}).to_parquet(folder / "equity.parquet")
    pd.DataFrame({"date": SESSIONS, "NVDA": [0.5, 0.5, 0.6], "MSFT": [0.5, 0.5, 0.4],
                  "VRT": [0.0, 0.0, 0.0]}).to_parquet(folder / "weights.parquet")
    price = float(bsm_price(PUT["spot"], PUT["strike"], PUT["tau"], PUT["vol"], PUT["rate"], 0.013, False))
    legs = pd.DataFrame([{"date": d, "hedge": "puts", "underlying": "SPY", "right": "put", "price": price, **PUT,
                          "expiry": SESSIONS[-1] + pd.Timedelta(days=73),
                          "contracts": PUT["contracts"] if d == SESSIONS[-1] else 0.0} for d in SESSIONS])
    legs.to_parquet(folder / "hedges.parquet")
    # the rest of the run-folder contract (engine.run.folder), which the scenarios do not read
    (folder / "manifest.json").write_text("{}")
    (folder / "metrics.json").write_text('{"start": "2025-06-26", "end": "2025-06-30"}')
    pd.DataFrame(columns=list(FILES["trades.parquet"].columns)).to_parquet(folder / "trades.parquet")
    return folder, price


def test_scenarios_command_writes_the_tables_with_hand_checked_numbers(tmp_path) -> None:
    folder, price = run_folder(tmp_path)
    result = CliRunner().invoke(app, ["scenarios", str(folder)])
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(folder / "scenarios.parquet").set_index(["scenario", "measure", "with_hedges"])
    book = 1.2e6 - 30_000 + 50_000  # stock book = equity − hedge value − hedge cash
    unhedged = table.loc[("down", "low", False), "pnl"]
    assert unhedged == pytest.approx(0.6 * book * -0.25 + 0.4 * book * -0.2)
    assert table.loc[("down", "low", False), "ret"] == pytest.approx(unhedged / 1.2e6)
    # 15 XNYS sessions after 2025-06-30 end on 2025-07-22 (4 July closed): the put ages 22 days
    repriced = float(bsm_price(600 * 0.92, 570.0, 0.2 - 22 / 365, 0.30, 0.04, 0.013, False))
    assert table.loc[("down", "low", True), "pnl"] - unhedged == pytest.approx(30 * 100 * (repriced - price))
    stress = pd.read_parquet(folder / "stress.parquet")
    assert set(stress["window"]) == {"deepseek"} and stress["start"].iloc[0] == pd.Timestamp("2025-01-24")
    card = pd.read_parquet(folder / "scorecard.parquet")
    assert set(card["issued"]) == {"outlook", "month_end"}
    assert card["as_of"].min() == pd.Timestamp("2024-01-31")


def test_date_picks_the_last_session_on_or_before_it_and_missing_sets_are_config_errors(tmp_path) -> None:
    folder, _ = run_folder(tmp_path)
    result = CliRunner().invoke(app, ["scenarios", str(folder), "--date", "2025-06-29"])
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(folder / "scenarios.parquet").set_index(["scenario", "measure", "with_hedges"])
    assert (table["as_of"] == pd.Timestamp("2025-06-27")).all()
    assert table.loc[("down", "low", True), "pnl"] == table.loc[("down", "low", False), "pnl"]  # no open legs
    assert table.loc[("down", "low", False), "pnl"] == pytest.approx(1.1e6 * (0.5 * -0.25 + 0.5 * -0.2))
    bare, _ = run_folder(tmp_path / "bare", scenarios=None)
    result = CliRunner().invoke(app, ["scenarios", str(bare)])
    assert result.exit_code == 2 and "'scenarios': no scenario set" in result.output


def test_a_set_naming_a_group_the_run_lacks_is_rejected_with_its_key(tmp_path) -> None:
    folder, _ = run_folder(tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"scenarios": {"x": {"probability": 1.0, "benchmark": [0, 0.01],
                                                       "groups": {"power": [0, 0.1]}}}}))
    result = CliRunner().invoke(app, ["scenarios", str(folder), "--set", str(bad)])
    assert result.exit_code == 2 and "'scenarios.x.groups.power': not a group" in result.output
    assert not (folder / "scenarios.parquet").exists()
