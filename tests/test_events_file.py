"""Events files: validation errors, session mapping around NYSE holidays, config keys of the study."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from data_builders import write_events, write_random_dataset
from engine.config.run_config import SAMPLE_DATA_DIR, load_config
from engine.data.loader import load_dataset
from engine.errors import ConfigError, DataError
from engine.data.events import EVENT_KINDS, absent_symbol_warnings, check_kinds, read_events_file

PROJECT_EVENTS = Path(__file__).resolve().parents[1] / "data" / "events" / "ai_events.csv"
HEADER = "date,session,kind,symbols,title\n"
# (date, session) -> first tradable session
MAPPING = [
    ("2025-04-18", "pre", "2025-04-21"),  # Good Friday: NYSE closed, next session Monday
    ("2025-04-17", "post", "2025-04-21"),  # after the close on the Thursday before Good Friday
    ("2025-07-03", "post", "2025-07-07"),  # after the 1 pm early close, then Independence Day, then the weekend
    ("2025-07-03", "intraday", "2025-07-03"),  # during the shortened session: that session
    ("2025-03-01", "closed", "2025-03-03"),  # Saturday
    ("2025-01-09", "pre", "2025-01-10"),  # national day of mourning (Carter): closed
    ("2025-01-27", "pre", "2025-01-27"),  # before the open on a session: that session
    ("2025-01-27", "unknown", "2025-01-28"),  # unknown time: the next session, never earlier
    ("2024-12-24", "post", "2024-12-26"),  # early close on Christmas Eve, Christmas closed
]


def write_csv(tmp_path: Path, body: str, name: str = "events.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + body)
    return path


def test_session_mapping_around_weekends_holidays_and_early_closes(tmp_path):
    body = "".join(f"{day},{session},deal,NVDA,row {i}\n" for i, (day, session, _) in enumerate(MAPPING))
    events = read_events_file(write_csv(tmp_path, body), "XNYS").sort_values("title")
    expected = [pd.Timestamp(day) for _, _, day in MAPPING]
    assert list(events.set_index("title").loc[[f"row {i}" for i in range(len(MAPPING))], "session_date"]) == expected


def test_the_dataset_events_table_maps_sessions_the_same_way(tmp_path):
    write_random_dataset(tmp_path, ("NVDA",), "2024-12-02", "2025-07-31")
    frame = pd.DataFrame({"date": pd.to_datetime([d for d, _, _ in MAPPING]), "session": [s for _, s, _ in MAPPING],
                          "kind": "deal", "symbols": "NVDA", "title": [f"row {i}" for i in range(len(MAPPING))],
                          "amount_usd_bn": float("nan"), "source": ""})
    write_events(tmp_path, frame)
    loaded = load_dataset(tmp_path).events.set_index("title")["session_date"]
    assert [loaded[f"row {i}"] for i in range(len(MAPPING))] == [pd.Timestamp(d) for _, _, d in MAPPING]


def test_parquet_and_csv_files_read_the_same(tmp_path):
    csv = read_events_file(write_csv(tmp_path, "2025-04-18,pre,policy,,grid\n2025-01-27,pre,shock,NVDA;AVGO,x\n"), "XNYS")
    write_events(tmp_path, csv.drop(columns="session_date"))
    parquet = read_events_file(tmp_path / "events.parquet", "XNYS")
    pd.testing.assert_frame_equal(parquet[csv.columns], csv, check_dtype=False)
    assert list(csv["symbols"]) == ["NVDA;AVGO", ""]


def test_unknown_kind_lists_the_vocabulary_and_the_row(tmp_path):
    path = write_csv(tmp_path, "2025-01-27,pre,shock,NVDA,a\n2025-02-03,pre,merger,NVDA,b\n")
    with pytest.raises(DataError) as error:
        read_events_file(path, "XNYS")
    assert error.value.field == "kind" and "merger" in str(error.value)
    assert "row 2" in str(error.value) and "|".join(EVENT_KINDS) in str(error.value)
    assert "deal|license|capex|earnings|regulatory|policy|macro|shock" in error.value.fix


@pytest.mark.parametrize("bad", ["2025-13-01", "27/01/2025", "", "2025-02-30"])
def test_bad_dates_name_their_row(tmp_path, bad):
    path = write_csv(tmp_path, f"2025-01-27,pre,shock,NVDA,a\n{bad},pre,deal,NVDA,b\n")
    with pytest.raises(DataError) as error:
        read_events_file(path, "XNYS")
    assert error.value.field == "date" and "row 2" in str(error.value)


def test_timed_parquet_dates_are_refused(tmp_path):
    frame = pd.DataFrame({"date": pd.to_datetime(["2025-01-27 09:00"]), "session": ["pre"], "kind": ["deal"],
                          "symbols": ["NVDA"]})
    path = tmp_path / "timed.parquet"
    frame.to_parquet(path)
    with pytest.raises(DataError, match="row 1"):
        read_events_file(path, "XNYS")


def test_unknown_session_is_an_error(tmp_path):
    with pytest.raises(DataError) as error:
        read_events_file(write_csv(tmp_path, "2025-01-27,evening,deal,NVDA,a\n"), "XNYS")
    assert error.value.field == "session" and "pre|intraday|post|closed|unknown" in error.value.fix


def test_missing_column_and_wrong_file_type(tmp_path):
    path = tmp_path / "short.csv"
    path.write_text("date,kind\n2025-01-27,deal\n")
    with pytest.raises(DataError) as error:
        read_events_file(path, "XNYS")
    assert error.value.field == "session" and "symbols" in str(error.value)
    (tmp_path / "events.xlsx").write_bytes(b"")
    with pytest.raises(DataError, match="unsupported file type"):
        read_events_file(tmp_path / "events.xlsx", "XNYS")


def test_symbols_absent_from_the_data_are_warnings_with_their_dates(tmp_path):
    events = read_events_file(write_csv(tmp_path, "2025-01-27,pre,shock,NVDA;OWL,a\n2025-02-03,pre,deal,OWL,b\n"), "XNYS")
    assert absent_symbol_warnings(events, {"NVDA"}) == [
        "OWL: not in the price data, so its row of 2 event(s) is left out (2025-01-27, 2025-02-03); the events "
        "themselves are still measured on their other names and the books"]
    assert absent_symbol_warnings(events, {"NVDA", "OWL"}) == []


def test_the_shipped_calendar_and_the_sample_events_are_valid():
    events = read_events_file(PROJECT_EVENTS, "XNYS")
    assert len(events) == 81 and set(events["kind"]) == set(EVENT_KINDS)
    deepseek = events[events["title"].str.startswith("DeepSeek")].iloc[0]
    assert deepseek["session_date"] == pd.Timestamp("2025-01-27")
    sample = pd.read_parquet(SAMPLE_DATA_DIR / "events.parquet")
    check_kinds(SAMPLE_DATA_DIR / "events.parquet", sample)


# --- config ---------------------------------------------------------------------------------------

def config_with(tmp_path: Path, study: dict) -> Path:
    path = tmp_path / "sub" / "c.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump({"name": "t", "universe": {"symbols": ["NVDA"]},
                                    "strategy": {"kind": "buy_and_hold"}, "event_study": study}))
    return path


def test_study_defaults_and_relative_file(tmp_path):
    config = load_config(config_with(tmp_path, {"file": "../my_events.csv"}))
    study = config.event_study
    assert (study.enabled, study.window, study.estimation, study.kinds, study.bootstrap) == (
        False, (-10, 20), (-250, -30), None, 2000)
    assert study.file == (tmp_path / "my_events.csv").resolve()


@pytest.mark.parametrize("study, key, words", [
    ({"window": [1, 20]}, "event_study", "day 0"),
    ({"estimation": [-250, -5]}, "event_study", "estimation"),
    ({"kinds": ["deal", "merger"]}, "event_study.kinds[1]", "shock"),
    ({"bootstap": 100}, "event_study.bootstap", "bootstrap"),
])
def test_study_config_errors_name_the_key(tmp_path, study, key, words):
    with pytest.raises(ConfigError) as error:
        load_config(config_with(tmp_path, study))
    assert error.value.path == key and words in str(error.value)
