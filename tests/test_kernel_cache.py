"""The kernels' on-disk cache: in the user's cache folder, keyed by every kernel source, silent at import."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine.sim import kernel_cache
from engine.sim.kernel_cache import KERNEL_SOURCES, ROOT, KernelCache, kernel, sources_digest


def _double(x):
    return 2 * x


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("RULEBOOK_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_every_file_with_compiled_code_is_a_kernel_source_and_uses_the_cache():
    """A new file of kernels left out of KERNEL_SOURCES (or a plain njit(cache=True)) would be cached
    without the digest: an edit to it would go unnoticed by its callers' cache."""
    compiled = {str(path.relative_to(ROOT)) for folder in ("engine", "strategies") for path in (ROOT / folder).rglob("*.py")
                if re.search(r"^@(kernel|njit|numba\.njit|jit)\b", path.read_text(), re.MULTILINE)}
    assert compiled == set(KERNEL_SOURCES)
    for source in KERNEL_SOURCES:
        assert "njit" not in (ROOT / source).read_text(), source


def test_the_check_above_finds_a_plain_njit_file(tmp_path):
    source = tmp_path / "strategies" / "new_rule.py"
    source.parent.mkdir()
    source.write_text("from numba import njit\n\n@njit(cache=True)\ndef f(x):\n    return x\n")
    assert re.search(r"^@(kernel|njit|numba\.njit|jit)\b", source.read_text(), re.MULTILINE)


def test_the_digest_changes_with_any_kernel_source(tmp_path):
    for source in KERNEL_SOURCES:
        (tmp_path / source).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / source, tmp_path / source)
    before = sources_digest(tmp_path)
    assert sources_digest.__wrapped__(tmp_path) == before
    for source in KERNEL_SOURCES:  # not only the loop's own file: numba would not notice the others
        path = tmp_path / source
        original = path.read_bytes()
        path.write_bytes(original + b"\n# edited\n")
        assert sources_digest.__wrapped__(tmp_path) != before, source
        path.write_bytes(original)


def test_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("RULEBOOK_CACHE_DIR", raising=False)
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "numba"))
    assert kernel_cache.cache_dir() == tmp_path / "numba" / "rulebook"
    monkeypatch.setenv("RULEBOOK_CACHE_DIR", str(tmp_path / "mine"))
    assert kernel_cache.cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("RULEBOOK_CACHE_DIR")
    monkeypatch.delenv("NUMBA_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert kernel_cache.cache_dir() == tmp_path / "xdg" / "rulebook"
    assert kernel_cache.kernel_folder().name == f"kernels-{sources_digest()[:20]}"


def test_a_compiled_kernel_is_saved_reused_and_never_loaded_after_a_source_change(cache_dir, monkeypatch):
    first = kernel(_double)
    assert isinstance(first._cache, KernelCache)
    assert first(21) == 42
    saved = sorted(path.name for path in cache_dir.rglob("*.nb*"))
    assert saved and all(path.parent.parent.name.startswith("kernels-") for path in cache_dir.rglob("*.nb*"))
    again = kernel(_double)  # a new process would build a new dispatcher like this one
    assert again(21) == 42 and again.stats.cache_hits and not again.stats.cache_misses
    monkeypatch.setattr(kernel_cache, "sources_digest", lambda root=ROOT: "another version of the sources")
    changed = kernel(_double)
    assert changed(21) == 42 and changed.stats.cache_misses and not changed.stats.cache_hits
    assert len(list(cache_dir.glob("kernels-*"))) == 2  # a new folder; the old one is left alone


def test_an_unwritable_cache_folder_still_runs_the_kernel(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("RULEBOOK_CACHE_DIR", str(blocker / "cache"))
    assert kernel(_double)(4) == 8


def test_importing_the_engine_writes_nothing(tmp_path):
    """Issue 15: no side effects at import. The same process compiling a kernel does write (the check
    can see a write)."""
    env = {**os.environ, "RULEBOOK_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)}
    script = "import engine, engine.sim.simulate, engine.run.backtest\n"
    subprocess.run([sys.executable, "-c", script], env=env, check=True, cwd=tmp_path)
    assert not (tmp_path / "cache").exists()
    compile_one = script + ("from engine.sim.kernel_cache import kernel\n"
                            "from tests.test_kernel_cache import _double\nkernel(_double)(1)\n")
    subprocess.run([sys.executable, "-c", compile_one], env={**env, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT}"},
                   check=True, cwd=ROOT)
    assert any((tmp_path / "cache").rglob("*.nbi"))


def test_a_constant_edited_in_another_file_is_never_served_from_the_cache(tmp_path):
    """numba compiles a global number in: a step reading its offsets from the file that declares the
    rule (no kernel in it, so in no digest) would run with the old offsets after that file changed.
    The same kernel file, its offset file edited between two processes, must give the new answer; and
    without the constants in the stamp (the fault) the second process serves the stale kernel."""
    (tmp_path / "offsets.py").write_text("OFFSET = 1\n")
    (tmp_path / "step.py").write_text("from engine.sim.kernel_cache import kernel\nfrom offsets import OFFSET\n\n\n"
                                      "@kernel\ndef shifted(x):\n    return x + OFFSET\n")
    env = {**os.environ, "RULEBOOK_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}

    def run(script: str = "") -> int:
        code = script + "from step import shifted\nprint(shifted(1))\n"
        return int(subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=tmp_path,
                                  capture_output=True, text=True).stdout)

    assert run() == 2
    (tmp_path / "offsets.py").write_text("OFFSET = 5\n")
    assert run() == 6
    (tmp_path / "offsets.py").write_text("OFFSET = 1\n")
    assert run() == 2  # served from the cache again (same stamp as the first run)
    no_constants = "from engine.sim import kernel_cache\nkernel_cache.frozen_constants = lambda f: ''\n"
    assert run(no_constants) == 2
    (tmp_path / "offsets.py").write_text("OFFSET = 5\n")
    assert run(no_constants) == 2  # stale: what the stamp above prevents


def test_closures_of_one_function_are_all_reused_by_the_next_process(tmp_path):
    """The loop is one function closed over different session steps (with rules, without: a run with a
    benchmark builds both). Each must be loaded by the next process, not recompiled: closures freezing
    different numbers once shared one index whose stamp differed per closure, so every save wiped the
    other's entry and every warm run recompiled one loop (tens of seconds)."""
    (tmp_path / "closures.py").write_text(
        "from engine.sim.kernel_cache import kernel\n\n\ndef make(offset):\n    def shifted(x):\n"
        "        return x + offset\n    return kernel(shifted, key=f'offset {offset}')\n")
    env = {**os.environ, "RULEBOOK_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    code = ("from closures import make\nfirst, second = make(1), make(5)\n"
            "print(first(1), second(1), *[sum(f.stats.cache_misses.values()) for f in (first, second)])\n")

    def run() -> list[int]:
        return [int(x) for x in subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=tmp_path,
                                               capture_output=True, text=True).stdout.split()]

    assert run() == [2, 6, 1, 1]  # compiled (a miss each)
    assert run() == [2, 6, 0, 0]  # both loaded


def test_two_first_runs_saving_at_once_never_cross_their_kernels(tmp_path, monkeypatch):
    """Two processes compile different closures of the loop at once; each read the index before the other
    wrote it. Process A writes the index, then B writes index and data, then A's data lands: numbered by
    the index they read, both kernels went to one data file and B's key served A's machine code."""
    from numba.core.caching import IndexDataCacheFile

    def files(cls):
        return [cls(str(tmp_path / cls.__name__), "loop", "stamp") for _ in range(2)]

    def race(a, b):
        held = []
        monkeypatch.setattr(a, "_save_data", lambda name, data: held.append((name, data)))
        a.save("key a", "kernel a")
        monkeypatch.setattr(b, "_load_index", lambda: {})  # B read the index before A wrote it
        b.save("key b", "kernel b")
        type(a)._save_data(a, *held[0])  # A's data lands last
        return type(a)(a._cache_path, "loop", "stamp").load("key b")

    (tmp_path / "IndexDataCacheFile").mkdir()
    (tmp_path / "_KernelCacheFile").mkdir()
    assert race(*files(IndexDataCacheFile)) == "kernel a"  # numba's numbering: the fault
    assert race(*files(kernel_cache._KernelCacheFile)) == "kernel b"


def test_frozen_constants_follow_callees_closures_and_module_attributes():
    from engine.sim import rule_layout
    from engine.sim.kernel_cache import frozen_constants
    from strategies.steps.stop_loss import stop_loss_step

    found = frozen_constants(stop_loss_step)
    assert f"COST={rule_layout.COST}" in found  # read from engine.sim.rule_layout
    assert "BLOCK_COOLDOWN=" in found  # read by exit_by_rule_nb, a kernel the step calls
    assert "numpy.inf=inf" in found  # np.inf, a module attribute
    offset = 7

    def closure(x):
        return x + offset

    assert frozen_constants(closure) == "offset=7"



def test_closures_compiled_in_different_processes_never_run_each_others_code(tmp_path):
    """numba names compiled code by qualified name and a per-process counter, and a caller links a callee by
    that name to the first code loaded under it. Two processes compiling different closures (the loop over two
    rule sets, each calling its session step) can give both the same names; a third process loading both then
    ran the first's session step in the second's loop (seen as a wrong leave-one-out CAGR in
    tests/test_attribution.py). Here the counter is forced equal, as it is in two warm runs compiling only their
    session step and loop."""
    (tmp_path / "closures.py").write_text(
        "import numpy as np\nfrom engine.sim.kernel_cache import kernel\n\n\ndef make(offset):\n"
        "    def shifted(x):\n        out = np.empty_like(x)\n        for i in range(x.size):\n"
        "            v = x[i] + offset\n            if v > 100.0:\n                v = np.sqrt(v) * np.log(v)\n"
        "            out[i] = v\n        return out\n    inner = kernel(shifted, key=f'shifted {offset}')\n\n"
        "    def twice(x):\n        return inner(inner(x))\n    return kernel(twice, key=f'twice {offset}')\n")
    env = {**os.environ, "RULEBOOK_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    same_names = ("import itertools\nimport numpy as np\nfrom numba.core.bytecode import FunctionIdentity\n"
                  "FunctionIdentity._unique_ids = itertools.count(1)\nfrom closures import make\n")

    def run(code: str) -> list[float]:
        return [float(x) for x in subprocess.run([sys.executable, "-c", same_names + code], env=env, check=True,
                                                 cwd=tmp_path, capture_output=True, text=True).stdout.split()]

    assert run("print(make(1)(np.zeros(1))[0])") == [2.0]  # compiled in one process
    assert run("print(make(5)(np.zeros(1))[0])") == [10.0]  # the other closure, in another
    assert run("first, second = make(1), make(5)\nprint(first(np.zeros(1))[0], second(np.zeros(1))[0],"
               " *[sum(f.stats.cache_misses.values()) for f in (first, second)])") == [2.0, 10.0, 0, 0]  # both loaded
