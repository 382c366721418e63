"""The run-folder contract (engine.run.files): every file the commands write is declared with its
columns and dtypes, reads back through the one reader, and no other module writes or reads one itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from engine.cli.main import app
from engine.errors import DataError
from engine.run import files
from engine.run.folder import RunFolder

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "column.yaml"

# modules that write tables of their own folders, not of a run folder: the dataset importers (their
# contract is engine.data.schema) and `rulebook today`'s book files (holdings read, orders and state written)
OWN_FILES = ("engine/data/", "engine/practice/")
# a dataset folder's files, whose events.parquet shares its name with the event study's
DATASET_MODULES = ("engine/data/", "engine/cli/data.py")
# pandas' and pyarrow's table writers, and pandas' readers (pyarrow's read_table stays free for the
# dataset checks that read a projection of a dataset file)
TABLE_IO = {"to_parquet", "to_csv", "write_table", "read_parquet", "read_csv"}


def contract_violations(sources: dict[str, str]) -> list[str]:
    """Modules that write or read a table themselves, or join a run-folder file's name onto a path."""
    found = []
    for module, source in sources.items():
        for node in ast.walk(ast.parse(source)):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in TABLE_IO
                    and not module.startswith(OWN_FILES)):
                found.append(f"{module}:{node.lineno} calls {node.func.attr}")
            if (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and isinstance(node.right, ast.Constant)
                    and node.right.value in files.FILES and not module.startswith(DATASET_MODULES)):
                found.append(f"{module}:{node.lineno} joins {node.right.value!r}")
    return sorted(found)


def test_no_module_writes_or_reads_a_run_folder_file_itself():
    sources = {str(path.relative_to(ROOT)): path.read_text()
               for package in ("engine", "rulebook", "strategies") for path in (ROOT / package).rglob("*.py")
               if path != ROOT / "engine" / "run" / "files.py"}
    assert len(sources) > 100
    assert contract_violations(sources) == []


def test_the_guard_catches_a_file_written_or_read_beside_the_contract():
    sneaky = ("def save(tmp, table, summary):\n"
              "    table.to_parquet(tmp / 'variants.parquet', index=False)\n"
              "    (tmp / 'statistics.json').write_text(json.dumps(summary))\n"
              "    return pd.read_parquet(folder / name)\n")
    assert contract_violations({"engine/sweep/compare.py": sneaky}) == [
        "engine/sweep/compare.py:2 calls to_parquet", "engine/sweep/compare.py:2 joins 'variants.parquet'",
        "engine/sweep/compare.py:3 joins 'statistics.json'", "engine/sweep/compare.py:4 calls read_parquet"]
    assert contract_violations({"engine/data/importers.py": "table.to_parquet(out / 'prices.parquet')"}) == []
    assert contract_violations({"engine/report/x.py": "write_file(folder, 'ranking.csv', ranking)"}) == []


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """A run (with its event study and scenarios), a comparison and an attribution, each written by its
    command on the bundled sample, on a short period to keep the test quick."""
    tmp = tmp_path_factory.mktemp("contract")
    raw = yaml.safe_load(CONFIG.read_text())
    raw["period"] = {"start": "2024-01-02", "end": "2025-12-31"}
    raw["variants"] = {"grid": {"rules.caps.name": [0.06, 0.1]}}
    config = tmp / "short.yaml"
    config.write_text(yaml.safe_dump(raw, sort_keys=False))
    written = {}
    for kind, args in (("run", ["run", str(config), "--no-report"]), ("compare", ["compare", str(config), "--no-report"]),
                       ("attribute", ["attribute", str(config), "--no-report"])):
        written[kind] = tmp / kind
        result = CliRunner().invoke(app, [*args, "--out", str(written[kind])])
        assert result.exit_code == 0, result.output
    result = CliRunner().invoke(app, ["scenarios", str(written["run"])])
    assert result.exit_code == 0, result.output
    return written


def test_every_file_the_commands_write_is_declared_with_its_columns_and_dtypes(folders):
    common = {*files.DOCUMENTS, *files.RUN_TABLES, files.RULES, files.HEDGES}
    expected = {"run": common | {*files.EVENT_FILES, *files.SCENARIO_FILES},
                "compare": common | set(files.COMPARE_FILES), "attribute": common | set(files.ATTRIBUTION_FILES)}
    for kind, folder in folders.items():
        names = {path.name for path in folder.iterdir()}
        assert names == expected[kind], kind
        for name in names:
            spec = files.FILES[name]
            content = files.read_file(folder, name)  # columns and dtypes checked against the declaration
            if isinstance(spec, files.TableFile):
                frame = content.reset_index() if spec.index else content
                assert [c for c in frame.columns if spec.kind(c) is None] == [], name  # no undeclared column
                assert len(frame), f"{kind}/{name} is empty: the check saw no dtypes"
        RunFolder.read(folder)


def test_the_writer_refuses_a_table_its_declaration_does_not_describe(tmp_path):
    trades = pd.DataFrame({"session": pd.to_datetime(["2024-01-02"]), "decided": pd.to_datetime(["2023-12-29"]),
                           "symbol": ["NVDA"], "side": ["buy"], "shares": [10.0], "price": [50.0],
                           "notional": [500.0], "fees": [0.25]})
    files.write_file(tmp_path, "trades.parquet", trades)
    pd.testing.assert_frame_equal(files.read_file(tmp_path, "trades.parquet"), trades)
    with pytest.raises(TypeError, match="trades.parquet has no column 'fees'"):
        files.write_file(tmp_path, "trades.parquet", trades.drop(columns="fees"))
    with pytest.raises(TypeError, match="column 'shares' is object, declared float"):
        files.write_file(tmp_path, "trades.parquet", trades.astype({"shares": object}))
    with pytest.raises(TypeError, match="column 'note' .* declared nothing"):
        files.write_file(tmp_path, "trades.parquet", trades.assign(note="x"))
    with pytest.raises(ValueError, match="extra.parquet is not a file of the run-folder contract"):
        files.write_file(tmp_path, "extra.parquet", trades)
    # an empty table is written with its declared dtypes, whatever pandas guessed for no rows
    files.write_file(tmp_path, "trades.parquet", pd.DataFrame(columns=list(trades.columns)))
    empty = pd.read_parquet(tmp_path / "trades.parquet")
    assert empty["session"].dtype.kind == "M" and empty["shares"].dtype == "float64"
    # as is a column without a value (None everywhere: a metric undefined for every variant)
    files.write_file(tmp_path, "trades.parquet", trades.assign(fees=None))
    assert pd.read_parquet(tmp_path / "trades.parquet")["fees"].dtype == "float64"


def test_the_reader_names_the_file_and_column_of_a_damaged_table(tmp_path):
    pd.DataFrame({"date": pd.to_datetime(["2024-01-02"]), "equity": ["1e6"], "cash": [0.0]}) \
        .to_parquet(tmp_path / "equity.parquet")
    with pytest.raises(DataError, match=r"equity.parquet, column 'equity': is .*, not float"):
        files.read_file(tmp_path, "equity.parquet")
    pd.DataFrame({"date": pd.to_datetime(["2024-01-02"]), "equity": [1e6]}).to_parquet(tmp_path / "equity.parquet")
    with pytest.raises(DataError, match="column 'cash': column missing"):
        files.read_file(tmp_path, "equity.parquet")
    (tmp_path / "metrics.json").write_text("[1, 2]")
    with pytest.raises(DataError, match="metrics.json: not a mapping"):
        files.read_file(tmp_path, "metrics.json")
