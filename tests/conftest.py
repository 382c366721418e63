"""Shared test fixtures: where the real market data lives (tests skip without it)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("RULEBOOK_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data folder (../shared/data); skips the test when it is absent."""
    if not (SHARED_DATA / "raw").is_dir():
        pytest.skip(f"real market data not found at {SHARED_DATA}")
    return SHARED_DATA
