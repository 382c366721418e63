"""rulebook.today and rulebook.attribute: the API the `today` and `attribute` commands print."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

import rulebook
from engine.cli.main import app

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "column.yaml"


def test_today_from_python_equals_the_command(tmp_path):
    holdings = tmp_path / "book.csv"
    holdings.write_text("Symbol,Quantity,Average Cost\nNVDA,20000,4.1\nMSFT,900,250\nCASH,150000,\n")
    decision = rulebook.today(CONFIG, holdings, date="2023-06-30")
    out = tmp_path / "orders.csv"
    result = CliRunner().invoke(app, ["today", str(CONFIG), "--holdings", str(holdings), "--date", "2023-06-30",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    printed = pd.read_csv(out)
    assert list(decision.orders["symbol"]) == list(printed["symbol"])
    np.testing.assert_allclose(decision.orders["shares"], printed["shares"], rtol=1e-12)
    assert decision.as_of == pd.Timestamp("2023-06-30") and decision.equity > 150000


def test_attribute_is_exported_with_a_docstring():
    assert "left out" in rulebook.attribute.__doc__ and "holdings" in rulebook.today.__doc__


def test_today_takes_map_pairs_as_the_command_does_and_names_a_bad_date(tmp_path):
    holdings = tmp_path / "book.csv"
    holdings.write_text("Symbol,Qty (Units)\nNVDA,20000\nCASH,150000\n")
    decision = rulebook.today(CONFIG, holdings, date="2023-06-30", mapping=["Qty (Units)=shares"])
    assert decision.book.loc["NVDA", "shares"] == 20000 and decision.cash == 150000
    try:
        rulebook.today(CONFIG, holdings, date="2023-06-31", mapping=["Qty (Units)=shares"])
    except rulebook.ConfigError as error:
        assert "'2023-06-31' is not a date" in str(error) and "YYYY-MM-DD" in str(error)
    else:
        raise AssertionError("a date that does not exist was accepted")


def test_save_today_writes_orders_and_state_as_one_set(tmp_path):
    holdings = tmp_path / "book.csv"
    holdings.write_text("Symbol,Quantity,Average Cost\nNVDA,20000,4.1\nCASH,150000,\n")
    decision = rulebook.today(CONFIG, holdings, date="2023-06-30")
    written = rulebook.save_today(decision, tmp_path / "orders.json")
    assert written == [tmp_path / "orders.json", tmp_path / "orders.state.json"]
    assert [o["symbol"] for o in json.loads(written[0].read_text())["orders"]] == \
        list(decision.orders["symbol"])
