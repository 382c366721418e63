"""Aggregate statistics of event rows: t-statistics, bootstrap intervals, overlaps and clusters by hand."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.data.calendar import get_sessions
from engine.analysis.event_stats import (bootstrap_mean_ci, car_table, column_nanquantiles, flag_overlaps, summarise,
                                         one_blas_thread, t_stat)

SESSIONS = get_sessions("2025-01-02", "2025-06-30")


def test_t_stat_by_hand():
    # mean 2.5, sd sqrt(5/3), n 4: t = 2.5 / (1.2910 / 2)
    assert t_stat(np.array([1.0, 2.0, 3.0, 4.0])) == pytest.approx(2.5 / (np.sqrt(5 / 3) / 2))
    assert t_stat(np.array([1.0, np.nan, 3.0])) == pytest.approx(2.0 / (np.sqrt(2) / np.sqrt(2)))
    assert np.isnan(t_stat(np.array([0.3, 0.3, 0.3]))) and np.isnan(t_stat(np.array([1.0])))


def test_bootstrap_of_two_points_spans_them_and_a_constant_has_no_width():
    # resampled means of [0, 1] are 0, 0.5, 1 with probabilities 1/4, 1/2, 1/4: the 95 % interval is [0, 1]
    lower, upper = bootstrap_mean_ci(np.array([0.0, 1.0]), 2000, seed=1)
    assert (lower[0], upper[0]) == (0.0, 1.0)
    lower, upper = bootstrap_mean_ci(np.array([0.0, 1.0]), 2000, seed=1, level=0.4)
    assert (lower[0], upper[0]) == (0.5, 0.5)
    lower, upper = bootstrap_mean_ci(np.full(7, -0.03), 500, seed=3)
    assert lower[0] == pytest.approx(-0.03) and upper[0] == pytest.approx(-0.03)


def test_bootstrap_is_reproducible_with_its_seed_and_close_to_the_normal_interval():
    values = np.random.default_rng(0).normal(0.01, 0.05, 400)
    first, again, other = (bootstrap_mean_ci(values, 2000, seed) for seed in (5, 5, 6))
    assert first[0][0] == again[0][0] and first[1][0] == again[1][0] and first[0][0] != other[0][0]
    half_width = 1.96 * values.std(ddof=1) / np.sqrt(len(values))
    assert first[0][0] == pytest.approx(values.mean() - half_width, abs=0.1 * half_width)
    assert first[1][0] == pytest.approx(values.mean() + half_width, abs=0.1 * half_width)


def test_bootstrap_columns_ignore_missing_cells():
    matrix = np.array([[1.0, 5.0], [1.0, np.nan], [1.0, 5.0]])
    lower, upper = bootstrap_mean_ci(matrix, 300, seed=0)
    assert list(lower) == [1.0, 5.0] and list(upper) == [1.0, 5.0]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-1, 1), min_size=2, max_size=30))
def test_bootstrap_interval_lies_within_the_data(values):
    lower, upper = bootstrap_mean_ci(np.array(values), 200, seed=0)
    assert min(values) - 1e-12 <= lower[0] <= upper[0] <= max(values) + 1e-12


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(1, 6), st.floats(0, 1), st.integers(0, 2**31))
def test_column_quantiles_are_numpys_nanquantile_bit_for_bit(n_rows, n_columns, nan_share, seed):
    # the fast path (np.quantile where a column has no NaN) must give the very numbers nanquantile gives
    rng = np.random.default_rng(seed)
    samples = rng.normal(size=(n_rows, n_columns))
    samples[rng.random(samples.shape) < nan_share] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column: its quantiles are NaN
        expected = np.nanquantile(samples, [0.025, 0.975], axis=0)
        got = column_nanquantiles(samples, [0.025, 0.975])
    np.testing.assert_array_equal(got, expected)


def rows(entries) -> pd.DataFrame:
    """Event rows from (event_id, symbol, session index, kind, car)."""
    frame = pd.DataFrame(entries, columns=["event_id", "symbol", "at", "kind", "car"])
    return frame.assign(session_date=SESSIONS[frame.pop("at").to_numpy()])


def test_overlapping_windows_of_the_same_symbol_are_flagged():
    frame = rows([(0, "NVDA", 10, "deal", 0.0), (1, "NVDA", 40, "deal", 0.0), (2, "NVDA", 70, "deal", 0.0),
                  (3, "AMD", 41, "deal", 0.0), (4, "NVDA", 100, "deal", 0.0)])
    flagged = flag_overlaps(frame, SESSIONS, span=30, key="symbol").set_index("event_id")
    # NVDA 10-40-70 are exactly one window length (30 sessions) apart: a chain of overlaps; 100 is 30 after 70
    assert flagged["overlap"].to_dict() == {0: True, 1: True, 2: True, 3: False, 4: True}
    flagged = flag_overlaps(frame, SESSIONS, span=29, key="symbol").set_index("event_id")
    assert not flagged["overlap"].any()
    assert flagged.loc[1, "cluster"] == f"{SESSIONS[40]:%Y-%m-%d}"


def test_clustered_statistics_average_each_session_first():
    # clusters: day 5 -> [1, 3] (mean 2), day 20 -> [2], day 60 -> [6]; cluster means 2, 2, 6
    frame = rows([(0, "A", 5, "shock", 1.0), (1, "B", 5, "shock", 3.0), (2, "A", 20, "shock", 2.0),
                  (3, "C", 60, "shock", 6.0)])
    frame = flag_overlaps(frame, SESSIONS, span=30, key="symbol")
    line = summarise(frame, {"kind": frame}, ("car",), 500, 0).iloc[0]
    assert (line["by"], line["key"], line["n"], line["n_events"], line["n_clusters"]) == ("kind", "shock", 4, 4, 3)
    assert line["mean"] == pytest.approx(3.0) and line["median"] == pytest.approx(2.5)
    assert line["t_stat"] == pytest.approx(t_stat(np.array([1.0, 3.0, 2.0, 6.0])))
    assert line["t_stat_clustered"] == pytest.approx((10 / 3) / (np.std([2, 2, 6], ddof=1) / np.sqrt(3)))
    assert line["overlap_share"] == pytest.approx(0.5)  # A's two events are 15 sessions apart


def test_car_table_averages_paths_by_offset_and_counts_rows():
    frame = rows([(0, "A", 5, "deal", 0.0), (1, "B", 50, "deal", 0.0), (2, "C", 90, "policy", 0.0)])
    paths = pd.DataFrame({"row_id": [0, 0, 1, 1, 2, 2], "offset": [0, 1] * 3,
                          "car": [0.01, 0.03, 0.03, np.nan, -0.02, -0.05]})
    table = car_table(frame, paths, {"kind": frame}, ("car",), 300, 0).set_index(["key", "offset"])
    assert table.loc[("deal", 0), "mean"] == pytest.approx(0.02) and table.loc[("deal", 0), "n"] == 2
    assert table.loc[("deal", 1), "mean"] == pytest.approx(0.03) and table.loc[("deal", 1), "n"] == 1
    assert table.loc[("deal", 0), "lower"] == pytest.approx(0.01) and table.loc[("deal", 0), "upper"] == pytest.approx(0.03)
    assert table.loc[("policy", 1), "mean"] == pytest.approx(-0.05)


def test_one_observation_has_no_interval_rather_than_a_point():
    lower, upper = bootstrap_mean_ci(np.array([0.207]), 500, seed=0)
    assert np.isnan(lower[0]) and np.isnan(upper[0])
    lower, upper = bootstrap_mean_ci(np.array([[0.1, 0.2], [0.3, np.nan]]), 500, seed=0)  # column 2: one value
    assert np.isfinite(lower[0]) and np.isnan(lower[1]) and np.isnan(upper[1])


def test_car_table_equals_a_plain_per_group_reference():
    # the table is built once from arrays: the same numbers and dtypes as one frame per group, concatenated,
    # with a bootstrap written here from its definition (multinomial row counts, np.nanquantile); to 1e-12,
    # as a matrix product's last bit depends on the operands' memory order
    rng = np.random.default_rng(4)
    frame = rows([(k, f"S{k % 5}", 3 * k + 2, ["deal", "policy", "shock"][k % 3], 0.0) for k in range(24)])
    offsets = np.arange(-3, 6)
    car = rng.normal(0, 0.02, (len(frame), len(offsets)))
    car[rng.random(car.shape) < 0.15] = np.nan
    car[2] = np.nan  # a row with no path at all
    paths = pd.DataFrame({"row_id": np.repeat(frame.index, len(offsets)), "offset": np.tile(offsets, len(frame)),
                          "car": car.ravel()})
    by = {"all": frame, "kind": frame}
    expected = []
    for name, subset in by.items():
        for key, members in ([("all", subset)] if name == "all" else subset.groupby(name, sort=True)):
            matrix = car[members.index]
            valid = np.isfinite(matrix)
            counts = np.random.default_rng(7).multinomial(len(matrix), np.full(len(matrix), 1 / len(matrix)), 400).astype(float)
            with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                means = (counts @ np.where(valid, matrix, 0.0)) / (counts @ valid)
                lower, upper = np.nanquantile(means, [0.025, 0.975], axis=0)
                mean, median = np.nanmean(matrix, axis=0), np.nanmedian(matrix, axis=0)
            lower[valid.sum(axis=0) < 2] = upper[valid.sum(axis=0) < 2] = np.nan
            expected.append(pd.DataFrame({"by": name, "key": str(key), "measure": "car", "offset": offsets,
                                          "n": valid.sum(axis=0), "mean": mean, "median": median,
                                          "lower": lower, "upper": upper}))
    pd.testing.assert_frame_equal(car_table(frame, paths, by, ("car",), 400, 7),
                                  pd.concat(expected, ignore_index=True), check_exact=False, rtol=1e-12)


@pytest.mark.parametrize("shape", [(7,), (54, 31), (400, 61)])
def test_one_blas_thread_gives_the_threaded_numbers_bit_for_bit(shape):
    """run_event_study computes its bootstraps with one BLAS thread (faster: small products); the intervals
    must be those of the default thread pool, to the bit."""
    matrix = np.random.default_rng(3).normal(0.001, 0.03, shape)
    matrix[matrix > 0.05] = np.nan  # some paths cut short
    threaded = bootstrap_mean_ci(matrix, 2000, 0)
    with one_blas_thread():
        single = bootstrap_mean_ci(matrix, 2000, 0)
    for a, b in zip(threaded, single):
        np.testing.assert_array_equal(a, b)
        assert np.isfinite(a).any()
