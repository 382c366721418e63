"""Atomic writers: a failure leaves the destination as it was and no temporary files."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.atomic import write_file_atomically, write_folder_atomically
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
