"""Aggregates of event rows: means, medians, t-statistics, bootstrap intervals, overlap and clusters.

Events are not independent: five tickers on the DeepSeek session all carry the same market
move, and a stock with two announcements a week apart is counted twice in overlapping windows.
So every row is flagged (``overlap``: another event of the same symbol/book within one window
length) and put in a cluster, its ``session_date``. Next to the naive statistics (rows as
independent draws) each summary gives clustering-robust ones: the rows of a cluster are
averaged first and the t-statistic and bootstrap run over cluster means.

Bootstrap intervals are percentile intervals of the mean from ``n_boot`` resamples drawn with
a fixed ``seed``, so the same rows give the same interval on every run.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from functools import lru_cache

import numpy as np
import pandas as pd

CI_LEVEL = 0.95
SUMMARY_METRICS = ("car", "cum_return", "day0_return", "post_return", "drawdown")
BOOK_METRICS = ("cum_return", "day0_return", "post_return", "drawdown")
PATH_MEASURES = ("car", "cum_return")
CAR_COLUMNS = ["by", "key", "measure", "offset", "n", "mean", "median", "lower", "upper"]


def t_stat(values: np.ndarray) -> float:
    """mean / (sd / sqrt(n)) of the finite values; NaN with fewer than two or no spread."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) < 2:
        return np.nan
    sd = values.std(ddof=1)
    return float(values.mean() / (sd / np.sqrt(len(values)))) if sd > 0 else np.nan


def bootstrap_mean_ci(values: np.ndarray, n_boot: int, seed: int, level: float = CI_LEVEL) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of the mean of each column of ``values`` (rows = observations).

    NaN cells (a path cut by the end of the data) are left out of that column's mean; a column
    with fewer than two observations has no interval (NaN): one value resampled is only itself.
    Resampling rows is drawing multinomial counts, so all columns share the same draws.
    """
    matrix = np.asarray(values, dtype=float)
    matrix = matrix[:, None] if matrix.ndim == 1 else matrix
    n = len(matrix)
    if n == 0:
        nan = np.full(matrix.shape[1], np.nan)
        return nan, nan.copy()
    counts = _resample_counts(n, n_boot, seed)
    valid = np.isfinite(matrix)
    tail = (1.0 - level) / 2.0
    with np.errstate(invalid="ignore", divide="ignore"), _no_empty_slice_warnings():
        means = (counts @ np.where(valid, matrix, 0.0)) / (counts @ valid)
        lower, upper = column_nanquantiles(means, [tail, 1.0 - tail])
    too_few = valid.sum(axis=0) < 2
    lower[too_few] = upper[too_few] = np.nan
    return lower, upper


def column_nanquantiles(samples: np.ndarray, q: list[float]) -> np.ndarray:
    """``np.nanquantile(samples, q, axis=0)``, the same numbers: np.quantile on the columns without NaN
    (nanquantile loops over the columns in Python, which made it most of an event study's time)."""
    has_nan = np.isnan(samples).any(axis=0)
    out = np.empty((len(q), samples.shape[1]))
    out[:, ~has_nan] = np.quantile(samples[:, ~has_nan], q, axis=0)
    if has_nan.any():
        out[:, has_nan] = np.nanquantile(samples[:, has_nan], q, axis=0)
    return out


@lru_cache(maxsize=64)
def _resample_counts(n: int, n_boot: int, seed: int) -> np.ndarray:
    """How often each of n rows is drawn in each resample; cached: every metric of a group shares them."""
    counts = np.random.default_rng(seed).multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float)
    counts.flags.writeable = False
    return counts


def flag_overlaps(rows: pd.DataFrame, sessions: pd.DatetimeIndex, span: int, key: str) -> pd.DataFrame:
    """Add ``overlap`` (another event of the same ``key`` whose window intersects) and ``cluster``."""
    position = pd.Series(sessions.get_indexer(pd.DatetimeIndex(rows["session_date"])), index=rows.index)
    overlap = pd.Series(False, index=rows.index)
    for _, members in position.groupby(rows[key]):
        ordered = members.sort_values()
        gaps = ordered.diff().to_numpy()
        close = gaps[1:] <= span
        flagged = np.zeros(len(ordered), dtype=bool)
        flagged[1:] |= close
        flagged[:-1] |= close
        overlap[ordered.index] = flagged
    return rows.assign(overlap=overlap.to_numpy(), cluster=rows["session_date"].dt.strftime("%Y-%m-%d"))


def summarise(rows: pd.DataFrame, by: dict[str, pd.DataFrame], metrics: tuple[str, ...],
              n_boot: int, seed: int) -> pd.DataFrame:
    """One row per (by, key, metric): n, mean, median, sd, naive and clustered t and bootstrap CI.

    ``by`` maps a grouping name ('all', 'kind', 'group', ...) to the rows it covers; each
    is grouped by the column of that name ('all' groups nothing).
    """
    out = []
    for name, subset in by.items():
        for key, members in _groups(subset, name):
            for metric in metrics:
                out.append({"by": name, "key": key, "metric": metric,
                            **_statistics(members, metric, n_boot, seed)})
    return pd.DataFrame(out)


def car_table(rows: pd.DataFrame, paths: pd.DataFrame, by: dict[str, pd.DataFrame], measures: tuple[str, ...],
              n_boot: int, seed: int) -> pd.DataFrame:
    """Tidy mean paths by offset with bootstrap bands: by, key, measure, offset, n, mean, median, lower, upper."""
    labels, columns = [], {name: [] for name in CAR_COLUMNS[3:]}
    for measure in measures:
        wide = paths.pivot(index="row_id", columns="offset", values=measure)
        for name, subset in by.items():
            for key, members in _groups(subset, name):
                matrix = wide.loc[members.index].to_numpy(float)
                if not np.isfinite(matrix).any():
                    continue
                lower, upper = bootstrap_mean_ci(matrix, n_boot, seed)
                with _no_empty_slice_warnings():
                    values = (wide.columns.to_numpy(), np.isfinite(matrix).sum(axis=0), np.nanmean(matrix, axis=0),
                              np.nanmedian(matrix, axis=0), lower, upper)
                labels.append((name, key, measure, matrix.shape[1]))
                for column, value in zip(CAR_COLUMNS[3:], values):
                    columns[column].append(value)
    if not labels:
        return pd.DataFrame(columns=CAR_COLUMNS)
    lengths = [length for *_, length in labels]
    frame = {column: np.repeat(np.array([label[i] for label in labels], dtype=object), lengths)
             for i, column in enumerate(CAR_COLUMNS[:3])}
    return pd.DataFrame(frame | {column: np.concatenate(parts) for column, parts in columns.items()})


def event_coverage(books: pd.DataFrame | None, rows: pd.DataFrame | None) -> pd.DataFrame:
    """One row per measured event (on a book or on any symbol): event_id, kind, session_date, symbols
    (the tickers it names; NaN when the files predate that column) and ``with_stock``: whether an
    involved stock was priced over its window, i.e. whether the price reaction counts it."""
    frames = [frame for frame in (books, rows) if frame is not None and len(frame)]
    if not frames:
        return pd.DataFrame(columns=["event_id", "kind", "session_date", "symbols", "with_stock"])
    events = pd.concat([frame.reindex(columns=["event_id", "kind", "session_date", "symbols"]) for frame in frames])
    events = events.drop_duplicates("event_id").sort_values("event_id")
    if any("symbols" in frame.columns for frame in frames):
        events["symbols"] = events["symbols"].fillna("")
    involved = rows[rows["role"] == "involved"] if rows is not None and "role" in rows.columns else rows
    measured = set(involved["event_id"]) if involved is not None and len(involved) else set()
    return events.assign(kind=events["kind"].astype(str), with_stock=events["event_id"].isin(measured)
                         ).reset_index(drop=True)


@contextmanager
def one_blas_thread():
    """The bootstrap's products are small (2,000 resamples x tens of rows): threaded, OpenBLAS spends more
    time waking its threads and waiting for them than multiplying (the column's study: 0.5-1.0 s CPU with
    two threads, 0.31 s with one; worse on a busy machine). The same numbers (tests/test_event_stats.py)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        yield


@contextmanager
def _no_empty_slice_warnings():
    """Offsets past the end of the data have no rows: their NaN mean is the answer, not a problem."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Mean of empty slice|All-NaN slice", RuntimeWarning)
        yield


def _groups(rows: pd.DataFrame, name: str):
    if name == "all":
        return [("all", rows)] if len(rows) else []
    return [(str(key), members) for key, members in rows.groupby(name, sort=True)]


def _statistics(rows: pd.DataFrame, metric: str, n_boot: int, seed: int) -> dict:
    values = rows[metric].to_numpy(float)
    finite = np.isfinite(values)
    values = values[finite]
    clusters = pd.Series(values).groupby(rows["cluster"].to_numpy()[finite]).mean().to_numpy(float)
    lower, upper = bootstrap_mean_ci(values, n_boot, seed)
    lower_c, upper_c = bootstrap_mean_ci(clusters, n_boot, seed)
    return {
        "n": len(values), "n_events": len(np.unique(rows["event_id"].to_numpy()[finite])), "n_clusters": len(clusters),
        "mean": values.mean() if len(values) else np.nan,
        "median": float(np.median(values)) if len(values) else np.nan,
        "sd": values.std(ddof=1) if len(values) > 1 else np.nan,
        "t_stat": t_stat(values), "ci_lower": lower[0], "ci_upper": upper[0],
        "t_stat_clustered": t_stat(clusters), "ci_lower_clustered": lower_c[0], "ci_upper_clustered": upper_c[0],
        "overlap_share": float(rows["overlap"].to_numpy(float)[finite].mean()) if len(values) else np.nan,
    }
