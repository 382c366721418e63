"""The kernel cache is dropped when any file compiled into the simulation loop changes."""

from __future__ import annotations

import shutil

from engine.sim.kernel_cache import KERNEL_SOURCES, ROOT, drop_stale


def _copy_sources(tmp_path):
    for source in KERNEL_SOURCES:
        (tmp_path / source).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / source, tmp_path / source)


def _fake_cache(tmp_path):
    files = [tmp_path / "engine" / "sim" / "__pycache__" / "loop.simulate_books_nb-27.py311.nbi",
             tmp_path / "strategies" / "__pycache__" / "caps._cap_rows_nb-155.py311.1.nbc"]
    for path in files:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"compiled")
    return files


def test_an_edit_to_an_inlined_file_drops_every_cached_kernel(tmp_path):
    _copy_sources(tmp_path)
    _fake_cache(tmp_path)
    drop_stale(tmp_path)  # first sight: no digest yet
    files = _fake_cache(tmp_path)
    assert drop_stale(tmp_path) is False  # nothing changed: the cache stays
    assert all(path.exists() for path in files)

    rules = tmp_path / "engine" / "sim" / "rule_kernels.py"  # not the loop's own file: numba would not notice
    rules.write_text(rules.read_text() + "\n# edited\n")
    assert drop_stale(tmp_path) is True
    assert not any(path.exists() for path in files)
    unrelated = tmp_path / "engine" / "sim" / "__pycache__" / "other.f-1.py311.nbi"
    unrelated.write_bytes(b"compiled")
    rules.write_text(rules.read_text() + "\n# edited again\n")
    drop_stale(tmp_path)
    assert unrelated.exists()  # other modules' kernels check their own files
