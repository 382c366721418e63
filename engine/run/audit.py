"""The look-ahead audit: redraw the future after a cutoff and check that nothing decided before it moved.

For each cutoff T and each perturbation of engine.analysis.perturb, the config is run again on
the perturbed data and compared with the original run. Everything decided at or before the close
of T must be unchanged:

- decisions: the target rows of sessions <= T, the rule-activity log of sessions <= T (the
  stateful rules' rows of T+1 too: they are decided on the close of T);
- orders decided at T: name, side and share count (with ``size_at: fill`` only where the fill
  price is kept, since such orders are sized at the fill);
- fills, cash, shares and equity (the book and the benchmark) up to the close of T, and with
  ``same_session`` and ``fill: next_open`` every fill at the open of T+1, exactly;
- hedges: every leg row up to T, and the terms (strike, expiry, contracts) of packages decided <= T;
- the event study's strategy windows that end by T; the scenario betas estimated as of T.

Numbers compare to 1e-12 relative (an honest run reproduces them bit for bit; the slack only
absorbs summation order). The first thing that moved is named, so a user can find the rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.analysis.event_study import Windows, study_books
from engine.analysis.perturb import PERTURBATIONS, perturbed
from engine.analysis.scenarios import estimate_betas
from engine.config.run_config import RunConfig
from engine.data.dataset import Dataset
from engine.run.backtest import BacktestResult, run_backtest
from strategies.registry import kernel_layout

RTOL = 1e-12
BETA_WINDOW = 63
HEDGE_TERMS = ["hedge", "package", "leg", "decided", "underlying", "right", "strike", "expiry", "contracts"]
LABELS = ("symbol", "side", "rule", "hedge", "leg", "kind", "title")  # what names a row in a report
KINDS = ("decision", "order", "fill", "book", "hedge", "event window", "beta")  # tie order for "first"


@dataclass(frozen=True)
class Moved:
    """The first thing that moved: its kind, session, and what changed (before → after)."""

    kind: str
    session: pd.Timestamp
    detail: str

    def __str__(self) -> str:
        return f"{self.kind} on {self.session:%Y-%m-%d} moved: {self.detail}"


@dataclass(frozen=True)
class CutoffCheck:
    cutoff: pd.Timestamp
    perturbation: str
    moved: Moved | None  # None = clean

    @property
    def clean(self) -> bool:
        return self.moved is None


Runner = Callable[[RunConfig, Dataset], BacktestResult]


def audit(config: RunConfig, data: Dataset, cutoffs: int | list[pd.Timestamp] = 3, *, seed: int = 0,
          run: Runner = run_backtest) -> list[CutoffCheck]:
    """Run ``config`` on ``data`` and on both perturbations at each cutoff; one check per pair.
    ``cutoffs`` is a count (spread over the decision sessions) or explicit sessions."""
    base = run(config, data)
    chosen = choose_cutoffs(base, cutoffs) if isinstance(cutoffs, int) else [pd.Timestamp(c) for c in cutoffs]
    checks = []
    for k, cutoff in enumerate(chosen):
        for j, kind in enumerate(PERTURBATIONS):
            other = run(config, perturbed(data, cutoff, kind, seed=seed * 1009 + k * 2 + j))
            checks.append(CutoffCheck(cutoff, kind, first_moved(base, other, cutoff, kind)))
    return checks


def choose_cutoffs(result: BacktestResult, count: int) -> list[pd.Timestamp]:
    """``count`` sessions spread evenly over the run's decision sessions (never the last session).
    Where the dataset has filings, every other cutoff is the last session before a filing becomes
    known (the filing day), where a rule reading filings early would bite."""
    if count < 1:
        raise ValueError(f"audit: cutoffs must be at least 1, got {count}")
    sessions = result.data.sessions[:-1]
    decided = sessions[result.targets.notna().any(axis=1).reindex(sessions, fill_value=False).to_numpy()]
    spread = decided if len(decided) >= count else sessions
    picks = [spread[int(q * (len(spread) - 1))] for q in np.linspace(0.1, 0.9, count)]
    if len(decided) < count:  # a strategy that decides rarely (buy and hold): its decisions are the cutoffs
        picks[:len(decided)] = decided
    filings = result.data.fundamentals
    if len(filings):
        filed = filings.loc[filings["symbol"].isin(result.config.universe.symbols), "filed"].dt.normalize()
        filing_days = sessions[sessions.isin(filed)]
        for k in range(1, count, 2):
            if len(filing_days):
                picks[k] = filing_days[min(filing_days.searchsorted(picks[k]), len(filing_days) - 1)]
    return sorted(dict.fromkeys(picks))


def first_moved(base: BacktestResult, other: BacktestResult, cutoff: pd.Timestamp, kind: str) -> Moved | None:
    """The earliest difference between two runs in what was decided by ``cutoff`` (None = none)."""
    sessions = base.data.sessions
    after = sessions[sessions.get_loc(cutoff) + 1] if cutoff < sessions[-1] else None
    execution = base.config.execution
    fill_kept = kind == "same_session" and execution.fill == "next_open"
    found = [
        _frame_moved("decision", base.targets.loc[:cutoff], other.targets.loc[:cutoff]),
        _log_moved(base.activity, other.activity, cutoff,
                   after if fill_kept or execution.size_at == "decision" else None),
        _orders_moved(base, other, cutoff, after, fill_kept, execution.size_at == "decision"),
        _book_moved(base, other, cutoff),
        _hedges_moved(base, other, cutoff),
        _event_windows_moved(base, other, cutoff),
        _betas_moved(base, other, cutoff),
    ]
    found = [m for m in found if m is not None]
    return min(found, key=lambda m: (m.session if pd.notna(m.session) else pd.Timestamp.min,
                                     KINDS.index(m.kind))) if found else None


def _log_moved(base: pd.DataFrame | None, other: pd.DataFrame | None, cutoff, after) -> Moved | None:
    """Rule-log rows decided by the cutoff: the stateful rules' rows of ``after`` (the fill session)
    too, when they are worked out from the cutoff's close (``after`` None: they are not)."""
    if base is None or other is None:
        return None

    def decided(log: pd.DataFrame) -> pd.DataFrame:
        kernel = log["rule"].isin({code.rule for code in kernel_layout().codes})  # what the compiled rules log
        limit = np.where(kernel, after if after is not None else cutoff, cutoff)
        return log[(log["session"] <= limit).to_numpy()].reset_index(drop=True)

    return _rows_moved("decision", decided(base), decided(other), "session")


def _orders_moved(base, other, cutoff, after, fill_kept, sized_at_decision) -> Moved | None:
    a, b = _orders(base.strategy), _orders(other.strategy)
    done = _rows_moved("fill", a[a.session <= cutoff], b[b.session <= cutoff], "session")
    if done is not None or after is None:
        return done
    # the same orders may execute in another sequence (sells first, then by order value at the fill)
    next_a, next_b = (o[o.session == after].sort_values(["side", "symbol"], kind="stable") for o in (a, b))
    if fill_kept:
        return _rows_moved("fill", next_a.drop(columns="ordered"), next_b.drop(columns="ordered"), "session")
    if sized_at_decision:
        keys = ["session", "decided", "symbol", "side", "ordered"]
        return _rows_moved("order", next_a[keys], next_b[keys], "decided")
    return None


def _orders(result) -> pd.DataFrame:
    return result.orders.assign(ordered=result.ordered_shares)


def _book_moved(base, other, cutoff) -> Moved | None:
    books = [("equity", base.strategy.equity, other.strategy.equity), ("cash", base.strategy.cash, other.strategy.cash)]
    if base.benchmark is not None and other.benchmark is not None:
        books.append(("benchmark equity", base.benchmark.equity, other.benchmark.equity))
    for name, a, b in books:
        moved = _frame_moved("book", a.loc[:cutoff].to_frame(name), b.loc[:cutoff].to_frame(name))
        if moved is not None:
            return moved
    return _frame_moved("book", base.strategy.positions.loc[:cutoff], other.strategy.positions.loc[:cutoff])


def _hedges_moved(base, other, cutoff) -> Moved | None:
    if base.hedges is None or other.hedges is None:
        return None
    a, b = base.hedges.legs, other.hedges.legs
    held = _rows_moved("hedge", a[a.date <= cutoff], b[b.date <= cutoff], "date")
    if held is not None:
        return held
    terms_a = a.loc[a.decided <= cutoff, HEDGE_TERMS].drop_duplicates().reset_index(drop=True)
    terms_b = b.loc[b.decided <= cutoff, HEDGE_TERMS].drop_duplicates().reset_index(drop=True)
    return _rows_moved("hedge", terms_a, terms_b, "decided")


def _event_windows_moved(base, other, cutoff) -> Moved | None:
    events = base.data.events
    if not len(events):
        return None
    windows = Windows(pre=base.config.event_study.window[0], post=base.config.event_study.window[1])
    sessions = base.data.sessions
    ends = sessions.searchsorted(events["session_date"]) + windows.post
    numbered = events.reset_index(drop=True).rename_axis("event_id").reset_index()
    closed = numbered[(ends < sessions.get_loc(cutoff) + 1) & (events["session_date"] <= cutoff).to_numpy()]
    if not len(closed):
        return None
    a, b = (_in_window(study_books(run.equity.to_frame("strategy"), closed, windows).rows) for run in (base, other))
    return _rows_moved("event window", a, b, "session_date")


def _in_window(rows: pd.DataFrame) -> pd.DataFrame:
    """A window's statistics, without the recovery searched for after the window (ex post by design)."""
    if "recovered_in_window" not in rows:
        return rows
    after = ~rows["recovered_in_window"].astype(bool)
    return rows.assign(recovery_date=rows["recovery_date"].mask(after), sessions_to_recover=rows[
        "sessions_to_recover"].astype(float).mask(after))


def _betas_moved(base, other, cutoff) -> Moved | None:
    benchmark = base.config.benchmark
    if benchmark is None:
        return None
    a = estimate_betas(base.data.adjusted("close"), benchmark, cutoff, BETA_WINDOW)
    b = estimate_betas(other.data.adjusted("close"), benchmark, cutoff, BETA_WINDOW)
    return _frame_moved("beta", a.to_frame(cutoff).T, b.to_frame(cutoff).T)


def _frame_moved(kind: str, a: pd.DataFrame, b: pd.DataFrame) -> Moved | None:
    """First cell (row-major) where two session-indexed frames differ."""
    if not a.index.equals(b.index) or list(a.columns) != list(b.columns):
        return Moved(kind, a.index[-1] if len(a) else pd.NaT, "the rows or columns differ")
    differs = ~_close(a.to_numpy(), b.to_numpy())
    if not differs.any():
        return None
    row, col = np.argwhere(differs)[0]
    return Moved(kind, a.index[row], f"{a.columns[col]} {_show(a.iat[row, col])} → {_show(b.iat[row, col])}")


def _rows_moved(kind: str, a: pd.DataFrame, b: pd.DataFrame, when: str) -> Moved | None:
    """First row where two tables differ (a row only one of them has counts as moved)."""
    a, b = a.reset_index(drop=True), b.reset_index(drop=True)
    n = min(len(a), len(b))
    for column in a.columns:
        if column not in b.columns:
            return Moved(kind, a[when].iloc[0], f"column {column} is missing")
    same = np.ones(n, dtype=bool)
    for column in a.columns:
        same &= _close(a[column].to_numpy()[:n], b[column].to_numpy()[:n])
    if same.all() and len(a) == len(b):
        return None
    row = int(np.argmin(same)) if not same.all() else n
    source = a if row < len(a) else b
    where = pd.Timestamp(source[when].iloc[row])
    label = " ".join(_show(source[c].iloc[row]) for c in LABELS if c in source.columns)
    if row >= n:
        run = "only the original run" if len(a) > len(b) else "only the perturbed run"
        return Moved(kind, where, f"{label}: a row {run} has ({_describe(source.iloc[row])})")
    changed = [f"{c} {_show(a[c].iloc[row])} → {_show(b[c].iloc[row])}" for c in a.columns
               if not _close(a[c].to_numpy()[row:row + 1], b[c].to_numpy()[row:row + 1])[0]]
    return Moved(kind, where, f"{label}: " + ", ".join(changed))


def _close(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise equal (NaN equals NaN; numbers to RTOL relative)."""
    if a.dtype.kind in "fiu" and b.dtype.kind in "fiu":
        a, b = a.astype(float), b.astype(float)
        both_nan = np.isnan(a) & np.isnan(b)
        with np.errstate(invalid="ignore"):
            return both_nan | (a == b) | (np.abs(a - b) <= RTOL * np.maximum(np.abs(a), np.abs(b)))
    if a.shape != b.shape:
        return np.zeros(a.shape, dtype=bool)
    pairs = zip(a.ravel(), b.ravel())
    return np.array([x == y or (pd.isna(x) and pd.isna(y)) for x, y in pairs], dtype=bool).reshape(a.shape)


def _describe(row: pd.Series) -> str:
    return ", ".join(f"{key} {_show(value)}" for key, value in row.items())


def _show(value) -> str:
    if isinstance(value, pd.Timestamp):
        return f"{value:%Y-%m-%d}"
    if isinstance(value, (float, np.floating)):
        return f"{value:.6g}"
    return str(value)
