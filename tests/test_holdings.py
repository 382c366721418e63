"""Holdings files: broker export headers, lots, cash rows, --map; every bad input is one line with file, row,
column and fix (exit 2 through `rulebook today`), and nothing is written."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from engine.cli.main import app
from engine.errors import DataError
from engine.practice.holdings import parse_map, read_holdings

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "column.yaml"


def _file(tmp_path: Path, text: str, name: str = "holdings.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_plain_columns_and_a_cash_row(tmp_path):
    book = read_holdings(_file(tmp_path, "symbol,shares,avg_cost,opened\nnvda,10,100.5,2024-01-02\nCASH,2500,,\n"))
    assert book.cash == 2500.0
    assert book.positions.loc["NVDA"].to_dict() == {"shares": 10.0, "avg_cost": 100.5,
                                                    "opened": pd.Timestamp("2024-01-02")}


def test_broker_export_headers_money_formats_and_lots(tmp_path):
    """Schwab-style names, '$1,234.50' and '(12)' cells; two lots of one name summed, cost-weighted."""
    text = ('Symbol,Qty (Quantity),Price Paid,Date Acquired,Market Value\n'
            'MSFT,"1,000",$300.00,03/15/2023,"$400,000"\n'
            'MSFT,500,$360.00,01/10/2022,"$200,000"\n'
            'Cash & Cash Investments,,,,"$12,345.67"\n')
    book = read_holdings(_file(tmp_path, text))
    row = book.positions.loc["MSFT"]
    assert row["shares"] == 1500.0
    assert row["avg_cost"] == pytest.approx((1000 * 300 + 500 * 360) / 1500, rel=1e-15)
    assert row["opened"] == pd.Timestamp("2022-01-10")
    assert book.cash == pytest.approx(12345.67)


def test_total_cost_basis_is_divided_by_the_shares(tmp_path):
    book = read_holdings(_file(tmp_path, "Ticker,Quantity,Cost Basis Total\nAMD,40,4000\n"))
    assert book.positions.at["AMD", "avg_cost"] == 100.0
    assert book.cash == 0.0 and not book.cash_row


def test_map_names_an_unknown_column(tmp_path):
    path = _file(tmp_path, "Instrument Code,Units Held,Book Cost\nAVGO,7,900\n")
    with pytest.raises(DataError, match="no symbol column"):
        read_holdings(path)
    book = read_holdings(path, parse_map(["Instrument Code=symbol", "Units Held=shares", "Book Cost=avg_cost"]))
    assert book.positions.at["AVGO", "shares"] == 7.0 and book.positions.at["AVGO", "avg_cost"] == 900.0


@pytest.mark.parametrize("text, message", [
    ("symbol,shares\nNVDA,ten\n", "column 'shares': row 2 (NVDA): 'ten' is not a number"),
    ("symbol,shares\nNVDA,5\nAMD,\n", "column 'shares': row 3 (AMD) is empty"),
    ("symbol,shares\nNVDA,-5\n", "row 2 (NVDA) holds -5 shares"),
    ("symbol,shares,opened\nNVDA,5,last spring\n", "column 'opened': row 2 (NVDA): 'last spring' is not a date"),
    ("symbol,quantity,avg_cost\nNVDA,5,0\n", "average cost 0 is not positive"),
    ("name,amount\nNVDA,5\n", "no symbol column"),
])
def test_bad_rows_name_the_file_row_and_column(tmp_path, text, message):
    path = _file(tmp_path, text)
    with pytest.raises(DataError) as error:
        read_holdings(path)
    assert message in str(error.value) and str(path) in str(error.value) and "Fix:" in str(error.value)


def test_bad_map_pair():
    with pytest.raises(DataError, match="'Qty' is not SRC=FIELD"):
        parse_map(["Qty"])


def test_the_command_prints_one_line_exits_2_and_writes_nothing(tmp_path):
    path = _file(tmp_path, "symbol,shares\nNVDA,ten\n")
    out = tmp_path / "orders.csv"
    result = CliRunner().invoke(app, ["today", str(CONFIG), "--holdings", str(path), "--out", str(out)])
    assert result.exit_code == 2
    assert result.output.count("\n") <= 2 and "Traceback" not in result.output
    assert "'ten' is not a number" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["holdings.csv"]


def test_a_missing_file_and_a_bad_state_file(tmp_path):
    result = CliRunner().invoke(app, ["today", str(CONFIG), "--holdings", str(tmp_path / "none.csv")])
    assert result.exit_code == 2 and "not found" in result.output
    holdings = _file(tmp_path, "symbol,shares\nNVDA,5\nCASH,1000\n")
    state = _file(tmp_path, "{not json", "state.json")
    result = CliRunner().invoke(app, ["today", str(CONFIG), "--holdings", str(holdings), "--state", str(state)])
    assert result.exit_code == 2 and "not JSON" in result.output and "Traceback" not in result.output
