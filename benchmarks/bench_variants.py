"""Benchmark: N variants of the column's rule set, against bt and backtrader.

Run on demand (never in tests):  .venv/bin/python benchmarks/bench_variants.py [N_VARIANTS ...]
(default: 500 and 1000, the targets of issues #3 and #6)

rulebook runs the full column rule set (selection, screen, weighting, events, regime, caps,
profit-taking, staged entry) over the sample's 26 names × 10 years as N variants in batched
compiled simulations (hedges, event study and reports off: they are per-run analyses). bt and
backtrader cannot express those rules; they run the skeleton of the same job (equal weight,
monthly rebalance, same fees, same data) on a few variants, timed and scaled to N. That ratio
understates rulebook's advantage, as it does more work per variant; the last line times rulebook
on exactly the skeleton job too.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.sweep.compare import run_variants  # noqa: E402
from engine.config.run_config import load_config  # noqa: E402
from engine.run.backtest import load_run_data, run_backtest  # noqa: E402
from engine.config.variant_set import load_variants  # noqa: E402

SAMPLED = 3  # bt / backtrader runs timed after one warm-up run; the median is scaled to N


def variant_config(n_variants: int, folder: Path) -> Path:
    """configs/column.yaml with a grid of about n_variants kernel and cap parameters."""
    raw = yaml.safe_load((ROOT / "configs" / "column.yaml").read_text())
    raw["data"]["dir"] = str(ROOT / "data" / "sample")
    raw.update(hedges=[], event_study={"enabled": False}, report={"enabled": False})
    caps = [0.06, 0.07, 0.08, 0.09, 0.10]
    stops = [round(0.05 + 0.01 * k, 2) for k in range(max(1, n_variants // (len(caps) * 4)))]
    raw["variants"] = {"grid": {"rules.caps.name": caps, "rules.profit_taking.trailing_stop": stops,
                                "rules.staged_entry.tranches": [2, 3, 4, 5]}}
    path = folder / "bench.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def skeleton_config(n_variants: int, folder: Path) -> Path:
    """The job bt and backtrader run, in rulebook: equal weight monthly, 5 bps fees, no rules, no
    slippage; n_variants identical copies (named variants), as bt is timed on copies and scaled."""
    raw = yaml.safe_load((ROOT / "configs" / "column.yaml").read_text())
    raw["data"]["dir"] = str(ROOT / "data" / "sample")
    raw.pop("rules")
    raw.update(strategy={"kind": "equal_weight", "rebalance": "monthly"}, hedges=[],
               execution={"fill": "next_open", "fees_bps": 5}, event_study={"enabled": False},
               report={"enabled": False})
    raw["variants"] = {"named": {f"copy{k}": {"description": f"copy {k}"} for k in range(1, n_variants)}}
    path = folder / "skeleton.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def time_rulebook(path: Path) -> tuple[float, int, int, int]:
    variants = load_variants(path)
    began = time.perf_counter()
    outcomes = run_variants(variants)
    elapsed = time.perf_counter() - began
    data = load_run_data(variants[0].config)
    assert len(outcomes) == len(variants)
    return elapsed, len(variants), len(variants[0].config.universe.symbols), len(data.sessions)


def time_single_run() -> float:
    """The shipped column config as `rulebook run` simulates it (every rule and the hedge), after compiling."""
    config = load_config(ROOT / "configs" / "column.yaml", {"event_study.enabled": False, "report.enabled": False})
    data = load_run_data(config)
    run_backtest(config, data)
    began = time.perf_counter()
    run_backtest(config, data)
    return time.perf_counter() - began


def skeleton_prices(config_path: Path) -> pd.DataFrame:
    config = load_config(config_path)
    data = load_run_data(config)
    return data.adjusted("close")[config.universe.symbols].dropna(axis=1, how="all")


def median_seconds(run) -> float:
    """Median wall time of SAMPLED calls of ``run`` after one untimed warm-up call."""
    run()
    times = []
    for _ in range(SAMPLED):
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def time_bt(prices: pd.DataFrame) -> float:
    import bt

    def run():
        strategy = bt.Strategy("ew", [bt.algos.RunMonthly(), bt.algos.SelectHasData(), bt.algos.WeighEqually(),
                                      bt.algos.Rebalance()])
        bt.run(bt.Backtest(strategy, prices.ffill(), commissions=lambda q, p: abs(q) * p * 5e-4,
                           integer_positions=False, progress_bar=False))

    return median_seconds(run)


def time_backtrader(prices: pd.DataFrame) -> float:
    import backtrader as btr

    class EqualWeightMonthly(btr.Strategy):
        def __init__(self):
            self.month = None

        def next(self):
            today = self.datas[0].datetime.date(0)
            if today.month == self.month:
                return
            self.month = today.month
            live = [d for d in self.datas if d.close[0] == d.close[0]]
            for d in live:
                self.order_target_percent(d, target=0.99 / len(live))

    def run():
        cerebro = btr.Cerebro(stdstats=False)
        for symbol in prices.columns:
            frame = prices[[symbol]].ffill().bfill().rename(columns={symbol: "close"})
            for column in ("open", "high", "low"):
                frame[column] = frame["close"]
            frame["volume"] = 0.0
            cerebro.adddata(btr.feeds.PandasData(dataname=frame), name=symbol)
        cerebro.addstrategy(EqualWeightMonthly)
        cerebro.broker.setcommission(commission=5e-4)
        cerebro.run()

    return median_seconds(run)


def main(sizes: list[int]) -> None:
    timings = []
    with tempfile.TemporaryDirectory() as folder:
        warm = Path(folder) / "warm"
        warm.mkdir()
        run_variants(load_variants(variant_config(20, warm))[:2])  # compile once, outside the timing
        for size in sizes:
            timings.append(time_rulebook(variant_config(size, Path(folder))))
        skeleton = time_rulebook(skeleton_config(max(sizes), Path(folder)))
        prices = skeleton_prices(variant_config(sizes[0], Path(folder)))
    bt_each, btr_each = time_bt(prices), time_backtrader(prices)
    single = time_single_run()
    print(f"rulebook: one run of configs/column.yaml (every rule + SPY put hedge, compiled): {single:.2f} s")
    for seconds, n, names, sessions in timings:
        cells = n * names * sessions
        print(f"rulebook: {n} variants × {names} names × {sessions} sessions in {seconds:.1f} s "
              f"= {n / seconds:.1f} variants/s, {cells / seconds / 1e6:.1f} M session·name·variants/s")
        print(f"  bt:         {bt_each:.2f} s per variant (skeleton job) → {bt_each * n:.0f} s for {n}; "
              f"rulebook is {bt_each * n / seconds:.0f}× faster")
        print(f"  backtrader: {btr_each:.2f} s per variant (skeleton job) → {btr_each * n:.0f} s for {n}; "
              f"rulebook is {btr_each * n / seconds:.0f}× faster")
    seconds, n = skeleton[:2]
    print(f"rulebook, the skeleton job itself: {n} copies in {seconds:.1f} s; {bt_each * n / seconds:.0f}× bt, "
          f"{btr_each * n / seconds:.0f}× backtrader on exactly the same job")


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [500, 1000])
