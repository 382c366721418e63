"""What a config's run will read, checked before anything runs: every missing input in one error.

A run must never fail after its simulation because a file, a market series or a
fundamentals column is absent. So `rulebook validate` and `load_run_data` (used by
run, compare, attribute, events) ask here first, from the files' schemas and key columns
only: prices for the universe, the benchmark and the hedges' underlyings; fundamentals
columns for each screen measure; the regime's and the hedges' market series; events
for event rules and the event study. Each missing item says the file to add and the
command that imports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from engine.config.run_config import RunConfig, resolved_data_dir
from engine.data.schema import EVENTS, FUNDAMENTALS, MARKET, PRICES
from engine.errors import DataError

SCREEN_ITEMS = {  # screen key -> the fundamentals columns its measure divides
    "min_interest_coverage": ("operating_income", "interest_expense"),
    "min_net_cash": ("cash", "total_debt"),
    "max_capex_intensity": ("capex", "revenue"),
}


@dataclass(frozen=True)
class Missing:
    """One input the config needs and the dataset lacks."""

    file: str
    item: str
    needed_by: str
    command: str

    def __str__(self) -> str:
        return f"{self.file} {self.item} (for {self.needed_by}): {self.command}"


def check_inputs(config: RunConfig) -> None:
    """Raise one DataError listing every missing input, or return."""
    missing = missing_inputs(config)
    if missing:
        folder = resolved_data_dir(config)
        raise DataError(folder, None, f"the config needs {len(missing)} input(s) the dataset lacks: "
                        + "; ".join(f"{n}) {item}" for n, item in enumerate(map(str, missing), 1)),
                        f"import each with the command shown, then check the folder: rulebook data check {folder}")


def missing_inputs(config: RunConfig) -> list[Missing]:
    """Every input the enabled rules, hedges, benchmark and analyses need that the data folder does not hold."""
    folder = resolved_data_dir(config)
    out = f"--out {folder}"
    missing: list[Missing] = []
    needed = {symbol: "universe.symbols" for symbol in config.universe.symbols}
    if config.benchmark:
        needed.setdefault(config.benchmark, "benchmark")
    for hedge in config.hedges:
        for symbol in hedge.symbols:
            needed.setdefault(symbol, f"hedges.{hedge.name}")
    priced = _distinct(folder / PRICES.file, "symbol")
    absent = {symbol: why for symbol, why in needed.items() if priced is not None and symbol not in priced}
    if absent:
        whys = dict.fromkeys(absent.values())
        missing.append(Missing(PRICES.file, "symbols " + ", ".join(absent), ", ".join(whys),
                               "rulebook data import prices " + " ".join(f"{s}.csv" for s in absent) + f" {out}"))
    series_held = _distinct(folder / MARKET.file, "series") or set()
    for series, why in _market_needs(config).items():
        if series not in series_held:
            missing.append(Missing(MARKET.file, f"series {series}", why, _market_command(series, out)))
    rules = config.rules
    if rules is not None and rules.screen is not None:
        filled = _filled_columns(folder / FUNDAMENTALS.file)
        lacking = {item: f"rules.screen.{key}" for key, items in SCREEN_ITEMS.items()
                   if getattr(rules.screen, key) is not None for item in items if item not in filled}
        if lacking:
            missing.append(Missing(FUNDAMENTALS.file, "values of " + ", ".join(lacking),
                                   ", ".join(dict.fromkeys(lacking.values())),
                                   f"rulebook data import fundamentals SHEET.csv {out} (--map YOUR_COLUMN=NAME)"))
    events_file, study = folder / EVENTS.file, config.event_study
    event_needs = ["rules.events"] if rules is not None and rules.events else []
    if study.enabled and study.file is None:
        event_needs.append("event_study")
    if event_needs and not events_file.is_file():
        missing.append(Missing(EVENTS.file, "(the file)", ", ".join(event_needs),
                               f"rulebook data import events data/events/ai_events.csv {out}"))
    if study.enabled and study.file is not None and not Path(study.file).is_file():
        missing.append(Missing(str(study.file), "(the file)", "event_study.file",
                               "fix event_study.file, or leave it empty to use the dataset's events.parquet"))
    return missing


def _market_needs(config: RunConfig) -> dict[str, str]:
    needs: dict[str, str] = {}
    regime = config.rules.regime if config.rules is not None else None
    if regime is not None:
        if regime.vol_level is not None or regime.vol_percentile is not None:
            needs[regime.vol_series] = "rules.regime.vol_series"
        if regime.flow_series is not None:
            needs[regime.flow_series] = "rules.regime.flow_series"
    for hedge in config.hedges:
        if hedge.vol.source != "realized":
            needs.setdefault(hedge.vol.source, f"hedges.{hedge.name}.vol.source")
        if isinstance(hedge.rate, str):
            needs.setdefault(hedge.rate, f"hedges.{hedge.name}.rate")
    return needs


def _market_command(series: str, out: str) -> str:
    if series == "VIX":
        return f"rulebook data import market vix-daily.csv --series VIX --value-column CLOSE {out}"
    return f"rulebook data import market {series}.csv --lag-days 1 {out} (a FRED file date,{series})"


def _distinct(path: Path, column: str) -> set[str] | None:
    """The distinct values of one key column (None when the file is absent: the loader names that itself)."""
    if not path.is_file():
        return None
    try:
        values = pq.read_table(path, columns=[column]).column(column)
    except (pa.ArrowException, OSError, KeyError):
        return None  # unreadable or mistyped: the loader's own error is the better one
    return set(pc.unique(values.cast(pa.string())).to_pylist())


def _filled_columns(path: Path) -> set[str]:
    """The fundamentals columns that hold at least one value."""
    if not path.is_file():
        return set()
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError):
        return set()
    return {name for name in table.column_names if table.column(name).null_count < len(table)}


