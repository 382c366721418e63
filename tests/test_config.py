"""Config validation: bad keys and values fail with their path; good configs resolve fully."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from engine.config.run_config import SAMPLE_DATA_DIR, load_config, resolved_data_dir, to_yaml
from engine.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
BASE = {"name": "t", "universe": {"symbols": ["NVDA", "AMD"]}, "strategy": {"kind": "equal_weight"}}


def write(tmp_path: Path, body: dict | str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(body if isinstance(body, str) else yaml.safe_dump(body))
    return path


def error_for(tmp_path: Path, body: dict | str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, body))
    return info.value


@pytest.mark.parametrize("config", sorted((ROOT / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_configs_are_valid(config: Path) -> None:
    cfg = load_config(config)
    assert cfg.name == config.stem


def test_unknown_key_names_its_path_and_suggests_the_right_one(tmp_path: Path) -> None:
    err = error_for(tmp_path, {**BASE, "execution": {"fee_bps": 3}})
    assert err.path == "execution.fee_bps"
    assert "did you mean 'fees_bps'" in str(err) and str(tmp_path / "c.yaml") in str(err)


def test_unknown_strategy_parameter_is_reported_without_the_union_tag(tmp_path: Path) -> None:
    err = error_for(tmp_path, {**BASE, "strategy": {"kind": "equal_weight", "lookback": 20}})
    assert err.path == "strategy.lookback"
    assert "valid keys here: kind, rebalance" in str(err)


def test_unknown_top_level_key(tmp_path: Path) -> None:
    err = error_for(tmp_path, {**BASE, "univers": {}})
    assert err.path == "univers" and "did you mean 'universe'" in str(err)


@pytest.mark.parametrize(
    ("patch", "path", "fragment"),
    [
        ({"execution": {"fees_bps": -1}}, "execution.fees_bps", "greater than or equal to 0"),
        ({"execution": {"fill": "same_close"}}, "execution.fill", "next_open"),
        ({"strategy": {"kind": "momentum"}}, "strategy", "does not match any of the expected tags"),
        ({"period": {"start": "2025-13-01"}}, "period.start", "valid date"),
        ({"period": {"start": "2025-06-01", "end": "2025-01-01"}}, "period", "is not before end"),
        ({"universe": {"symbols": ["NVDA", "NVDA"]}}, "universe.symbols", "listed more than once: NVDA"),
        ({"universe": {"symbols": ["NVDA"], "groups": {"semis": ["AMD"]}}}, "universe", "group 'semis'"),
        ({"universe": {"symbols": []}}, "universe.symbols", "at least 1 item"),
        ({"name": "has space"}, "name", "pattern"),
        ({"data": {"calendar": "NYSEE"}}, "data.calendar", "did you mean"),
    ],
)
def test_bad_values_name_their_key(tmp_path: Path, patch: dict, path: str, fragment: str) -> None:
    err = error_for(tmp_path, {**BASE, **patch})
    assert err.path == path
    assert fragment in str(err)


def test_every_problem_is_listed(tmp_path: Path) -> None:
    err = error_for(tmp_path, {**BASE, "execution": {"fee_bps": 3, "init_cash": 0}})
    assert "execution.fee_bps" in str(err) and "execution.init_cash" in str(err)


def test_invalid_yaml_and_bad_unquoted_date(tmp_path: Path) -> None:
    assert "not valid YAML" in str(error_for(tmp_path, "name: [unclosed"))
    assert "YYYY-MM-DD" in str(error_for(tmp_path, "name: t\nperiod: {start: 2025-13-01}\n"))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")


def test_overrides_and_defaults_resolve(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, BASE), {"period.start": "2020-01-02", "execution.fees_bps": 1.5})
    assert cfg.period.start == dt.date(2020, 1, 2)
    assert cfg.execution.fees_bps == 1.5
    assert cfg.execution.fill == "next_open" and cfg.benchmark == "SPY"
    assert resolved_data_dir(cfg) == SAMPLE_DATA_DIR


def test_relative_data_dir_is_relative_to_the_config_file(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, {**BASE, "data": {"dir": "../somewhere"}}))
    assert cfg.data.dir == (tmp_path.parent / "somewhere").resolve()


def test_resolved_yaml_round_trips_to_the_same_config(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, {**BASE, "strategy": {"kind": "inverse_volatility", "lookback": 21}}))
    again = load_config(write(tmp_path, to_yaml(cfg)))
    assert again == cfg
    assert yaml.safe_load(to_yaml(cfg))["execution"]["slippage_bps"] == 5.0


def test_run_folder_config_uses_the_keys_a_user_writes_and_round_trips(tmp_path: Path) -> None:
    cfg = load_config(ROOT / "configs" / "column.yaml")
    text = to_yaml(cfg)
    surge = yaml.safe_load(text)["rules"]["profit_taking"]["surge"]
    assert "return" in surge and "return_" not in surge and "return_" not in text
    assert load_config(write(tmp_path, text)) == cfg
    # a run folder written before the aliases were kept (return_) still loads to the same config
    old = yaml.safe_load(text)
    old["rules"]["profit_taking"]["surge"]["return_"] = old["rules"]["profit_taking"]["surge"].pop("return")
    assert load_config(write(tmp_path, old)) == cfg
