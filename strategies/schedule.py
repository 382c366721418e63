"""Rebalance calendars: on which sessions a periodic strategy decides.

A periodic strategy decides at the close of the last session of each period, so
its orders fill at the next open, the first session of the new period. Period
ends come from the session index itself, so a month whose last calendar day is a
weekend or holiday decides on its last real session. The exchange calendar is
published in advance, so knowing that t is a period's last session is not
look-ahead.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np
import pandas as pd

Frequency = Literal["daily", "weekly", "monthly", "quarterly"]
FREQUENCIES: tuple[str, ...] = get_args(Frequency)

# Weeks run Monday to Sunday (ISO weeks), the default anchor of pandas' "W".
_PERIOD_CODES = {"weekly": "W-SUN", "monthly": "M", "quarterly": "Q"}


def check_frequency(frequency: str) -> None:
    """Reject a frequency this module cannot schedule, listing the ones it can."""
    if frequency not in FREQUENCIES:
        raise ValueError(
            f"unknown rebalance frequency {frequency!r}; use one of {', '.join(FREQUENCIES)}"
        )


def rebalance_sessions(sessions: pd.DatetimeIndex, frequency: Frequency) -> np.ndarray:
    """Boolean mask over ``sessions``: True where a strategy of this frequency decides.

    True on the first session (the initial build) and on the last session of
    every week/month/quarter; every session when daily. The final session of the
    sample closes its period: its decision has no next session to fill on.
    """
    check_frequency(frequency)
    if frequency == "daily" or len(sessions) == 0:
        return np.ones(len(sessions), dtype=bool)
    periods = pd.DatetimeIndex(sessions).tz_localize(None).to_period(_PERIOD_CODES[frequency])
    is_period_end = np.append(periods[:-1] != periods[1:], True)
    is_period_end[0] = True
    return is_period_end
