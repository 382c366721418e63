"""The sweep's per-process caches are keyed by the data's fingerprint: an edited file is reloaded."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from engine.config.run_config import SAMPLE_DATA_DIR, config_from
from engine.sweep import compare


@pytest.fixture()
def data_copy(tmp_path):
    folder = tmp_path / "data"
    shutil.copytree(SAMPLE_DATA_DIR, folder)
    compare.clear_caches()
    yield folder
    compare.clear_caches()


def edit_prices(folder, factor: float) -> None:
    prices = pd.read_parquet(folder / "prices.parquet")
    nvda = prices["symbol"] == "NVDA"
    for column in ("open", "high", "low", "close", "adj_close"):
        prices.loc[nvda, column] *= factor
    prices.to_parquet(folder / "prices.parquet", index=False)


def config_on(folder):
    return config_from({"name": "cache", "data": {"dir": str(folder)}, "period": {"start": "2025-01-02"},
                        "universe": {"symbols": ["NVDA", "MSFT"]}, "strategy": {"kind": "buy_and_hold"}})


def test_an_edited_data_file_is_reloaded_not_served_from_the_cache(data_copy):
    config = config_on(data_copy)
    before = compare.dataset(config).close["NVDA"].copy()
    assert compare.dataset(config) is compare.dataset(config), "unchanged files: one load per process"
    edit_prices(data_copy, 2.0)
    after = compare.dataset(config).close["NVDA"]
    pd.testing.assert_series_equal(after, before * 2.0)


def test_without_the_fingerprint_the_cache_would_serve_stale_prices(data_copy, monkeypatch):
    """The guard's fault: a key without the fingerprint returns the old dataset after the edit."""
    monkeypatch.setattr(compare, "data_fingerprint", lambda folder: "same")
    config = config_on(data_copy)
    before = compare.dataset(config).close["NVDA"].copy()
    edit_prices(data_copy, 2.0)
    pd.testing.assert_series_equal(compare.dataset(config).close["NVDA"], before)


def test_the_fingerprint_is_the_manifests(data_copy):
    from engine.data.loader import dataset_files, fingerprint

    assert compare.data_fingerprint(data_copy) == fingerprint(dataset_files(data_copy))

