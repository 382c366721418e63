"""Analyses of one run, in memory or saved: the event study and the scenario set.

Each takes a ``rulebook.Result``, a ``rulebook.SavedRun`` or a run folder's path, returns the
tables `rulebook events` / `rulebook scenarios` write into the run folder (``.tables``, by file name;
``Result.save(also=[...])`` or ``add_to_run`` writes them through engine.run.files).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from engine.analysis.event_run import EventStudyResult, run_event_study
from engine.config.scenarios import ScenarioSet
from engine.errors import ConfigError
from rulebook.api import session_date
from rulebook.result import Analysis, Result, SavedRun

Run = Result | SavedRun | Path | str


def event_study(run: Run, events: Path | str | None = None, window: tuple[int, int] | str | None = None
                ) -> EventStudyResult:
    """Prices and the strategy around each event: per event × symbol rows (``events``), per event ×
    book (``strategy``: the run, an equal-weight holding of the universe, the benchmark), aggregates
    with bootstrap CIs (``summary``) and CAR paths (``car``), plus ``warnings``.

    ``events``: an events CSV/Parquet (default the config's ``event_study.file``, else the dataset's
    events); ``window``: sessions before and after day 0, ``(-10, 20)`` or ``"-10:20"`` (default
    the config's)."""
    run = _opened(run)
    if isinstance(window, tuple):
        window = f"{window[0]}:{window[1]}"
    data = run.data if isinstance(run, Result) else None
    return run_event_study(run.config, run.equity, data, events_file=Path(events) if events else None, window=window)


@dataclass(frozen=True)
class Scenarios:
    """The scenario tables of one run: ``scenarios`` (per case × measure × with_hedges: ``pnl`` and
    ``ret``), ``stress`` (historical windows replayed) and ``scorecard`` (the outlook scored on what
    followed); the last two are None when they cannot be computed."""

    tables: dict[str, pd.DataFrame]  # by file name

    @property
    def scenarios(self) -> pd.DataFrame:
        return self.tables["scenarios.parquet"]

    @property
    def stress(self) -> pd.DataFrame | None:
        return self.tables.get("stress.parquet")

    @property
    def scorecard(self) -> pd.DataFrame | None:
        return self.tables.get("scorecard.parquet")



def scenarios(run: Run, scenario_set: ScenarioSet | dict | Path | str | None = None, date=None) -> Scenarios:
    """The run's portfolio on ``date`` (default the set's ``as_of``, else the last session) under a
    scenario set: a YAML path, a dict, a ScenarioSet, or None for the config's ``scenarios:`` block."""
    from engine.analysis.scenario_run import run_scenarios
    from engine.config.scenarios import load_scenario_set, scenario_set_from

    day = session_date(date)
    run = _opened(run)
    if isinstance(scenario_set, (str, Path)):
        chosen, source = load_scenario_set(Path(scenario_set)), str(scenario_set)
    elif isinstance(scenario_set, dict):
        chosen, source = scenario_set_from(scenario_set, "<dict>"), "<dict>"
    elif scenario_set is not None:
        chosen, source = scenario_set, "<scenario set>"
    elif run.config.scenarios is not None:
        chosen, source = run.config.scenarios, "config.yaml"
    else:
        raise ConfigError("config.yaml", "scenarios", "no scenario set",
                          "give --set configs/scenarios/column_outlook.yaml or add a scenarios: block")
    return Scenarios(run_scenarios(run, chosen, day, source))


def _opened(run: Run) -> Result | SavedRun:
    return SavedRun.read(Path(run)) if isinstance(run, (str, Path)) else run


def add_to_run(target: Path | str, analyse: Callable[[Result | SavedRun], Analysis]) -> tuple[Analysis, Path]:
    """(the analysis, the run folder holding its files): a run folder gets the files added (each
    atomically); a config is run first and its new run folder saved with them, all at once
    (`rulebook events` / `rulebook scenarios` on a folder or a config)."""
    from rulebook.api import run as run_config

    from engine.atomic import update_folder_atomically
    from engine.run.files import write_tables

    if Path(target).is_dir():
        analysis = analyse(SavedRun.read(Path(target)))
        update_folder_atomically(Path(target), lambda copy: write_tables(copy, analysis.tables))  # swapped in whole
        return analysis, Path(target)
    result = run_config(target)
    analysis = analyse(result)
    return analysis, result.save(reports=[], event_study=False, also=[analysis])
