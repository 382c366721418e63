"""Atomic writers: a failure leaves the destination as it was and no temporary files."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine import atomic
from engine.atomic import update_folder_atomically, write_file_atomically, write_folder_atomically
from engine.errors import RulebookError


def test_folder_failure_leaves_nothing(tmp_path: Path) -> None:
    def fill(folder: Path) -> None:
        (folder / "a.txt").write_text("half")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_folder_atomically(tmp_path / "run", fill)
    assert list(tmp_path.iterdir()) == []


def test_folder_refuses_to_overwrite_unless_asked(tmp_path: Path) -> None:
    write_folder_atomically(tmp_path / "run", lambda f: (f / "a.txt").write_text("1"))
    with pytest.raises(RulebookError, match="already exists"):
        write_folder_atomically(tmp_path / "run", lambda f: (f / "a.txt").write_text("2"))
    assert (tmp_path / "run" / "a.txt").read_text() == "1"
    write_folder_atomically(tmp_path / "run", lambda f: (f / "b.txt").write_text("3"), replace=True)
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["b.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_file_failure_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "x.parquet"
    write_file_atomically(target, lambda p: p.write_text("old"))

    def broken(path: Path) -> None:
        path.write_text("partial")
        raise OSError("disk full")

    with pytest.raises(OSError):
        write_file_atomically(target, broken)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.parquet"]


def test_two_writers_of_one_destination_one_wins_and_nothing_is_replaced(tmp_path: Path) -> None:
    """The second writer finishes after the first renamed its folder into place (the race the
    existence check at the start cannot see): it gets an error, the first folder stays whole."""
    target = tmp_path / "run"

    def slow_fill(folder: Path) -> None:
        (folder / "a.txt").write_text("second")
        write_folder_atomically(target, lambda f: (f / "a.txt").write_text("first"))  # wins meanwhile

    with pytest.raises(RulebookError, match="written by another command while this one ran"):
        write_folder_atomically(target, slow_fill)
    assert (target / "a.txt").read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_default_names_never_collide(tmp_path: Path) -> None:
    made = [write_folder_atomically(tmp_path / "run-20250101T000000Z", lambda f, i=i: (f / "i").write_text(str(i)),
                                    unique=True) for i in range(3)]
    assert [p.name for p in made] == ["run-20250101T000000Z", "run-20250101T000000Z-2", "run-20250101T000000Z-3"]
    assert [(p / "i").read_text() for p in made] == ["0", "1", "2"]


def test_rename_without_renameat2_still_refuses_a_finished_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(atomic, "_renameat2", lambda *args: False)  # e.g. macOS, old kernels
    write_folder_atomically(tmp_path / "run", lambda f: (f / "a.txt").write_text("first"))
    with pytest.raises(RulebookError):
        write_folder_atomically(tmp_path / "run", lambda f: (f / "a.txt").write_text("second"))
    assert (tmp_path / "run" / "a.txt").read_text() == "first"
    update_folder_atomically(tmp_path / "run", lambda f: (f / "b.txt").write_text("new"))  # swap by two renames
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["a.txt", "b.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_update_replaces_the_set_or_leaves_the_old_one(tmp_path: Path) -> None:
    folder = write_folder_atomically(tmp_path / "run", lambda f: [(f / n).write_text("old") for n in ("a", "b")])

    def half(copy: Path) -> None:
        (copy / "a").write_text("new")
        raise KeyboardInterrupt  # Ctrl-C between the two files of the set

    with pytest.raises(KeyboardInterrupt):
        update_folder_atomically(folder, half)
    assert {p.name: p.read_text() for p in folder.iterdir()} == {"a": "old", "b": "old"}
    update_folder_atomically(folder, lambda copy: [(copy / n).write_text("new") for n in ("a", "b")])
    assert {p.name: p.read_text() for p in folder.iterdir()} == {"a": "new", "b": "new"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_a_swallowed_interrupt_still_stops_the_commit(tmp_path: Path) -> None:
    """Some libraries catch KeyboardInterrupt (a weakref callback during PDF rendering): the guard
    remembers the signal and refuses to rename."""
    def swallowing(folder: Path) -> None:
        (folder / "a.txt").write_text("x")
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)
        except KeyboardInterrupt:
            pass  # swallowed

    with pytest.raises(KeyboardInterrupt):
        write_folder_atomically(tmp_path / "run", swallowing)
    assert list(tmp_path.iterdir()) == []


def test_leftovers_of_killed_processes_are_swept(tmp_path: Path) -> None:
    dead = _dead_pid()
    (tmp_path / f".run.{dead}-abc123.new{atomic.TMP_SUFFIX}").mkdir()
    (tmp_path / f".x.parquet.{dead}-abc124.file{atomic.TMP_SUFFIX}").write_text("partial")
    moved = tmp_path / f".kept.{dead}-abc125.old{atomic.TMP_SUFFIX}"  # a swap killed between its two renames
    moved.mkdir()
    (moved / "a").write_text("old set")
    alive = tmp_path / f".other.{os.getpid()}-abc126.new{atomic.TMP_SUFFIX}"  # a running command's: kept
    alive.mkdir()
    write_folder_atomically(tmp_path / "run", lambda f: (f / "a").write_text("1"))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["run", "kept", alive.name])
    assert (tmp_path / "kept" / "a").read_text() == "old set"
    dataset = tmp_path / "kept"
    (dataset / f".prices.parquet.{dead}-abc127.file{atomic.TMP_SUFFIX}").write_text("a killed import's")
    write_file_atomically(dataset / "prices.parquet", lambda p: p.write_text("new"))
    assert sorted(p.name for p in dataset.iterdir()) == ["a", "prices.parquet"]


def test_a_failed_file_write_removes_the_folders_it_created(tmp_path: Path) -> None:
    def full(path: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(RulebookError, match="no space left on device"):
        write_file_atomically(tmp_path / "new" / "dataset" / "prices.parquet", full)
    assert list(tmp_path.iterdir()) == []


def test_a_file_where_a_folder_should_be_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "out").write_text("not a folder")
    for target in (tmp_path / "out", tmp_path / "out" / "run"):
        with pytest.raises(RulebookError, match="is a file, not a folder"):
            write_folder_atomically(target, lambda f: None)
    assert (tmp_path / "out").read_text() == "not a folder"


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_a_file_set_appears_together_or_not_at_all(tmp_path: Path) -> None:
    orders, state = tmp_path / "orders.csv", tmp_path / "orders.state.json"
    orders.write_text("old orders")
    state.write_text("old state")
    with pytest.raises(KeyboardInterrupt):
        with atomic.file_set():
            write_file_atomically(orders, lambda p: p.write_text("new orders"))
            raise KeyboardInterrupt  # Ctrl-C before the state file is written
    assert (orders.read_text(), state.read_text()) == ("old orders", "old state")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["orders.csv", "orders.state.json"]
    with atomic.file_set():
        write_file_atomically(orders, lambda p: p.write_text("new orders"))
        assert orders.read_text() == "old orders"  # not yet: the set is renamed into place at the end
        write_file_atomically(state, lambda p: p.write_text("new state"))
    assert (orders.read_text(), state.read_text()) == ("new orders", "new state")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["orders.csv", "orders.state.json"]


def test_an_interrupt_inside_a_finaliser_is_neither_printed_nor_lost(tmp_path: Path, monkeypatch) -> None:
    """Ctrl-C landing in a weakref callback (as during PDF rendering) cannot be raised from there: Python
    would print 'Exception ignored' and carry on. The guard keeps it quiet and still stops the commit."""
    import weakref

    class Node:
        pass

    def fill(folder: Path) -> None:
        node = Node()
        keep = weakref.ref(node, lambda ref: (os.kill(os.getpid(), signal.SIGINT), sum(range(10_000))))
        del node  # the callback runs now, and the signal lands inside it
        (folder / "a.txt").write_text(str(keep))

    printed = []  # what Python's default hook would print as "Exception ignored in ..."
    monkeypatch.setattr(sys, "unraisablehook", printed.append)
    with pytest.raises(KeyboardInterrupt):
        write_folder_atomically(tmp_path / "run", fill)
    assert list(tmp_path.iterdir()) == [] and printed == []
