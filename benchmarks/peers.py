"""One equal-weight job on rulebook, vectorbt, bt and backtrader: time and final value of each.

The job (the bundled sample's names with a full history, 10 years): decide 1/n in every name at the
last session of each month, fill at the next session's open at total-return prices, no fees. Every
engine is handed the same fill prices and the targets shifted one session, so all of them trade the
same sessions at the same prices (bt trades on the bar it decides on; tests/test_sim_bt.py). The
final value is the book marked at the last session's fill price. backtrader sizes an order from the
value at the previous bar and fills at the next bar's open, so it differs by that drift.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd

CASH = 1_000_000.0
COPIES = 1000  # variants in the broadcast rows


def timed(run, repeat: int) -> tuple[float, float]:
    """(median seconds after one warm-up call, the call's result)."""
    result = run()
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return statistics.median(times), result


def job(root: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(fill prices, month-end equal-weight targets) on the sample's fully listed names."""
    from engine.data.loader import load_dataset

    data = load_dataset(root / "data" / "sample")
    fill = data.adjusted("open").dropna(axis=1)
    sessions = fill.index
    last_of_month = sessions.to_series().groupby(sessions.to_period("M")).transform("max") == sessions
    targets = pd.DataFrame(np.nan, index=sessions, columns=fill.columns)
    targets[last_of_month.to_numpy()] = 1.0 / fill.shape[1]
    return fill, targets


def rulebook_value(fill: pd.DataFrame, targets: pd.DataFrame, copies: int = 1) -> float:
    from engine.sim.simulate import ExecutionSettings, simulate_many

    settings = ExecutionSettings(fill="next_open", init_cash=CASH)
    results = simulate_many([targets] * copies, fill, fill, settings, keep_log=False)
    return float(results[0].equity.iloc[-1])


def vectorbt_value(fill: pd.DataFrame, targets: pd.DataFrame, copies: int = 1) -> float:
    import vectorbt as vbt

    size = targets.shift(1)
    if copies > 1:
        size = pd.concat([size] * copies, axis=1, keys=range(copies))
        prices = pd.concat([fill] * copies, axis=1, keys=range(copies))
        group_by = size.columns.get_level_values(0)
    else:
        prices, group_by = fill, True
    portfolio = vbt.Portfolio.from_orders(prices, size, size_type="targetpercent", group_by=group_by,
                                          cash_sharing=True, call_seq="auto", init_cash=CASH, freq="1D")
    value = portfolio.value()
    return float(value.iloc[-1] if copies == 1 else value.iloc[-1, 0])


def bt_value(fill: pd.DataFrame, targets: pd.DataFrame) -> float:
    import bt

    strategy = bt.Strategy("job", [bt.algos.WeighTarget(targets.shift(1).dropna(how="all")), bt.algos.Rebalance()])
    backtest = bt.Backtest(strategy, fill, initial_capital=CASH, integer_positions=False)
    return float(bt.run(backtest).backtests["job"].strategy.values.iloc[-1])


def backtrader_value(fill: pd.DataFrame, targets: pd.DataFrame) -> float:
    import backtrader as btr

    decided = set(targets.dropna(how="all").index)

    class MonthEnd(btr.Strategy):
        def next(self):
            if pd.Timestamp(self.datas[0].datetime.date(0)) in decided:
                for data in self.datas:
                    self.order_target_percent(data, target=1.0 / len(self.datas))

    cerebro = btr.Cerebro(stdstats=False)
    for symbol in fill.columns:
        frame = pd.DataFrame({name: fill[symbol] for name in ("open", "high", "low", "close")})
        frame["volume"] = 0.0
        cerebro.adddata(btr.feeds.PandasData(dataname=frame), name=symbol)
    cerebro.addstrategy(MonthEnd)
    cerebro.broker.setcash(CASH)
    cerebro.broker.set_checksubmit(False)  # a rebalance's buys may exceed cash before its sells fill
    cerebro.run()
    return float(cerebro.broker.getvalue())


def side_by_side(root: Path, repeat: int = 3) -> None:
    fill, targets = job(root)
    print(f"\nequal-weight job: {fill.shape[1]} names x {len(fill)} sessions, month-end, next-open fills, no fees")
    rows = [
        ("rulebook (simulate)", lambda: rulebook_value(fill, targets), 1),
        ("vectorbt Portfolio.from_orders", lambda: vectorbt_value(fill, targets), 1),
        ("bt", lambda: bt_value(fill, targets), 1),
        ("backtrader", lambda: backtrader_value(fill, targets), 1),
        (f"rulebook, {COPIES} copies in one simulation", lambda: rulebook_value(fill, targets, COPIES), COPIES),
        (f"vectorbt, {COPIES} copies broadcast", lambda: vectorbt_value(fill, targets, COPIES), COPIES),
    ]
    reference = None
    for label, run, copies in rows:
        seconds, value = timed(run, repeat if copies == 1 else max(1, repeat // 2))
        reference = value if reference is None else reference
        print(f"{label:<44} {seconds:8.3f} s  ({seconds / copies * 1e3:8.2f} ms per book)  final value "
              f"{value:14,.2f}  vs rulebook {value / reference - 1:+.2e}", flush=True)
