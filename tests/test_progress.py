"""The progress bar's rate column and the peak memory a long command prints."""

from __future__ import annotations

import numpy as np
from rich.progress import Progress

from engine.cli.progress import RateColumn, peak_memory_gb


def test_rate_column_shows_items_per_second_once_items_are_done():
    now = [0.0]
    with Progress(RateColumn(), get_time=lambda: now[0], auto_refresh=False, disable=True) as progress:
        task = progress.add_task("variants", total=1000)
        assert str(RateColumn().render(progress.tasks[task])) == ""
        for _ in range(4):
            now[0] += 0.5
            progress.advance(task, 60)
        assert str(RateColumn().render(progress.tasks[task])) == "120 variants/s"


def test_peak_memory_counts_what_the_process_held():
    before = peak_memory_gb()
    block = np.ones(int(before * 1e9 / 8) + 40_000_000)  # more than the peak so far, plus 320 MB
    assert peak_memory_gb() >= block.nbytes / 1e9
