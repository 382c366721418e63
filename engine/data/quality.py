"""A data-quality report and the helpers every table's checks share (reading a table, runs of repeats)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from engine.data import schema
from engine.errors import DataError

COVERAGE_COLUMNS = ["symbol", "first", "last", "rows", "expected", "missing", "coverage"]


@dataclass(frozen=True)
class Finding:
    severity: str  # "error" or "warning"
    check: str
    symbol: str
    message: str


@dataclass
class QualityReport:
    folder: Path
    coverage: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=COVERAGE_COLUMNS))
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    def add(self, severity: str, check: str, symbol: str, message: str) -> None:
        """Record a finding; its message starts with the symbol (or series) it is about."""
        if symbol and not message.startswith(f"{symbol}:"):
            message = f"{symbol}: {message}"
        self.findings.append(Finding(severity, check, symbol, message))


def read_table(path: Path, spec: schema.TableSpec) -> pd.DataFrame:
    """One table of the folder, schema-checked and conformed (a DataError if it cannot be read)."""
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as error:
        raise DataError(path, None, f"not a readable Parquet file ({error})", "re-import or re-export it") from error
    schema.check_schema(path, spec, table.schema)
    return schema.conform(path, spec, table)


def stale_runs(report: QualityReport, symbol: str, own: pd.DataFrame, stale: int, column: str = "close",
               check: str = "stale", unit: str = "sessions") -> None:
    """Runs of ``stale`` or more rows repeating one value: a feed that stopped updating."""
    close = own[column].to_numpy()
    same = np.concatenate([[False], close[1:] == close[:-1]])
    for begin, end in runs(same):
        if end - begin + 2 >= stale:
            report.add("warning", check, symbol, f"{column} stays {close[end]:g} for {end - begin + 2} {unit} "
                       f"{own['date'].iloc[begin - 1]:%Y-%m-%d}..{own['date'].iloc[end]:%Y-%m-%d}")


def runs(mask) -> list[tuple[int, int]]:
    """(first, last) positions of each run of True values."""
    flags = np.concatenate([[False], np.asarray(mask, dtype=bool), [False]])
    edges = np.flatnonzero(np.diff(flags.astype(np.int8)))
    return [(int(begin), int(end) - 1) for begin, end in zip(edges[::2], edges[1::2])]
