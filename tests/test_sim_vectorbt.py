"""A third oracle: vectorbt's own ``Portfolio.from_orders`` runs the baseline strategies.

vectorbt is given the strategies' target weights as target-percent orders one session after
the decision, at our fill prices (the opens), with one shared cash account over the group
(``cash_sharing=True``) and ``call_seq="auto"`` (sells before buys), the same fees and
slippage, and the closes to mark the book. vectorbt sizes a target-percent order from the
group's value at the order price, so the engine runs with ``size_at: fill``: with the
default (orders sized at the decision close) the share counts differ by the overnight move,
and the comparison would test nothing. Its equity must agree with the engine's at every
session to 1e-9 relative, next to the reference loop (tests/test_sim_reference.py) and bt
(tests/test_sim_bt.py). vectorbt shares no code with the engine's sizing, ordering or
bookkeeping; only ``process_order_nb`` fills both.

The names are ones priced on every sample session: vectorbt values a group with a NaN
price as NaN, where the engine skips a name that is not listed yet.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import vectorbt as vbt

from engine.config.run_config import SAMPLE_DATA_DIR
from engine.data.loader import load_dataset
from engine.sim.simulate import ExecutionSettings, last_known_price, simulate
from strategies.pipeline import baseline_targets

SYMBOLS = ["NVDA", "MSFT", "AVGO", "AMD", "INTC", "QCOM", "CSCO", "AMZN"]
RTOL = 1e-9


@pytest.fixture(scope="module")
def sample():
    data = load_dataset(SAMPLE_DATA_DIR, symbols=SYMBOLS)
    open_, close = data.adjusted("open")[SYMBOLS], data.adjusted("close")[SYMBOLS]
    assert open_.notna().all().all() and close.notna().all().all()
    return data, open_, close


def vectorbt_equity(targets: pd.DataFrame, open_: pd.DataFrame, close: pd.DataFrame,
                    execution: ExecutionSettings) -> pd.Series:
    portfolio = vbt.Portfolio.from_orders(
        close=last_known_price(open_, close), size=targets.shift(1), size_type="targetpercent", price=open_,
        fees=execution.fees_bps / 1e4, slippage=execution.slippage_bps / 1e4, init_cash=execution.init_cash,
        direction="longonly", cash_sharing=True, group_by=True, call_seq="auto", freq="1D")
    return portfolio.value()


@pytest.mark.parametrize("kind, params", [("buy_and_hold", {}), ("equal_weight", {"rebalance": "monthly"}),
                                          ("equal_weight", {"rebalance": "weekly"}),
                                          ("inverse_volatility", {"rebalance": "monthly", "lookback": 63})])
@pytest.mark.parametrize("fees_bps, slippage_bps", [(0.0, 0.0), (5.0, 5.0), (25.0, 10.0)])
def test_baselines_match_vectorbt_from_orders(sample, kind, params, fees_bps, slippage_bps):
    data, open_, close = sample
    targets = baseline_targets({"kind": kind, **params}, data, SYMBOLS)
    execution = ExecutionSettings(fees_bps=fees_bps, slippage_bps=slippage_bps, size_at="fill")
    ours = simulate(targets, open_, close, execution)
    theirs = vectorbt_equity(targets, open_, close, execution)
    assert ours.orders.session.nunique() >= (1 if kind == "buy_and_hold" else 100)  # it really traded
    np.testing.assert_allclose(ours.equity.to_numpy(), theirs.to_numpy(), rtol=RTOL, atol=0)


def test_sizing_at_the_decision_differs_from_vectorbt(sample):
    """The oracle can tell the conventions apart: with orders sized at the decision close the books
    part by far more than the tolerance."""
    data, open_, close = sample
    targets = baseline_targets({"kind": "equal_weight", "rebalance": "monthly"}, data, SYMBOLS)
    execution = ExecutionSettings(fees_bps=5.0, slippage_bps=5.0)
    ours = simulate(targets, open_, close, execution)
    theirs = vectorbt_equity(targets, open_, close, execution)
    assert np.max(np.abs(ours.equity.to_numpy() / theirs.to_numpy() - 1)) > 1e-6


def test_order_records_have_vectorbts_dtype():
    """The kernel writes vectorbt order records without importing vectorbt (engine.sim.orders.ORDER_DT)."""
    from vectorbt.portfolio.enums import order_dt

    from engine.sim.orders import ORDER_DT

    assert ORDER_DT == order_dt and ORDER_DT.names == order_dt.names


def test_a_simulation_from_the_kernel_cache_never_imports_vectorbt(tmp_path):
    """vectorbt (2.5 s to import) is needed to compile the order kernels, not to load them: the second
    process finds every kernel in the cache folder and runs without it."""
    import os
    import subprocess
    import sys

    script = ("import sys; import numpy as np, pandas as pd\n"
              "from engine.sim.simulate import ExecutionSettings, simulate\n"
              "index = pd.bdate_range('2024-01-01', periods=30)\n"
              "close = pd.DataFrame({'A': np.linspace(10, 12, 30), 'B': np.linspace(20, 18, 30)}, index=index)\n"
              "targets = pd.DataFrame(np.nan, index=index, columns=close.columns); targets.iloc[::10] = 0.5\n"
              "result = simulate(targets, close, close, ExecutionSettings())\n"
              "print(round(float(result.equity.iloc[-1]), 6), 'vectorbt' in sys.modules)\n")
    env = {**os.environ, "RULEBOOK_CACHE_DIR": str(tmp_path)}
    first, second = (subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                                    check=True).stdout.split() for _ in range(2))
    assert first[1] == "True" and second == [first[0], "False"]
