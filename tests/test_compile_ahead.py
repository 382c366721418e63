"""A first run's kernels compiled in a second process (engine.sim.compile_ahead): the kernels the run loads,
the run never waiting on a child that is gone or stuck, nothing compiled twice, nothing left behind."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from engine.sim import compile_ahead, kernel_cache
from engine.sim.kernel_cache import ROOT, kernel

from test_kernel_cache import _double, cache_dir  # noqa: F401 - the fixture

ENV = {**os.environ, "PYTHONPATH": os.pathsep.join((str(ROOT), str(ROOT / "tests")))}


def _column_jobs():
    from engine.config.run_config import config_from
    from strategies import registry
    from strategies.staging import kernel_blocks

    config = config_from(ROOT / "configs" / "column.yaml")
    blocks = kernel_blocks(config.rules)
    steps = [r.kernel for r in registry.rules() if r.kernel and r.name in blocks]
    return config, compile_ahead.jobs(steps, caps=True, rules=True)


RUN = ("import rulebook\nfrom engine.sim import compile_ahead\nfrom test_compile_ahead import _column_jobs\n"
       "config, names = _column_jobs()\nrulebook.run(config)\n"
       "print(*(d._cache.cached(s, d.targetctx.codegen()) for d, s in compile_ahead.compile_list(names)))\n")


def test_the_child_compiles_the_signatures_a_run_compiles(cache_dir):
    """Each kernel the child compiles is one a run of the column's rules compiles (alone, with an empty cache),
    with the same signature: one differing in a type would be compiled a second time by the run (slower,
    never wrong)."""
    _, names = _column_jobs()
    assert names[:2] == [compile_ahead.ORDERS, compile_ahead.LOOP] and names[-1] == compile_ahead.CAPS
    assert [name.split(":")[1] for name in names[2:-1]] == ["staged_entry_step", "profit_taking_step",
                                                            "drift_trims_step"]  # the run's last first
    env = {**ENV, "RULEBOOK_CACHE_DIR": str(cache_dir), "RULEBOOK_COMPILE_AHEAD": "0"}
    cached = subprocess.run([sys.executable, "-c", RUN], env=env, capture_output=True, text=True, check=True, cwd=ROOT)
    assert cached.stdout.split() == ["True"] * 6


SIMULATE = ("import sys; import numpy as np, pandas as pd\n"
            "from engine.sim.simulate import ExecutionSettings, simulate\n"
            "from engine.sim.orders import execute_nb, sells_first_nb\n"
            "index = pd.bdate_range('2024-01-01', periods=30)\n"
            "close = pd.DataFrame({'A': np.linspace(10, 12, 30), 'B': np.linspace(20, 18, 30)}, index=index)\n"
            "targets = pd.DataFrame(np.nan, index=index, columns=close.columns); targets.iloc[::10] = 0.5\n"
            "result = simulate(targets, close, close, ExecutionSettings(fees_bps=3, slippage_bps=2))\n"
            "print(result.equity.to_numpy().tobytes().hex(), *(sum(k.stats.cache_hits.values()) for k in\n"
            "      (sells_first_nb, execute_nb)), 'vectorbt' in sys.modules)\n")


START = ("from engine.sim import compile_ahead\nahead = compile_ahead.start()\n"
         "print(None if ahead.process is None else ahead.process.wait(timeout=300))\n")  # done: it ends by itself


def test_a_run_after_the_child_loads_its_kernels_and_gets_the_same_book(cache_dir):
    env = {**ENV, "RULEBOOK_CACHE_DIR": str(cache_dir)}
    started = subprocess.run([sys.executable, "-c", START], env=env, capture_output=True, text=True, check=True)
    assert started.stdout.split() == ["0"]
    env["RULEBOOK_COMPILE_AHEAD"] = "0"
    loaded = subprocess.run([sys.executable, "-c", SIMULATE], env=env, capture_output=True, text=True, check=True)
    equity, *hits, vectorbt = loaded.stdout.split()
    assert hits == ["1", "1"] and vectorbt == "False"  # loaded, not compiled (vectorbt only compiles them)
    env["RULEBOOK_CACHE_DIR"] = str(cache_dir.parent / "in-process")  # compiled here, as without the child
    alone = subprocess.run([sys.executable, "-c", SIMULATE], env=env, capture_output=True, text=True, check=True)
    assert alone.stdout.split()[0] == equity and alone.stdout.split()[-1] == "True"
    del env["RULEBOOK_COMPILE_AHEAD"]
    env["RULEBOOK_CACHE_DIR"] = str(cache_dir)
    again = subprocess.run([sys.executable, "-c", START], env=env, capture_output=True, text=True, check=True)
    assert again.stdout.split() == ["None"]  # all cached: no second child


def test_closing_ends_the_child_at_once_and_leaves_no_partial_file(cache_dir):
    ahead = compile_ahead.Ahead(subprocess.Popen([sys.executable, "-m", "engine.sim.compile_ahead", "orders", "caps"],
                                                 stdin=subprocess.PIPE, env={**ENV, "RULEBOOK_CACHE_DIR": str(cache_dir)}))
    time.sleep(1.0)  # importing vectorbt or compiling
    began = time.monotonic()
    process = ahead.process
    ahead.close()
    assert process.returncode is not None and time.monotonic() - began < 5
    assert not [path for path in cache_dir.rglob("*") if ".tmp." in path.name]


def test_no_child_without_a_writable_cache_folder_or_a_second_core(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("RULEBOOK_CACHE_DIR", str(blocker / "cache"))
    assert compile_ahead.start().process is None
    monkeypatch.setenv("RULEBOOK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    assert compile_ahead.start().process is None


def test_a_child_that_fails_leaves_the_run_compiling_in_process(cache_dir):
    """A step the child cannot import: it fails at once, and the run, which never waits for a child that holds
    no lock, compiles everything itself."""
    failing = compile_ahead.Ahead(subprocess.Popen([sys.executable, "-m", "engine.sim.compile_ahead",
                                                    "step=no.such_module:step:exit"], stdin=subprocess.PIPE,
                                                   env=ENV, stderr=subprocess.DEVNULL))
    assert failing.process.wait(timeout=60) != 0
    assert kernel(_double)(21) == 42
    failing.close()


HOLD = ("import sys, time\nfrom engine.sim.kernel_cache import kernel\nfrom test_kernel_cache import _double\n"
        "k = kernel(_double)\nwith k._cache.compiling():\n    print('held', flush=True)\n    time.sleep(float(sys.argv[1]))\n"
        "    k(1)\n")


def _holder(cache_dir: Path, seconds: float) -> subprocess.Popen:
    env = {**ENV, "RULEBOOK_CACHE_DIR": str(cache_dir)}
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(seconds)], env=env, stdout=subprocess.PIPE, text=True,
                              cwd=ROOT)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_kernel_another_process_is_compiling_is_waited_for_and_loaded(cache_dir):
    holder = _holder(cache_dir, 1.0)
    mine = kernel(_double)
    assert mine(21) == 42
    assert mine.stats.cache_hits and not mine.stats.cache_misses  # waited, then loaded the other's
    assert holder.wait(timeout=60) == 0


def test_a_stuck_holder_is_waited_for_no_longer_than_lock_wait(cache_dir, monkeypatch):
    monkeypatch.setattr(kernel_cache, "LOCK_WAIT", 0.2)
    holder = _holder(cache_dir, 30.0)
    try:
        mine = kernel(_double)
        assert mine(21) == 42 and mine.stats.cache_misses  # compiled here
    finally:
        holder.kill()
        holder.wait()


def test_nested_and_threaded_compiles_in_one_process_share_the_lock(cache_dir):
    """The loop compiles its callees inside its own compile: one process never waits for itself."""
    outer = kernel(_double)
    results = []
    with outer._cache.compiling():
        thread = threading.Thread(target=lambda: results.append(kernel(_double)(2)))
        with outer._cache.compiling():
            assert outer(3) == 6
        thread.start()
        thread.join(timeout=30)
    assert results == [4]


LOOP_RUN = ("import rulebook\nfrom engine.sim import loop\nresult = rulebook.run('configs/column.yaml')\n"
            "kernel = loop._LOOPS['rules']\nprint(result.equity.to_numpy().tobytes().hex(),\n"
            "      sum(kernel.stats.cache_hits.values()), sum(kernel.stats.cache_misses.values()))\n")


def test_the_childs_loop_is_the_one_a_run_with_rules_loads(cache_dir):
    """The child compiles the loop with rules from a simulation with no rule on; a run of the column's rules
    loads that loop (one loop for every set of rules: the session step is passed to it) and gets the book a
    run compiling everything itself gets."""
    env = {**ENV, "RULEBOOK_CACHE_DIR": str(cache_dir)}
    ahead = compile_ahead.Ahead(subprocess.Popen([sys.executable, "-m", "engine.sim.compile_ahead", compile_ahead.ORDERS,
                                                  compile_ahead.LOOP], stdin=subprocess.PIPE, env=env))
    assert ahead.process.wait(timeout=300) == 0
    env["RULEBOOK_COMPILE_AHEAD"] = "0"
    loaded = subprocess.run([sys.executable, "-c", LOOP_RUN], env=env, cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.split()
    assert loaded[1:] == ["1", "0"]
    env["RULEBOOK_CACHE_DIR"] = str(cache_dir.parent / "in-process")
    alone = subprocess.run([sys.executable, "-c", LOOP_RUN], env=env, cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    assert alone == [loaded[0], "0", "1"]
