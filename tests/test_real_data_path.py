"""The README's "Your own data, end to end": its commands, run as written on ../shared/data (skipped without
it), build a dataset with rulebook's importers into tmp_path, and the column's rules do on it what the config
says. Also: configs/column_real.yaml stays configs/column.yaml but for data, period and universe."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from engine.cli.main import app
from engine.config.run_config import load_config
from engine.data.loader import load_dataset

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = text.split("<!-- own-data:start -->")[1].split("<!-- own-data:end -->")[0]
    return [line for line in block.splitlines() if line.strip() and not line.startswith("```")]


def expand_braces(command: str) -> str:
    """bash's a/{X,Y}.csv -> a/X.csv a/Y.csv (one level, as the README uses it)."""
    def words(match):
        head, options, tail = match.group(1), match.group(2).split(","), match.group(3)
        return " ".join(f"{head}{option}{tail}" for option in options)
    return re.sub(r"(\S*)\{([^}]+)\}(\S*)", words, command)


@pytest.fixture(scope="module")
def walked(shared_data, tmp_path_factory):
    """Every README command run in order; returns (outputs by command, dataset folder, run folder)."""
    tmp = tmp_path_factory.mktemp("own")
    mine, run = tmp / "mine", tmp / "real"
    outputs = []
    lines = readme_commands()
    assert lines[0] == "S=../shared/data" and all(line.startswith("rulebook ") for line in lines[1:])
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)
        for line in lines[1:]:
            command = expand_braces(line.replace("$S", str(shared_data)))
            command = command.replace("data/mine", str(mine)).replace("reports/real", str(run))
            result = runner.invoke(app, shlex.split(command)[1:])
            assert result.exit_code == 0, f"{line}\n{result.output}"
            outputs.append(result.output)
    return dict(zip([line.split(" --")[0] for line in lines[1:]], outputs)), mine, run


def test_the_dataset_built_by_the_commands_holds_what_the_files_say(walked, shared_data):
    outputs, mine, _ = walked
    config = load_config(ROOT / "configs" / "column_real.yaml", {"data.dir": str(mine)})
    data = load_dataset(mine, symbols=config.universe.symbols + ["SPY"], start="2025-04-01", end="2025-04-30")
    vix = pd.read_csv(shared_data / "raw" / "vix" / "vix-daily.csv", index_col="DATE", parse_dates=True)["CLOSE"]
    assert data.market.loc["2025-04-08", "VIX"] == vix.loc["2025-04-08"]  # known at its own close
    dgs10 = pd.read_csv(shared_data / "raw" / "rates_fred" / "DGS10.csv", index_col="date", parse_dates=True)["DGS10"]
    assert data.market.loc["2025-04-09", "DGS10"] == dgs10.loc["2025-04-08"]  # --lag-days 1: usable the next day
    assert len(data.symbols) == 26
    check = next(text for command, text in outputs.items() if command.startswith("rulebook data check"))
    assert "0 error(s)" in check and "CRWV: quarters without" in " ".join(check.split())


def test_the_run_sells_on_the_session_after_a_failing_filing_is_usable(walked):
    _, _, run = walked
    rules = pd.read_parquet(run / "rules.parquet")
    screen = rules[rules["rule"] == "screen"]
    crwv = screen[screen["symbol"] == "CRWV"].iloc[0]
    # CRWV Q2 2025: released 2025-08-12 after the close -> known 2025-08-13, + lag_sessions 1 -> 2025-08-14
    assert crwv["session"] == pd.Timestamp("2025-08-14") and crwv["after"] == 0.0
    assert crwv["reason"].startswith("coverage -0.02x (2Q to 2025-06-30 annualised, filed 2025-08-12) < 4.00x")
    orcl = screen[(screen["symbol"] == "ORCL") & screen["reason"].str.startswith("capex/revenue")].iloc[0]
    assert orcl["session"] == pd.Timestamp("2025-12-12")
    assert orcl["reason"] == "capex/revenue 59% (3Q to 2025-11-30 annualised, filed 2025-12-10) > 45%"
    trades = pd.read_parquet(run / "trades.parquet")
    sold = trades[(trades["symbol"] == "ORCL") & (trades["decided"] == pd.Timestamp("2025-12-12"))]
    assert sold["side"].tolist() == ["sell"] and sold["session"].iloc[0] == pd.Timestamp("2025-12-15")  # next open
    weights = pd.read_parquet(run / "weights.parquet").set_index("date")
    assert weights.loc["2025-12-12", "ORCL"] > 0 and (weights.loc["2025-12-15":, "ORCL"] == 0).all()
    assert (weights.loc["2025-08-15":, "CRWV"] == 0).all()  # (its trailing stop had fired the same day)


def test_the_run_says_how_many_filings_rest_on_assumed_dates(walked, shared_data):
    _, _, run = walked
    data = json.loads((run / "manifest.json").read_text())["data"]
    sheet = pd.read_csv(shared_data / "fundamentals" / "fundamentals_q.csv",
                        parse_dates=["fiscal_period_end", "filed", "released"])
    dated = sheet[["filed", "released"]].min(axis=1)
    undated = dated.isna()
    known_by_end = dated.fillna(sheet["fiscal_period_end"] + pd.Timedelta(days=45)) < pd.Timestamp("2026-05-29")
    assert data["fundamentals_rows"] == int(known_by_end.sum())
    assert data["fundamentals_assumed_dates"] == int((undated & known_by_end).sum()) > 0


def test_the_study_and_the_scenarios_run_on_the_folder(walked):
    _, _, run = walked
    car = pd.read_parquet(run / "event_car.parquet")
    assert (car["offset"].min(), car["offset"].max()) == (-5, 10)
    events = pd.read_parquet(run / "events.parquet")
    late = events[events["session_date"] > pd.Timestamp("2026-05-14")]
    assert len(late) and not late["complete"].any()  # the price files end 2026-05-29
    scenarios = pd.read_parquet(run / "scenarios.parquet")
    expected = scenarios[(scenarios["measure"] == "expected")]
    assert set(expected["with_hedges"]) == {True, False}


def test_column_real_is_the_column_config_on_the_real_files():
    base = load_config(ROOT / "configs" / "column.yaml").model_dump(mode="json")
    real = load_config(ROOT / "configs" / "column_real.yaml").model_dump(mode="json")
    for config in (base, real):
        for key in ("name", "data", "period"):
            config.pop(key)
        config["universe"]["symbols"] = [s for s in config["universe"]["symbols"] if s != "VST"]
        config["universe"]["groups"]["power"].remove("VST") if "VST" in config["universe"]["groups"]["power"] else None
    assert real == base
