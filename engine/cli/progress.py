"""What a long command shows while it works: the rate of a progress bar, the memory it took."""

from __future__ import annotations

import math
import sys

from rich.progress import ProgressColumn, Task
from rich.text import Text


class RateColumn(ProgressColumn):
    """Items per second of a task (e.g. "135 variants/s"), blank until the first items are done."""

    def __init__(self, unit: str = "variants"):
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        if not task.speed:
            return Text("")
        return Text(f"{task.speed:,.0f} {self.unit}/s" if task.speed >= 10 else f"{task.speed:.1f} {self.unit}/s")


def peak_memory_gb() -> float:
    """Peak resident memory of this process so far, GB (ru_maxrss is KB on Linux, bytes on macOS)."""
    try:
        import resource
    except ImportError:  # Windows
        return math.nan
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1e9 if sys.platform == "darwin" else 1e6)
