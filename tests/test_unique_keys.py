"""engine.data.schema.check_unique (integer codes per key tuple, sorted) refuses exactly the frames pandas'
duplicated() finds repeats in, nulls equal to nulls, and names the repeated rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.data.schema import check_unique
from engine.errors import DataError


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["2025-01-02", "2025-01-03", None]), st.sampled_from(["A", "B", None]),
                          st.integers(0, 2)), max_size=12), st.integers(1, 3))
def test_a_frame_is_refused_exactly_when_duplicated_finds_a_repeated_key(rows, n_keys):
    frame = pd.DataFrame(rows, columns=["date", "symbol", "n"]).astype({"date": "datetime64[ns]", "symbol": object})
    keys = ["date", "symbol", "n"][:n_keys]
    if frame.duplicated(keys).any():
        with pytest.raises(DataError, match="duplicate"):
            check_unique("prices.parquet", frame, keys)
    else:
        check_unique("prices.parquet", frame, keys)


def test_many_distinct_keys_are_re_encoded_before_their_codes_could_overflow():
    n = 70_000  # 70,000^4 > 2^62: the fourth key re-encodes the first three's codes
    frame = pd.DataFrame({name: np.arange(n) for name in "abcd"})
    check_unique("t.parquet", frame, list("abcd"))
    with pytest.raises(DataError, match=r"duplicate \(a, b, c, d\) rows: 7 7 7 7"):
        check_unique("t.parquet", pd.concat([frame, frame.iloc[[7]]]), list("abcd"))
