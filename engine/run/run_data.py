"""The data a config runs on: loaded and checked before anything is simulated.

Kept apart from the backtest (engine.run.backtest) so that `rulebook validate`, which loads and
checks the same data without simulating, imports no simulation code (numba, vectorbt).
"""

from __future__ import annotations

from engine.config.run_config import RunConfig, resolved_data_dir
from engine.data.dataset import Dataset
from engine.data.loader import load_dataset
from engine.errors import DataError
from engine.run.requirements import check_inputs
from strategies.selection import groups_from_data


def load_run_data(config: RunConfig) -> Dataset:
    """The dataset a config needs: its universe, the benchmark and the hedges' underlyings, over its period;
    every input the run will read is checked first (engine.run.requirements), so none is found missing later."""
    check_inputs(config)
    hedged = [symbol for hedge in config.hedges for symbol in hedge.symbols]
    symbols = list(dict.fromkeys(config.universe.symbols + ([config.benchmark] if config.benchmark else []) + hedged))
    data = load_dataset(
        resolved_data_dir(config), symbols=symbols, start=config.period.start, end=config.period.end,
        calendar=config.data.calendar, max_fill_sessions=config.data.max_fill_sessions,
    )
    if len(data.sessions) < 2:
        raise DataError(data.files[0], "date", f"only {len(data.sessions)} session between period.start and "
                        "period.end: a backtest needs two (one return)", "widen period.start/period.end (--start/--end)")
    if config.rules is not None:
        rule_groups(config, data)  # data-defined groups named by caps exist (checked before simulating)
    return data


def rule_groups(config: RunConfig, data: Dataset) -> dict[str, list[str]]:
    """The config's named groups; without any, the data's themes or sectors if selection asks for them."""
    selection = config.rules.selection if config.rules else None
    if config.universe.groups or selection is None or selection.group_by is None:
        return dict(config.universe.groups)
    groups = groups_from_data(data, selection.group_by, config.universe.symbols)
    caps = getattr(config.rules, "caps", None)
    unknown = sorted(set(caps.groups) - set(groups)) if caps is not None else []
    if unknown:
        raise DataError("symbols.parquet", selection.group_by, f"rules.caps.groups names {', '.join(unknown)}, "
                        f"which no universe symbol has as its {selection.group_by}",
                        f"cap one of: {', '.join(groups) or '(none)'}, or list universe.groups in the config")
    return groups
