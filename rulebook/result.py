"""A backtest's outcome in memory (``Result``) and one read back from its run folder (``SavedRun``).

Both hold the tables of the run-folder contract (engine.run.folder) under the same names, so
``rulebook.event_study`` and ``rulebook.scenarios`` take either, and a saved run reads back as
the result that wrote it.
"""

from __future__ import annotations

import html
from abc import ABC, abstractmethod
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, Sequence

import pandas as pd

from engine.run import folder as contract

if TYPE_CHECKING:
    import vectorbt as vbt

    from engine.analysis.event_run import EventStudyResult

    from engine.config.run_config import RunConfig
    from engine.data.dataset import Dataset
    from engine.run.backtest import BacktestResult



class Analysis(Protocol):
    """Tables that add their files to a run folder (an event study, scenarios), by file name."""

    @property
    def tables(self) -> dict[str, pd.DataFrame]: ...


REPR_METRICS = (("total return", "total_return", "{:+.1%}"), ("CAGR", "cagr", "{:+.1%}"),
                ("volatility", "volatility", "{:.1%}"), ("Sharpe", "sharpe", "{:.2f}"),
                ("max drawdown", "max_drawdown", "{:.1%}"), ("turnover / yr", "turnover", "{:.1f}"))


class _Tables(ABC):
    """The run-folder tables shared by a Result and a SavedRun (see engine.run.folder)."""

    config: RunConfig
    metrics: dict

    @abstractmethod
    def _table(self, name: str) -> pd.DataFrame | None:
        """The named run-folder table (None when the run has none)."""

    @property
    def equity(self) -> pd.DataFrame:
        """Portfolio values at each session close, indexed by date: ``equity`` is the TOTAL (stock
        book plus hedges), every metric is computed on it; ``cash`` is the stock book's cash; with
        hedges ``hedge_value`` and ``hedge_cash`` (equity = stock book + both); ``benchmark``."""
        return self._table("equity.parquet")

    @property
    def returns(self) -> pd.Series:
        """Session-to-session simple returns of total equity (the first session has none), as the
        metrics use them."""
        return self.equity["equity"].pct_change().iloc[1:].rename("returns")

    @property
    def weights(self) -> pd.DataFrame:
        """Position value / total stock-book equity at each close, date × symbol."""
        return self._table("weights.parquet")

    @property
    def trades(self) -> pd.DataFrame:
        """One row per fill: session, decided, symbol, side, shares, price, notional, fees."""
        return self._table("trades.parquet")

    @property
    def rules(self) -> pd.DataFrame | None:
        """Rule-activity log (session, symbol, rule, before, after, reason); None for a baseline strategy."""
        return self._table(contract.RULES)

    @property
    def hedges(self) -> pd.DataFrame | None:
        """One row per option leg and session held (hedges.parquet columns); None without hedges."""
        return self._table(contract.HEDGES)

    def _repr_html_(self) -> str:
        metrics = self.metrics
        cells = "".join(f"<tr><td>{label}</td><td style='text-align:right'>"
                        f"{'—' if metrics.get(key) is None else fmt.format(metrics[key])}</td></tr>"
                        for label, key, fmt in REPR_METRICS)
        synthetic = " <b style='color:#b00'>SYNTHETIC SAMPLE DATA</b>" if self._synthetic else ""
        return (f"<div><b>{html.escape(self.config.name)}</b>: {metrics['start']} → {metrics['end']}, "
                f"{metrics['sessions']} sessions{synthetic}<table>{cells}</table></div>")

    def __repr__(self) -> str:
        m = self.metrics
        return (f"<{type(self).__name__} {self.config.name} {m['start']}→{m['end']}: "
                f"total return {m['total_return']:+.1%}, Sharpe {m['sharpe'] if m['sharpe'] is None else round(m['sharpe'], 2)}>")

    @property
    @abstractmethod
    def _synthetic(self) -> bool:
        """Whether the run read the synthetic sample."""


class Result(_Tables):
    """One backtest, in memory. Returned by ``rulebook.run``; nothing is on disk until ``save``.

    ``metrics`` is the dict written to metrics.json; ``equity``, ``weights``, ``trades``, ``rules``
    and ``hedges`` are the frames of the run folder; ``portfolio`` is the stock book as a vectorbt
    Portfolio; ``backtest`` the engine's full result (targets, both books, the Dataset).
    """

    def __init__(self, backtest: BacktestResult, *, wall_seconds: float = 0.0):
        self.backtest = backtest
        self.wall_seconds = wall_seconds

    @property
    def config(self) -> RunConfig:
        """The resolved config that ran (every default filled in)."""
        return self.backtest.config

    @property
    def data(self) -> Dataset:
        """The dataset the run read."""
        return self.backtest.data

    @property
    def metrics(self) -> dict:
        """Metrics of total equity (engine.analysis.metrics documents each key and unit)."""
        return self.backtest.metrics

    @cached_property
    def _tables(self) -> dict[str, pd.DataFrame]:
        return contract.run_tables(self.backtest)

    def _table(self, name: str) -> pd.DataFrame | None:
        return self._tables.get(name)

    @property
    def _synthetic(self) -> bool:
        return self.data.synthetic

    @cached_property
    def portfolio(self) -> vbt.Portfolio:
        """The STOCK BOOK as a vectorbt Portfolio (one group, shared cash), rebuilt from the order
        records, annualised on the exchange calendar (its ``sharpe_ratio()`` and ``stats()`` use the
        calendar's sessions per year, like ``metrics``).

        It leaves out the option hedges: its ``value()`` is ``equity["equity"]`` minus
        ``hedge_value`` and ``hedge_cash``; without hedges it is total equity. Its ``returns()``
        start one session earlier than ``returns`` (a 0 on the first session, against the initial
        cash), so its ``sharpe_ratio()`` differs slightly from ``metrics["sharpe"]``; on
        ``returns()[1:]`` (and ``risk_free`` 0) the two agree."""
        from engine.data.calendar import sessions_per_year

        sessions = self.data.sessions
        ppy = sessions_per_year(self.config.data.calendar, sessions[0], sessions[-1])
        return self.backtest.strategy.portfolio(ppy)

    def save(self, folder: Path | str | None = None, *, reports: Sequence[str] | None = None,
             event_study: bool | EventStudyResult | None = None, also: Sequence[Analysis] = ()) -> Path:
        """Write the run folder (the same files as `rulebook run`) and return its path.

        Everything is written into a temporary sibling and renamed into place at the end, so the
        folder is complete or absent. ``folder`` defaults to a fresh reports/<name>-<UTC time>; an
        existing folder is never overwritten. ``reports``: formats to include ("html", "pdf"); default the
        config's ``report`` block. ``event_study``: include the event-study files (True, or a study
        already made with ``rulebook.event_study(result)``); default the config's
        ``event_study.enabled``. ``also``: more analyses to add (``rulebook.scenarios(result)``).
        Everything is computed before the folder is created."""
        config = self.config
        formats = list(config.report.formats if config.report.enabled else []) if reports is None else list(reports)
        if event_study is None:
            event_study = config.event_study.enabled
        if event_study is True:
            from engine.analysis.event_run import run_event_study

            event_study = run_event_study(config, self.equity, self.data)
        from engine.run.files import write_tables

        extras = [lambda tmp, tables=analysis.tables: write_tables(tmp, tables)
                  for analysis in ([event_study] if event_study else []) + list(also)]
        if formats:
            from engine.report.write import write_reports

            extras.append(lambda tmp: write_reports(tmp, formats))
        return contract.save_run(self.backtest, Path(folder) if folder is not None else None,
                                 wall_seconds=self.wall_seconds, extras=extras)

    def report(self, folder: Path | str | None = None, formats: Sequence[str] = ("html", "pdf"),
               page_size: str | None = None) -> list[Path]:
        """Write this run's reports and return their paths: into ``folder`` if it already holds
        this run's folder (replaced as a set), else by saving the run folder there
        (default reports/<name>-<UTC time>) with the reports in it."""
        from engine.report.write import FILE_NAMES, rewrite_reports

        if folder is not None and contract.is_run_folder(Path(folder)):
            rewrite_reports(Path(folder), list(formats), page_size)
            return [Path(folder) / FILE_NAMES[name] for name in formats]
        saved = self.save(folder, reports=formats)
        return [saved / FILE_NAMES[name] for name in formats]


class SavedRun(_Tables):
    """A run folder read back (``rulebook.open_run``): the tables of a ``Result``, from disk."""

    def __init__(self, files: contract.RunFolder):
        self.files = files

    @classmethod
    def read(cls, folder: Path) -> "SavedRun":
        """Read a run folder through the contract's reader (a missing file or column raises DataError)."""
        return cls(contract.RunFolder.read(folder))

    @property
    def path(self) -> Path:
        """The run folder."""
        return self.files.path

    @cached_property
    def config(self) -> RunConfig:
        """The run's resolved config, validated from config.yaml (as the run-folder reader read it)."""
        from engine.config.run_config import validate_raw
        from engine.run.files import path_of

        where = path_of(self.path, "config.yaml")
        return validate_raw(self.files.config, where, where)

    @property
    def metrics(self) -> dict:
        """metrics.json."""
        return self.files.metrics

    @property
    def manifest(self) -> dict:
        """manifest.json: provenance (data fingerprint, versions, wall time)."""
        return self.files.manifest

    def report(self, formats: Sequence[str] = ("html", "pdf"), page_size: str | None = None) -> list[Path]:
        """(Re)write report.html / report.pdf in this run folder from its files, as a set (both or neither)."""
        from engine.report.write import FILE_NAMES, rewrite_reports

        rewrite_reports(self.path, list(formats), page_size)
        return [self.path / FILE_NAMES[name] for name in formats]

    def _table(self, name: str) -> pd.DataFrame | None:
        if name == "equity.parquet":
            return self.files.equity
        if name == "weights.parquet":
            return self.files.weights
        if name == "trades.parquet":
            return self.files.trades
        return self.files.optional.get(name.removesuffix(".parquet"))

    @property
    def _synthetic(self) -> bool:
        return bool(self.files.manifest.get("data", {}).get("synthetic"))
