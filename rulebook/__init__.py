"""rulebook: backtest the portfolio rules of a market column, from a notebook or the command line.

    import rulebook
    result = rulebook.run("configs/column.yaml")           # -> rulebook.Result
    result.metrics["sharpe"], result.equity["equity"].plot()
    comparison = rulebook.compare("configs/column.yaml", variants={"grid": {"rules.caps.name": [0.06, 0.1]}})
    result.save("reports/my-run")                           # the same run folder as `rulebook run`

Public names: run, Result, audit, compare, Comparison, validate, load_config, load_dataset, open_run,
SavedRun, event_study, scenarios, today (the rules' orders for a real book), save_today, attribute,
Attribution (what each rule earned), check_destination, pdf_in_background (report.pdf written by a
forked process, as the CLI does), and the errors a user can fix:
RulebookError with its ConfigError and DataError (each one line: the file, the key or column,
the fix). Importing this package has no side effects and loads nothing
heavy: the engine, vectorbt, numba, plotly, matplotlib, reportlab and scipy load on first use.
"""

from __future__ import annotations

import importlib

# public name -> module that defines it (imported on first access, so `import rulebook` stays fast)
_EXPORTS = {
    "run": "rulebook.api",
    "audit": "rulebook.api",
    "validate": "rulebook.api",
    "load_config": "rulebook.api",
    "load_dataset": "rulebook.api",
    "open_run": "rulebook.api",
    "Result": "rulebook.result",
    "SavedRun": "rulebook.result",
    "compare": "rulebook.comparison",
    "Comparison": "rulebook.comparison",
    "event_study": "rulebook.analyses",
    "scenarios": "rulebook.analyses",
    "today": "rulebook.practice",
    "save_today": "rulebook.practice",
    "attribute": "rulebook.attribution",
    "Attribution": "rulebook.attribution",
    "check_destination": "rulebook.api",
    "pdf_in_background": "engine.report.pdf_worker",
    "RulebookError": "engine.errors",
    "ConfigError": "engine.errors",
    "DataError": "engine.errors",
    "register_rule": "strategies.registry",  # your own rules (README: Writing your own rule)
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'rulebook' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
