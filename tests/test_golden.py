"""Golden runs: configs/column.yaml and configs/minimal.yaml on the sample (and, on datasets imported from
../shared/data, minimal.yaml and configs/column_real.yaml) reproduce the metrics (1e-12 relative) and tables
pinned in tests/golden/."""

from __future__ import annotations

import json

import pytest
from golden_runs import UPDATE, cases, differences, golden_path

SAMPLE_CASES = ("column", "minimal")


def check(case: str, now: dict) -> None:
    path = golden_path(case)
    assert path.exists(), f"{path} is missing; fix: run `{UPDATE}`"
    moved = differences(json.loads(path.read_text()), now)
    assert not moved, (
        f"{now['config']} ({case}) no longer reproduces {path.name}:\n  " + "\n  ".join(moved)
        + f"\nIf the change is meant to move results, run `{UPDATE}` and say so in the commit message.")


@pytest.mark.parametrize("case", SAMPLE_CASES)
def test_sample_runs_reproduce_their_golden_files(case):
    check(case, cases(None)[case]())


@pytest.mark.parametrize("case", ["shared_minimal", "shared_column"])
def test_runs_on_the_imported_shared_data_reproduce_their_golden_files(shared_data, case):
    check(case, cases(shared_data)[case]())


def test_a_moved_metric_is_named_with_its_change():
    golden = {"metrics": {"sharpe": 1.0, "cagr": 0.1}, "trades.parquet": {"rows": 2, "totals": {"fees": 1.0},
                                                                         "sha256": "a"}, "rules.parquet": None}
    now = {"metrics": {"sharpe": 1.0 + 1e-13, "cagr": 0.1001},
           "trades.parquet": {"rows": 3, "totals": {"fees": 1.5}, "sha256": "b"}, "rules.parquet": None}
    assert differences(golden, now) == [
        "metrics.cagr: 0.1 → 0.1001 (+1.00e-03 relative)",
        "trades.parquet: 2 → 3 rows, content digest changed (fees total 1.0 → 1.5)",
    ]
