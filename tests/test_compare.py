"""Sweeps: every variant equals its own backtest; Dask equals local; outputs; interruption leaves nothing."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import engine.sweep.compare as compare
from engine.cli.main import app
from engine.config.run_config import load_config
from engine.sweep.executors import DaskExecutor
from engine.run.backtest import run_backtest
from engine.config.variant_set import load_variants

TOL = 1e-9
SWEEP = {
    "name": "sweep",
    "period": {"start": "2022-06-01", "end": "2024-06-28"},
    "universe": {"symbols": ["NVDA", "AMD", "AVGO", "MSFT", "META", "ORCL"],
                 "groups": {"semis": ["NVDA", "AMD", "AVGO"], "hyperscalers": ["MSFT", "META", "ORCL"]}},
    "rules": {
        "weighting": {"kind": "equal", "rebalance": "monthly"},
        "regime": {"vol_series": "VIX", "vol_percentile": 80, "vol_window": 63, "high_vol_gross": 0.7},
        "caps": {"name": 0.2, "groups": {"semis": 0.45}, "band": 0.01},
        "profit_taking": {"stages": [{"gain": 0.15, "sell": 0.3}, {"gain": 0.3, "sell": 0.3}],
                          "trailing_stop": 0.12, "reentry": {"cooldown": 10}},
        "staged_entry": {"tranches": 2, "every": 3},
    },
    "execution": {"fees_bps": 5, "slippage_bps": 5, "min_trade_weight": 0.005},
    "variants": {
        "grid": {"rules.caps.name": [0.15, 0.25], "rules.profit_taking.trailing_stop": [0.08, 0.2]},
        "named": {
            "semis_capped": {"rules.caps.groups.semis": 0.3},  # its own group caps in the shared simulation
            "one_stage": {"rules.profit_taking.stages": [{"gain": 0.2, "sell": 0.5}]},
            "calm_regime": {"rules.regime.high_vol_gross": 0.9},  # another regime: another simulation
            "dear": {"execution.fees_bps": 20},  # other costs: another simulation
            "no_kernel": {"rules.caps": None, "rules.profit_taking": None, "rules.staged_entry": None},
        },
    },
}


@pytest.fixture(scope="module")
def sweep_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sweep") / "sweep.yaml"
    path.write_text(yaml.safe_dump(SWEEP, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def variants(sweep_file):
    return load_variants(sweep_file)


@pytest.fixture(scope="module")
def local(variants):
    compare.clear_caches()
    return compare.run_variants(variants, chunk=3)


def test_every_variant_equals_a_single_backtest_of_its_config(variants, local):
    """Including the variants that reuse another's stages before the caps: the grid's caps, semis_capped and
    no_kernel (no caps at all) share the base's uncapped targets; calm_regime has its own."""
    assert [o.name for o in local] == [v.name for v in variants] and len(variants) == 10
    assert len(compare._UNCAPPED) == 2 and len(compare._PIPELINES) == 6
    sharpes = set()
    for variant, outcome in zip(variants, local):
        single = run_backtest(variant.config)
        assert outcome.metrics.keys() == single.metrics.keys()
        for key, value in single.metrics.items():
            if isinstance(value, float):
                assert outcome.metrics[key] == pytest.approx(value, rel=TOL, abs=TOL), (variant.name, key)
            else:
                assert outcome.metrics[key] == value, (variant.name, key)
        np.testing.assert_allclose(outcome.equity, single.equity, rtol=TOL)
        sharpes.add(round(single.metrics["sharpe"], 12))
    assert len(sharpes) == len(variants)  # every override changed the book: the sweep is not trivially equal


def test_the_comparisons_base_run_equals_a_plain_run_even_from_a_pipeline_another_variant_filled(variants):
    """rulebook.compare runs the base from the sweep's cached pipeline (compare.pipeline_of). 'one_stage'
    differs from the base only in a path-dependent rule, so it fills the cache the base then reads: the base
    must still get its own kernel parameters, orders, rule log and metrics."""
    compare.clear_caches()
    base, one_stage = variants[0].config, next(v.config for v in variants if v.name == "one_stage")
    compare.pipeline_of(one_stage)
    shared = run_backtest(base, compare.dataset(base), compare.pipeline_of(base))
    assert len(compare._PIPELINES) == 1
    plain = run_backtest(base)
    assert shared.metrics == plain.metrics
    pd.testing.assert_frame_equal(shared.strategy.orders, plain.strategy.orders, check_exact=True)
    pd.testing.assert_frame_equal(shared.activity, plain.activity, check_exact=True)
    assert shared.metrics != run_backtest(one_stage).metrics  # the two differ: the test could fail


def test_the_simulation_batches_share_data_and_regime_caps(variants):
    keys = [compare.batch_key(v) for v in variants]
    by_name = dict(zip([v.name for v in variants], keys))
    assert by_name["calm_regime"] != by_name["base"] and by_name["dear"] != by_name["base"]
    assert len({by_name[n] for n in by_name if n not in ("calm_regime", "dear", "no_kernel")}) == 1


def test_dask_executor_gives_identical_results_to_local(variants, local):
    pytest.importorskip("dask.distributed")
    compare.clear_caches()
    remote = compare.run_variants(variants, executor=DaskExecutor(processes=False), chunk=3)
    for ours, theirs in zip(local, remote):
        assert ours.name == theirs.name
        pd.testing.assert_series_equal(ours.equity, theirs.equity, check_exact=True)
        assert ours.metrics == theirs.metrics


def test_outputs_rank_by_sharpe_and_carry_parameters_metrics_and_statistics(tmp_path, sweep_file, variants, local):
    base = load_config(sweep_file)
    base_result = run_backtest(variants[0].config, compare.dataset(variants[0].config))
    folder, ranking, summary = compare.save_comparison(
        tmp_path / "out", variants, local, base_config=base, base_result=base_result,
        wall_seconds=1.0, executor="local", chunk=3)
    assert json.loads((folder / "metrics.json").read_text()) == json.loads(json.dumps(local[0].metrics)), \
        "the folder is the base's run folder too (reports read it)"
    table = pd.read_parquet(folder / "variants.parquet")
    assert list(table.variant) == [v.name for v in variants]
    assert table.loc[0, "rules.caps.name"] == 0.2 and table.loc[1, "rules.caps.name"] == 0.15  # base's own value
    for outcome, row in zip(local, table.itertuples()):
        assert row.sharpe == outcome.metrics["sharpe"] and row.cagr == outcome.metrics["cagr"]
    best_first = table.sort_values("sharpe", ascending=False)
    assert list(best_first["rank"]) == list(range(1, len(table) + 1))
    assert list(pd.read_csv(folder / "ranking.csv").variant) == list(best_first.variant)
    assert {"sharpe_diff", "diff_lower", "diff_upper", "dsr", "verdict"} <= set(table.columns)
    assert table.set_index("variant").loc["base", "sharpe_diff"] == 0.0
    equity = pd.read_parquet(folder / "variant_equity.parquet").set_index("date")
    np.testing.assert_array_equal(equity["dear"], local[8].equity)
    assert 0.0 <= json.loads((folder / "statistics.json").read_text())["pbo"] <= 1.0
    assert yaml.safe_load((folder / "config.yaml").read_text())["variants"]["grid"]["rules.caps.name"] == [0.15, 0.25]
    assert json.loads((folder / "manifest.json").read_text())["variants"] == len(variants)


def test_a_comparison_in_one_chunk_equals_it_in_chunks_and_keeps_one_copy_of_the_curves(sweep_file, variants, local):
    """rulebook.compare with every variant in one simulation gives the tables of chunks of 3 to the bit; each
    outcome's curve is a view of the equity table (no per-variant copies) and no simulated book is kept."""
    import gc

    import rulebook
    from engine.sim.result import SimResult

    compare.clear_caches()
    whole = rulebook.compare(sweep_file, chunk=len(variants))
    table, equity, summary = compare.comparison_tables(variants, local)
    pd.testing.assert_frame_equal(whole.table, table, check_exact=True)
    pd.testing.assert_frame_equal(whole.equity, equity, check_exact=True)
    assert whole.summary == summary
    for outcome, name in zip(whole.outcomes, whole.equity.columns):
        assert outcome.name == name and np.shares_memory(outcome.equity.to_numpy(), whole.equity.to_numpy())
    gc.collect()
    kept = [id(whole.base.backtest.strategy), id(whole.base.backtest.benchmark), *map(id, compare._BENCHMARKS.values())]
    assert not [thing for thing in gc.get_objects() if type(thing) is SimResult and id(thing) not in kept]  # type(): a dead weakproxy among them raises on isinstance


def test_an_interrupted_compare_leaves_no_output_folder(tmp_path, sweep_file, monkeypatch):
    calls = []

    def interrupted(batch):
        calls.append(batch)
        raise KeyboardInterrupt

    monkeypatch.setattr(compare, "_run_batch", interrupted)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["compare", str(sweep_file), "--out", str(out), "--chunk", "4"])
    assert result.exit_code == 130 and len(calls) == 1  # click's exit status for Ctrl-C
    assert not out.exists()
    monkeypatch.undo()

    def failing_csv(*args, **kwargs):  # the last files are being written when the disk fills up
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", failing_csv)
    result = CliRunner().invoke(app, ["compare", str(sweep_file), "--out", str(out)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"{out}: could not write it (no space left on device); nothing was written" in " ".join(result.output.split())
    assert not out.exists() and list(tmp_path.iterdir()) == []



HEDGED = {**SWEEP, "name": "hedged_sweep",
          "hedges": [{"name": "spy_puts", "underlying": "SPY", "legs": [{"right": "put", "moneyness": 0.9,
                                                                         "tenor_days": 91}],
                      "schedule": "monthly", "roll_before": 5, "size": {"of": "portfolio", "fraction": 0.5},
                      "vol": {"source": "VIX"}, "rate": "DGS10",
                      "timing": {"rule": "below_percentile", "percentile": 50, "window": 63}},
                     {"name": "nvda_collar", "underlying": "NVDA", "structure": "collar", "schedule": "quarterly",
                      "roll_before": 0, "size": {"of": "position", "symbol": "NVDA", "fraction": 1.0},
                      "vol": {"source": "realized"}, "rate": 0.03, "costs": {"whole_contracts": True}}],
          "variants": {"grid": {"rules.caps.name": [0.12, 0.15]},
                       "named": {"deeper_puts": {"hedges.0.legs.0.moneyness": 0.85},  # other hedges: other prices
                                 "no_stop": {"rules.profit_taking.trailing_stop": None}}}}


def test_a_hedged_sweep_prices_each_package_once_and_equals_single_backtests(tmp_path):
    """Hedge prices are shared by every book of a batch (engine.hedges.pricing); each variant's hedge book,
    metrics, equity and costs still equal its own backtest, and a variant with other hedges is priced anew."""
    path = tmp_path / "hedged.yaml"
    path.write_text(yaml.safe_dump(HEDGED, sort_keys=False))
    variants = load_variants(path)
    compare.clear_caches()
    outcomes = compare.run_variants(variants, chunk=2)
    assert len(compare._PRICING) == 2  # the base's hedges and deeper_puts' (its strikes differ)
    fees = set()
    for variant, outcome in zip(variants, outcomes):
        single = run_backtest(variant.config)
        assert outcome.metrics == single.metrics, variant.name
        pd.testing.assert_series_equal(outcome.equity, single.equity, check_exact=True)
        assert outcome.costs == compare.costs_paid(single.strategy, variant.config.execution.slippage_bps,
                                                   single.hedges)
        assert len(single.hedges.legs) and single.hedges.fees == single.hedges.legs["fees"].sum()
        fees.add(single.hedges.fees)
    assert len(fees) == len(variants)  # every book bought its own contracts
