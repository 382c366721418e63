"""A corpus of bad inputs: each is one clear line (exit 2) naming the file and the key, and writes nothing.

Every case builds its inputs in a fresh folder (which is also the working directory, so a default
``reports/`` folder would show up), runs one command in-process, and asserts: exit status 2, no
traceback, the file and the key (or column) named in the message, and every file in the folder
byte-identical afterwards (no run folder, no temporary leftovers, inputs untouched).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from engine.cli.main import app
from data_builders import folder_state, write_random_dataset

runner = CliRunner()
BASE = {"name": "bad", "data": {"dir": "data"}, "period": {"start": "2024-01-02", "end": "2024-03-28"},
        "universe": {"symbols": ["AAA", "BBB"]}, "strategy": {"kind": "buy_and_hold"}, "benchmark": None,
        "report": {"enabled": False}}
RULES = {"weighting": {"kind": "equal"}, "caps": {"name": 0.6}}


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[Path], list]  # writes the inputs into the case folder, returns the command line
    names: tuple[str, ...]  # what the message must name: the file, the key or column


def config(folder: Path, changes: dict | None = None, *, text: str | None = None, name: str = "c.yaml",
           drop: tuple[str, ...] = ()) -> Path:
    """A config in ``folder`` (BASE with ``changes`` merged one level deep), and its dataset."""
    if not (folder / "data").exists():
        write_random_dataset(folder / "data", symbols=("AAA", "BBB", "CCC"))
    raw = {key: value for key, value in {**BASE, **(changes or {})}.items() if key not in drop}
    path = folder / name
    path.write_text(text if text is not None else yaml.safe_dump(raw, sort_keys=False))
    return path


def data_with(mutate: Callable[[Path], None]) -> Callable[[Path], list]:
    """`validate` of BASE on a dataset changed by ``mutate(data_dir)``."""
    def build(folder: Path) -> list:
        path = config(folder)
        mutate(folder / "data")
        return ["validate", path]
    return build


def prices_file(text: str, name: str = "NVDA.csv", *extra) -> Callable[[Path], list]:
    """`data import prices` of one CSV into a new dataset folder."""
    def build(folder: Path) -> list:
        (folder / name).write_bytes(text.encode() if isinstance(text, str) else text)
        return ["data", "import", "prices", folder / name, "--out", folder / "dataset", *extra]
    return build


def import_file(kind: str, text: str, name: str, *extra) -> Callable[[Path], list]:
    """`data import KIND` of one file into a new dataset folder."""
    def build(folder: Path) -> list:
        (folder / name).write_text(text)
        return ["data", "import", kind, folder / name, "--out", folder / "dataset", *extra]
    return build


def edgar_file(document) -> Callable[[Path], list]:
    def build(folder: Path) -> list:
        path = folder / "CIK0001045810.json"
        path.write_text(document if isinstance(document, str) else json.dumps(document))
        return ["data", "fundamentals", "edgar", path, "--out", folder / "dataset", "--symbol", f"{path.stem}=NVDA"]
    return build


def run_folder(damage: Callable[[Path], None], *command) -> Callable[[Path], list]:
    """A command on a copy of a finished run folder, damaged by ``damage(folder)``."""
    def build(folder: Path) -> list:
        target = folder / "run"
        shutil.copytree(RUN_FOLDER[0], target)
        config(folder)  # its dataset (the run's config.yaml points at it)
        damage(target)
        return [arg if arg != "RUN" else target for arg in command]
    return build


def events_file(text: str) -> Callable[[Path], list]:
    def build(folder: Path) -> list:
        target = folder / "run"
        shutil.copytree(RUN_FOLDER[0], target)
        config(folder)
        (folder / "events.csv").write_text(text)
        return ["events", target, "--events", folder / "events.csv"]
    return build


def garbage(name: str) -> Callable[[Path], None]:
    return lambda folder: (folder / name).write_bytes(b"PAR1 this is not parquet PAR1")


def prices_where(change: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Path], None]:
    def mutate(data: Path) -> None:
        frame = pd.read_parquet(data / "prices.parquet")
        change(frame).to_parquet(data / "prices.parquet", index=False)
    return mutate


def _bytes(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def _set(frame: pd.DataFrame, column: str, value, row: int = 5) -> pd.DataFrame:
    frame.loc[row, column] = value
    return frame


OK_CSV = "Date,Open,High,Low,Close,Volume\n2024-01-02,10,11,9,10.5,1000\n2024-01-03,10.5,11,10,10.8,1200\n"
BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
    for i in range(8))
SCENARIO_SET = ("name: s\nhorizon: 10\nscenarios:\n  up: {probability: 1.0, benchmark: [0.0, 0.05], groups: {}}\n")
EVENTS_HEAD = "date,session,kind,symbols,title\n"
RUN_FOLDER: list[Path] = []

CASES = [
    # ---- configs ---------------------------------------------------------------------------------
    Case("config-is-a-folder", lambda f: ["run", f], ("is a folder, not a config file",)),
    Case("config-missing", lambda f: ["validate", f / "nope.yaml"], ("nope.yaml", "not found")),
    Case("config-empty", lambda f: ["validate", config(f, text="")], ("c.yaml", "mapping")),
    Case("config-a-list", lambda f: ["validate", config(f, text="- a\n- b\n")], ("c.yaml", "mapping")),
    Case("config-bad-yaml", lambda f: ["validate", config(f, text="name: [unclosed\n")], ("c.yaml", "line")),
    Case("config-not-utf8", lambda f: ["validate", _bytes(config(f), b"name: caf\xe9\n")], ("c.yaml", "UTF-8")),
    Case("config-unknown-key", lambda f: ["validate", config(f, {"benchmrk": "SPY"})], ("c.yaml", "benchmrk")),
    Case("config-unknown-nested-key", lambda f: ["validate", config(f, {"execution": {"fee_bps": 5}})],
         ("c.yaml", "execution.fee_bps", "fees_bps")),
    Case("date-feb-30", lambda f: ["validate", config(f, text=yaml.safe_dump(BASE).replace("'2024-01-02'", "2016-02-30"))],
         ("c.yaml", "period.start", "line", "2016-02-30")),
    Case("date-month-13", lambda f: ["validate", config(f, text=yaml.safe_dump(BASE).replace("'2024-03-28'", "2024-13-01"))],
         ("c.yaml", "period.end", "2024-13-01")),
    Case("period-reversed", lambda f: ["validate", config(f, {"period": {"start": "2024-03-01", "end": "2024-02-01"}})],
         ("c.yaml", "period")),
    Case("start-not-a-date", lambda f: ["run", config(f), "--start", "yesterday"], ("c.yaml", "period.start")),
    Case("one-session-period", lambda f: ["run", config(f), "--start", "2024-01-05", "--end", "2024-01-07"],
         ("prices.parquet", "period.start")),
    Case("period-a-value-with-start", lambda f: ["run", config(f, {"period": 5}), "--start", "2024-01-05"],
         ("c.yaml", "period")),
    Case("caps-unknown-group-validate", lambda f: ["validate", config(f, {"strategy": None, "rules": {
        **RULES, "caps": {"groups": {"nogroup": 0.3}}}}, drop=("strategy",))], ("c.yaml", "rules.caps.groups.nogroup")),
    Case("caps-unknown-group-run", lambda f: ["run", config(f, {"rules": {**RULES, "caps": {"groups": {"chips": 0.3}}},
                                                                "universe": {"symbols": ["AAA", "BBB"],
                                                                             "groups": {"semis": ["AAA"]}}},
                                                            drop=("strategy",))],
         ("c.yaml", "rules.caps.groups.chips", "semis")),
    Case("caps-name-outside-universe", lambda f: ["validate", config(f, {"rules": {**RULES, "caps": {"names": {"ZZZ": 0.1}}}},
                                                                     drop=("strategy",))],
         ("c.yaml", "rules.caps.names.ZZZ")),
    Case("caps-above-one", lambda f: ["validate", config(f, {"rules": {**RULES, "caps": {"name": 1.5}}},
                                                         drop=("strategy",))], ("c.yaml", "rules.caps.name")),
    Case("unknown-ticker", lambda f: ["validate", config(f, {"universe": {"symbols": ["AAA", "ZZZ"]}})],
         ("prices.parquet", "ZZZ")),
    Case("duplicate-symbols", lambda f: ["validate", config(f, {"universe": {"symbols": ["AAA", "AAA"]}})],
         ("c.yaml", "universe.symbols", "AAA")),
    Case("group-member-outside", lambda f: ["validate", config(f, {"universe": {"symbols": ["AAA"],
                                                                                "groups": {"g": ["BBB"]}}})],
         ("c.yaml", "universe", "BBB")),
    Case("strategy-and-rules", lambda f: ["validate", config(f, {"rules": RULES})], ("c.yaml", "strategy")),
    Case("neither-strategy-nor-rules", lambda f: ["validate", config(f, drop=("strategy",))], ("c.yaml", "strategy")),
    Case("unknown-strategy-kind", lambda f: ["validate", config(f, {"strategy": {"kind": "magic"}})],
         ("c.yaml", "strategy", "magic")),
    Case("weighting-without-kind", lambda f: ["validate", config(f, {"rules": {"weighting": {"rebalance": "monthly"}}},
                                                                 drop=("strategy",))], ("c.yaml", "rules.weighting")),
    Case("bad-run-name", lambda f: ["validate", config(f, {"name": "my run/1"})], ("c.yaml", "name")),
    Case("negative-fees", lambda f: ["validate", config(f, {"execution": {"fees_bps": -1}})],
         ("c.yaml", "execution.fees_bps")),
    Case("bad-fill", lambda f: ["validate", config(f, {"execution": {"fill": "tomorrow"}})], ("c.yaml", "execution.fill")),
    Case("unknown-calendar", lambda f: ["validate", config(f, {"data": {"dir": "data", "calendar": "MARS"}})],
         ("c.yaml", "data.calendar", "MARS")),
    Case("data-dir-missing", lambda f: ["validate", config(f, {"data": {"dir": "nowhere"}})], ("nowhere",)),
    Case("data-dir-a-file", lambda f: ["validate", config(f, {"data": {"dir": "c.yaml"}})], ("c.yaml",)),
    Case("benchmark-unknown", lambda f: ["validate", config(f, {"benchmark": "QQQQ"})], ("prices.parquet", "QQQQ")),
    Case("hedge-unknown-structure", lambda f: ["validate", config(f, {"hedges": [{"name": "h", "underlying": "AAA",
                                                                                   "structure": "straddle_of_doom"}]})],
         ("c.yaml", "hedges")),
    Case("alias-bomb-in-variants", lambda f: ["compare", config(f, text=yaml.safe_dump(BASE) + "variants:\n  grid:\n"
                                                                + "".join("    " + line + "\n" for line in BOMB.splitlines()))],
         ("c.yaml", "alias")),
    Case("alias-bomb-in-run", lambda f: ["run", config(f, text=yaml.safe_dump(BASE) + "extra:\n"
                                                       + "".join("  " + line + "\n" for line in BOMB.splitlines()))],
         ("c.yaml", "alias")),
    Case("sweep-too-large", lambda f: ["compare", config(f, {"variants": {"grid": {
        "execution.fees_bps": list(range(200)), "execution.slippage_bps": list(range(200))}}})],
         ("c.yaml", "variants.grid", "40,000")),
    Case("variant-unknown-key", lambda f: ["compare", config(f, {"variants": {"grid": {"execution.fee": [1, 2]}}})],
         ("c.yaml", "execution.fee")),
    Case("variant-zip-unequal", lambda f: ["compare", config(f, {"variants": {"zip": {"execution.fees_bps": [1, 2],
                                                                                      "execution.slippage_bps": [1]}}})],
         ("c.yaml", "variants")),
    Case("out-is-a-file", lambda f: ["run", config(f), "--out", f / "c.yaml"], ("c.yaml", "is a file")),
    Case("out-below-a-file", lambda f: ["run", config(f), "--out", f / "c.yaml" / "run"], ("c.yaml", "is a file")),
    Case("out-exists", lambda f: ["run", config(f), "--out", f / "data"], ("data", "already exists")),
    Case("compare-out-is-a-file", lambda f: ["compare", config(f, {"variants": {"grid": {"execution.fees_bps": [1, 2]}}}),
                                             "--out", f / "c.yaml", "--no-report"], ("c.yaml", "is a file")),
    Case("scenario-set-missing", lambda f: ["scenarios", config(f), "--set", f / "none.yaml"], ("none.yaml", "not found")),
    # ---- dataset files ---------------------------------------------------------------------------
    Case("prices-corrupt", data_with(garbage("prices.parquet")), ("prices.parquet",)),
    Case("prices-missing", data_with(lambda d: (d / "prices.parquet").unlink()), ("prices.parquet",)),
    Case("prices-infinite", data_with(prices_where(lambda p: _set(p, "close", float("inf")))),
         ("prices.parquet", "close", "infinite")),
    Case("prices-infinite-high", data_with(prices_where(lambda p: _set(_set(p, "close", float("inf")), "high",
                                                                      float("inf")))), ("prices.parquet", "high", "infinite")),
    Case("prices-negative", data_with(prices_where(lambda p: _set(p, "open", -1.0))), ("prices.parquet", "open")),
    Case("prices-missing-column", data_with(prices_where(lambda p: p.drop(columns=["volume"]))),
         ("prices.parquet", "volume")),
    Case("prices-duplicate-row", data_with(prices_where(lambda p: pd.concat([p, p.iloc[[3]]], ignore_index=True))),
         ("prices.parquet",)),
    Case("prices-not-a-session", data_with(prices_where(lambda p: _set(p, "date", pd.Timestamp("2024-01-06")))),
         ("prices.parquet", "date")),
    Case("events-corrupt", data_with(garbage("events.parquet")), ("events.parquet",)),
    Case("market-corrupt", data_with(garbage("market.parquet")), ("market.parquet",)),
    Case("manifest-corrupt", data_with(lambda d: (d / "dataset.json").write_text("{not json")), ("dataset.json",)),
    # ---- importer inputs ---------------------------------------------------------------------------
    Case("csv-semicolons", prices_file(OK_CSV.replace(",", ";")), ("NVDA.csv", "semicolons", "comma-separated")),
    Case("csv-empty", prices_file(""), ("NVDA.csv",)),
    Case("csv-infinite-close", prices_file(OK_CSV.replace("10.8", "inf")), ("NVDA.csv", "close", "line 3")),
    Case("csv-no-date-column", prices_file(OK_CSV.replace("Date", "When")), ("NVDA.csv", "date")),
    Case("csv-bad-date", prices_file(OK_CSV.replace("2024-01-03", "2024-02-30")), ("NVDA.csv", "date", "line 3")),
    Case("csv-time-of-day", prices_file(OK_CSV.replace("2024-01-03", "2024-01-03 10:30")), ("NVDA.csv", "date")),
    Case("csv-not-a-number", prices_file(OK_CSV.replace("1200", "lots")), ("NVDA.csv", "volume", "line 3")),
    Case("csv-ragged", prices_file(OK_CSV + "2024-01-04,1,2\n2024-01-05,1,2,3,4,5,6,7\n"), ("NVDA.csv",)),
    Case("csv-not-utf8", prices_file(OK_CSV.encode("utf-16")), ("NVDA.csv",)),
    Case("import-missing-file", lambda f: ["data", "import", "prices", f / "NONE.csv", "--out", f / "dataset"],
         ("NONE.csv", "not found")),
    Case("import-bad-extension", prices_file(OK_CSV, "NVDA.xlsx"), ("NVDA.xlsx", ".xlsx")),
    Case("import-corrupt-parquet", prices_file("PAR1 nope PAR1", "NVDA.parquet"), ("NVDA.parquet", "Parquet")),
    Case("import-out-is-a-file", lambda f: [*prices_file(OK_CSV)(f)[:-1], f / "NVDA.csv"], ("NVDA.csv", "is a file")),
    Case("import-bad-map", lambda f: [*prices_file(OK_CSV)(f), "--map", "Close"], ("--map", "Close")),
    Case("market-semicolons", import_file("market", "date;DGS10\n2024-01-02;4.1\n", "DGS10.csv"),
         ("DGS10.csv", "semicolons")),
    Case("market-infinite", import_file("market", "date,DGS10\n2024-01-02,4.1\n2024-01-03,inf\n", "DGS10.csv"),
         ("DGS10.csv", "DGS10", "line 3")),
    Case("market-empty", import_file("market", "", "DGS10.csv"), ("DGS10.csv",)),
    Case("market-ohlc-without-value-column", import_file("market", "DATE,OPEN,HIGH,LOW,CLOSE\n2024-01-02,1,2,1,2\n",
                                                         "VIX.csv"), ("VIX.csv", "--value-column")),
    Case("market-bad-date", import_file("market", "date,DGS10\n2024-02-30,4.1\n", "DGS10.csv"), ("DGS10.csv", "date")),
    Case("fundamentals-no-period-end", import_file("fundamentals", "symbol,revenue\nNVDA,10\n", "f.csv"),
         ("f.csv", "period_end")),
    Case("fundamentals-semicolons", import_file("fundamentals", "symbol;period_end\nNVDA;2024-03-31\n", "f.csv"),
         ("f.csv", "semicolons")),
    Case("events-import-unknown-kind", import_file("events", EVENTS_HEAD + "2024-02-01,pre,rumour,AAA,x\n", "e.csv"),
         ("e.csv", "kind")),
    Case("events-import-empty", import_file("events", "", "e.csv"), ("e.csv", "empty")),
    Case("edgar-facts-a-list", edgar_file({"entityName": "N", "facts": []}), ("CIK0001045810.json", "facts")),
    Case("edgar-concept-a-list", edgar_file({"entityName": "N", "facts": {"us-gaap": {"Revenues": []}}}),
         ("CIK0001045810.json", "facts.us-gaap.Revenues")),
    Case("edgar-facts-not-objects", edgar_file({"facts": {"us-gaap": {"Revenues": {"units": {"USD": [1, 2]}}}}}),
         ("CIK0001045810.json", "facts.us-gaap.Revenues.units.USD[0]")),
    Case("edgar-not-json", edgar_file("{\"facts\": "), ("CIK0001045810.json", "JSON")),
    Case("data-check-missing-folder", lambda f: ["data", "check", f / "nowhere"], ("nowhere",)),
    # ---- event files -------------------------------------------------------------------------------
    Case("events-csv-empty", events_file(""), ("events.csv", "empty")),
    Case("events-csv-missing-column", events_file("date,kind,symbols\n2024-02-01,deal,AAA\n"), ("events.csv", "session")),
    Case("events-csv-unknown-kind", events_file(EVENTS_HEAD + "2024-02-01,pre,rumour,AAA,x\n"), ("events.csv", "kind")),
    Case("events-csv-semicolons", events_file(EVENTS_HEAD.replace(",", ";") + "2024-02-01;pre;deal;AAA;x\n"),
         ("events.csv", "semicolons")),
    Case("events-csv-bad-date", events_file(EVENTS_HEAD + "2024-02-30,pre,deal,AAA,x\n"), ("events.csv", "date")),
    Case("events-bad-window", lambda f: [*events_file(EVENTS_HEAD + "2024-02-01,pre,deal,AAA,x\n")(f), "--window", "5"],
         ("--window", "event_study.window")),
    # ---- holdings (rulebook today) -----------------------------------------------------------------
    Case("holdings-semicolons", lambda f: ["today", config(f), "--holdings", _bytes(f / "h.csv", b"symbol;shares\nAAA;10\n")],
         ("h.csv", "semicolons")),
    Case("holdings-no-shares", lambda f: ["today", config(f), "--holdings", _bytes(f / "h.csv", b"symbol,price\nAAA,10\n")],
         ("h.csv", "shares")),
    Case("holdings-not-a-number", lambda f: ["today", config(f), "--holdings",
                                             _bytes(f / "h.csv", b"symbol,shares\nAAA,ten\n")], ("h.csv", "ten")),
    Case("today-bad-out", lambda f: ["today", config(f), "--holdings", _bytes(f / "h.csv", b"symbol,shares\nAAA,10\n"),
                                     "--out", f / "orders.txt"], ("orders.txt", "csv")),
    # ---- run folders -------------------------------------------------------------------------------
    Case("report-equity-corrupt", run_folder(garbage("equity.parquet"), "report", "RUN"), ("equity.parquet",)),
    Case("report-trades-corrupt", run_folder(garbage("trades.parquet"), "report", "RUN"), ("trades.parquet",)),
    Case("report-metrics-corrupt", run_folder(lambda r: (r / "metrics.json").write_text("{"), "report", "RUN"),
         ("metrics.json",)),
    Case("report-config-corrupt", run_folder(lambda r: (r / "config.yaml").write_text("name: [x"), "report", "RUN"),
         ("config.yaml",)),
    Case("report-not-a-run-folder", run_folder(lambda r: (r / "equity.parquet").unlink(), "report", "RUN"),
         ("equity.parquet", "not found")),
    Case("report-bad-format", run_folder(lambda r: None, "report", "RUN", "--format", "docx"), ("--format", "docx")),
    Case("report-bad-page-size", run_folder(lambda r: None, "report", "RUN", "--page-size", "A3"), ("--page-size",)),
    Case("report-of-a-file", lambda f: ["report", config(f)], ("c.yaml",)),
    Case("scenarios-weights-corrupt", lambda f: [*run_folder(garbage("weights.parquet"), "scenarios", "RUN")(f), "--set",
                                                 _bytes(f / "set.yaml", SCENARIO_SET.encode())], ("weights.parquet",)),
    Case("scenarios-unknown-group", lambda f: [*run_folder(lambda r: None, "scenarios", "RUN")(f), "--set",
                                               _bytes(f / "set.yaml", SCENARIO_SET.replace("{}", "{chips: [0, 0.1]}")
                                                      .encode())], ("set.yaml", "scenarios.up.groups.chips")),
    Case("scenarios-no-set", run_folder(lambda r: None, "scenarios", "RUN"), ("config.yaml", "scenarios")),
    Case("scenarios-bad-date", run_folder(lambda r: None, "scenarios", "RUN", "--date", "someday"), ("--date",)),
    Case("events-equity-corrupt", run_folder(garbage("equity.parquet"), "events", "RUN"), ("equity.parquet",)),
    Case("events-config-unknown-key", run_folder(lambda r: (r / "config.yaml").write_text(
        (r / "config.yaml").read_text() + "surprise: 1\n"), "events", "RUN"), ("config.yaml", "surprise")),
]


@pytest.fixture(scope="module", autouse=True)
def finished_run(tmp_path_factory) -> Path:
    """One real run folder (of BASE on its small dataset), copied by the run-folder cases."""
    folder = tmp_path_factory.mktemp("finished")
    result = runner.invoke(app, ["run", str(config(folder)), "--out", str(folder / "run")])
    assert result.exit_code == 0, result.output
    RUN_FOLDER[:] = [folder / "run"]
    return folder / "run"


def test_the_corpus_is_large_and_ids_are_unique() -> None:
    assert len(CASES) >= 60 and len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_one_clear_line_and_writes_nothing(case: Case, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    args = [str(arg) for arg in case.build(tmp_path)]
    before = folder_state(tmp_path)
    result = runner.invoke(app, args)
    message = " ".join(result.output.split())
    assert result.exit_code == 2, f"{case.id}: exit {result.exit_code}: {result.output}{result.exception!r}"
    assert "Traceback" not in result.output and "unexpected" not in message, message
    assert message.startswith("error: "), message
    for name in case.names:
        assert name in message, f"{case.id}: {name!r} not in {message!r}"
    assert folder_state(tmp_path) == before, f"{case.id}: files changed or were left behind"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(before_names(before)), "a folder was left behind"


def before_names(state: dict[str, bytes]) -> set[str]:
    return {Path(name).parts[0] for name in state}


def test_an_empty_section_means_its_defaults_and_takes_overrides(tmp_path: Path) -> None:
    """`period:` with nothing under it, then --start: was a TypeError traceback."""
    import datetime as dt

    from engine.config.run_config import load_config

    path = config(tmp_path, text=yaml.safe_dump({**BASE, "period": None}).replace("period: null", "period:"))
    assert load_config(path).period.start is None
    assert load_config(path, {"period.start": "2024-01-05"}).period.start == dt.date(2024, 1, 5)
