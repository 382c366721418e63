"""SEC companyfacts → point-in-time fundamentals: derived quarters, restatements, filed-date visibility, errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from data_builders import folder_state, write_random_dataset
from engine.cli.main import app
from engine.data.loader import load_dataset
from engine.data.edgar import import_companyfacts, point_in_time, read_companyfacts

FIXTURE = Path(__file__).parent / "fixtures" / "CIK0000099999.json"
runner = CliRunner()


def facts_values(concept: str, **match) -> list[float]:
    """Raw USD values (millions) of one concept in the fixture, filtered by fact fields."""
    facts = json.loads(FIXTURE.read_text())["facts"]["us-gaap"][concept]["units"]["USD"]
    return [f["val"] / 1e6 for f in facts if all(f.get(k) == v for k, v in match.items())]


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    facts, _ = read_companyfacts(FIXTURE)
    return point_in_time(facts, "EXMP")


def test_q4_is_full_year_minus_nine_months_for_every_field(rows):
    q4 = rows[rows["period_end"] == pd.Timestamp("2023-05-31")].iloc[0]
    for field, concept in (("revenue", "RevenueFromContractWithCustomerExcludingAssessedTax"),
                           ("operating_income", "OperatingIncomeLoss"), ("interest_expense", "InterestExpense"),
                           ("capex", "PaymentsToAcquirePropertyPlantAndEquipment")):
        full_year, = facts_values(concept, start="2022-06-01", end="2023-05-31", form="10-K")
        nine_months, = facts_values(concept, start="2022-06-01", end="2023-02-28")
        assert q4[field] == pytest.approx(full_year - nine_months), field
    assert q4["filed"] == pd.Timestamp("2023-06-20")  # the 10-K's date, not the 10-Q's
    assert (q4["revenue"], q4["operating_income"], q4["interest_expense"]) == (13836, 4140, 955)


def test_ytd_only_capex_gives_quarters_and_debt_is_long_term_plus_current(rows):
    first = rows.sort_values("filed").drop_duplicates("period_end").set_index("period_end")
    assert first.loc["2022-11-30", "capex"] == pytest.approx(4800 - 2500)  # 6M - Q1
    assert first.loc["2023-02-28", "capex"] == pytest.approx(6900 - 4800)  # 9M - 6M
    assert first.loc["2023-05-31", "total_debt"] == pytest.approx(86420 + 4061)
    assert first.loc["2023-05-31", "cash"] == 9765


def test_restatement_is_a_later_row_and_comparatives_add_none(rows):
    q1 = rows[rows["period_end"] == pd.Timestamp("2022-08-31")].sort_values("filed")
    assert list(q1["filed"]) == [pd.Timestamp("2022-09-13"), pd.Timestamp("2023-09-12")]
    assert list(q1["revenue"]) == [11445, 11400]
    assert q1["operating_income"].nunique() == 1  # repeated unchanged in the later 10-Q
    assert (rows.groupby("period_end").size().drop(pd.Timestamp("2022-08-31")) == 1).all()
    assert 9999 not in set(rows["operating_income"])  # the 8-K fact is ignored


def test_interest_coverage_by_hand_and_invisible_before_filed(tmp_path):
    write_random_dataset(tmp_path, symbols=("EXMP", "SPY"), start="2023-05-01", end="2023-07-31")
    result = runner.invoke(app, ["data", "fundamentals", "edgar", str(FIXTURE), "--out", str(tmp_path),
                                 "--symbol", "CIK0000099999=EXMP"])
    assert result.exit_code == 0, result.output
    fundamentals = load_dataset(tmp_path).fundamentals
    q4 = fundamentals[fundamentals["period_end"] == pd.Timestamp("2023-05-31")].iloc[0]
    by_hand = (13093 - 8953) / (3505 - 2550)  # (FY - 9M operating income) / (FY - 9M interest), from the filings
    assert q4["operating_income"] / q4["interest_expense"] == pytest.approx(by_hand)
    assert q4["known"] == pd.Timestamp("2023-06-21")  # filed Tuesday 2023-06-20 → the next session
    for day, visible in (("2023-06-20", False), ("2023-06-21", True)):
        known = fundamentals[fundamentals["known"] <= pd.Timestamp(day)]
        assert (pd.Timestamp("2023-05-31") in set(known["period_end"])) is visible


def test_cik_file_name_needs_a_ticker_and_other_symbols_are_kept(tmp_path):
    before = folder_state(tmp_path)
    result = runner.invoke(app, ["data", "fundamentals", "edgar", str(FIXTURE), "--out", str(tmp_path)])
    assert result.exit_code == 2 and "--symbol" in result.output
    assert folder_state(tmp_path) == before
    named = tmp_path / "in" / "EXMP.json"
    named.parent.mkdir()
    shutil.copy(FIXTURE, named)
    import_companyfacts(named, tmp_path / "out")
    other = tmp_path / "in" / "OTHR.json"
    shutil.copy(FIXTURE, other)
    import_companyfacts(other, tmp_path / "out")
    written = pd.read_parquet(tmp_path / "out" / "fundamentals.parquet")
    assert written.groupby("symbol").size().to_dict() == {"EXMP": 6, "OTHR": 6}


def _break(document: dict, how: str) -> str:
    facts = document["facts"]["us-gaap"]["InterestExpense"]["units"]["USD"]
    if how == "bad date":
        facts[2]["filed"] = "2022-13-40"
    elif how == "text value":
        facts[3]["val"] = "908"
    return json.dumps(document)


@pytest.mark.parametrize("how, words", [
    ("truncated", ["not valid JSON", "line"]),
    ("bad date", ["InterestExpense.units.USD[2].filed", "2022-13-40"]),
    ("text value", ["InterestExpense.units.USD[3].val", "'908'"]),
    ("not companyfacts", ["facts.us-gaap"]),
])
def test_malformed_json_names_the_fact_and_leaves_the_folder_unchanged(tmp_path, how, words):
    write_random_dataset(tmp_path / "ds", symbols=("EXMP",))
    import_companyfacts(FIXTURE, tmp_path / "ds", {"CIK0000099999": "EXMP"})
    text = FIXTURE.read_text()
    broken = {"truncated": text[: len(text) // 2], "not companyfacts": json.dumps({"cik": 1, "entityName": "x"})}.get(
        how) or _break(json.loads(text), how)
    bad = tmp_path / "EXMP.json"
    bad.write_text(broken)
    before = folder_state(tmp_path / "ds")
    result = runner.invoke(app, ["data", "fundamentals", "edgar", str(bad), "--out", str(tmp_path / "ds")])
    assert result.exit_code == 2
    message = " ".join(result.output.split())
    assert "EXMP.json" in message
    for word in words:
        assert word in message, (word, message)
    assert folder_state(tmp_path / "ds") == before
