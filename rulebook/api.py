"""Run, check and load: the calls a notebook starts with (`rulebook run`, `rulebook validate`).

``config`` is everywhere a YAML path, a plain dict or an ``engine.config.run_config.RunConfig``.
Overrides are dotted keys (``**{"rules.caps.name": 0.06}``) or, as keyword arguments, the same
keys with ``__`` for the dots (``rules__caps__name=0.06``). Errors a user can fix raise
``engine.errors.RulebookError`` (ConfigError, DataError) with one line naming the file, the key
or column, and the fix.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from engine.config.run_config import ConfigSource, RunConfig, config_from, resolved_data_dir
from engine.data.dataset import Dataset
from engine.errors import ConfigError
from rulebook.result import Result, SavedRun

DataSource = Path | str | Dataset | None


def run(config: ConfigSource, *, data: DataSource = None, **overrides: Any) -> Result:
    """Run one backtest in memory and return its ``Result`` (nothing is written; see ``Result.save``).

    ``data``: a dataset folder (replaces ``data.dir``) or a loaded ``Dataset`` (``load_dataset``),
    whose sessions are then the ones simulated. Same config and data give the same metrics as
    ``rulebook run``: both call this function.
    """
    from engine.run.backtest import compiling_ahead, run_backtest
    from engine.run.run_data import load_run_data

    began = time.perf_counter()
    cfg, dataset = _config_and_data(config, data, overrides)
    with compiling_ahead(cfg):  # a first run's kernels: a second process compiles some of them meanwhile
        dataset = dataset if dataset is not None else load_run_data(cfg)  # every input checked before simulating
        return Result(run_backtest(cfg, dataset), wall_seconds=time.perf_counter() - began)


@dataclass(frozen=True)
class Checked:
    """What ``validate`` found: the resolved config, the dataset it loaded and where from."""

    config: RunConfig
    data: Dataset
    data_dir: Path


def validate(config: ConfigSource, *, data: DataSource = None, **overrides: Any) -> Checked:
    """Check a config and load the data it needs, without simulating; raises the first problem."""
    cfg, dataset = _config_and_data(config, data, overrides)
    if dataset is None:
        from engine.run.run_data import load_run_data

        dataset = load_run_data(cfg)
    return Checked(cfg, dataset, resolved_data_dir(cfg))


def audit(config: ConfigSource, *, data: DataSource = None, cutoffs: int = 3, seed: int = 0, **overrides: Any) -> list:
    """Look-ahead audit (`rulebook audit`): the config re-run on futures redrawn after ``cutoffs``
    sessions; each check says whether anything decided at or before its cutoff moved
    (engine.run.audit documents the checks)."""
    from engine.run.audit import audit as audit_config

    checked = validate(config, data=data, **overrides)
    return audit_config(checked.config, checked.data, cutoffs, seed=seed)


def load_config(config: ConfigSource, **overrides: Any) -> RunConfig:
    """The validated config (every default filled in, relative paths resolved), with overrides."""
    return config_from(config, _dotted(overrides))


def load_dataset(source: ConfigSource | None = None, *, symbols: list[str] | None = None, start=None, end=None,
                 calendar: str = "XNYS", max_fill_sessions: int = 3) -> Dataset:
    """A ``Dataset`` (session × symbol frames, fundamentals, events, market series).

    ``source``: a dataset folder (with the keyword filters), a config (its universe, benchmark and
    hedge underlyings over its period, exactly what ``run`` loads), or None for the bundled
    SYNTHETIC sample."""
    from engine.config.run_config import SAMPLE_DATA_DIR

    if source is None or (isinstance(source, (str, Path)) and Path(source).is_dir()):
        from engine.data.loader import load_dataset as read_folder

        return read_folder(Path(source or SAMPLE_DATA_DIR), symbols=symbols, start=start, end=end,
                           calendar=calendar, max_fill_sessions=max_fill_sessions)
    from engine.run.run_data import load_run_data

    return load_run_data(config_from(source))


def open_run(folder: Path | str) -> SavedRun:
    """A run folder written by ``Result.save`` or `rulebook run`, read back through the run-folder
    contract (engine.run.folder): the same tables a ``Result`` holds."""
    return SavedRun.read(Path(folder))


def check_destination(folder: Path | str) -> None:
    """Refuse an output folder that exists (or lies inside a file) before any work: the savers
    refuse it too, but only once the work is done."""
    from engine.atomic import check_destination as refuse

    refuse(Path(folder))


def _config_and_data(config: ConfigSource, data: DataSource, overrides: dict) -> tuple[RunConfig, Dataset | None]:
    overrides = _dotted(overrides)
    if isinstance(data, (str, Path)):
        overrides["data.dir"] = str(Path(data).resolve())
    cfg = config_from(config, overrides)
    if isinstance(data, Dataset):
        needed = [*cfg.universe.symbols, *([cfg.benchmark] if cfg.benchmark else []),
                  *(s for h in cfg.hedges for s in h.symbols)]
        absent = [symbol for symbol in dict.fromkeys(needed) if symbol not in data.symbols]
        if absent:
            raise ConfigError("data=", "universe.symbols", f"the dataset given has no {', '.join(absent)}",
                              "load it with rulebook.load_dataset(config) or add the symbols")
        return cfg, data
    return cfg, None


def session_date(value) -> pd.Timestamp | None:
    """A date argument (a date, or YYYY-MM-DD text) as a midnight Timestamp; None stays None."""
    if value is None:
        return None
    try:
        return pd.Timestamp(value).normalize()
    except ValueError:
        raise ConfigError("command line", "--date", f"'{value}' is not a date", "write it as YYYY-MM-DD") from None


def _dotted(overrides: dict[str, Any]) -> dict[str, Any]:
    """Keyword overrides with ``__`` written for the dots of a config path."""
    return {key.replace("__", "."): value for key, value in overrides.items()}
