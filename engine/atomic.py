"""Write a folder all at once: build it beside its destination, then rename it into place.

A crash, an error, a full disk or Ctrl-C while writing leaves the destination untouched
(absent, or as it was): readers never see a half-written run or dataset.

- A new folder is renamed with RENAME_NOREPLACE (Linux renameat2; elsewhere a rename onto a
  non-empty folder, which fails), so of two commands writing one destination, one wins and the
  other gets an error: nothing finished is ever replaced by accident.
- An existing folder is updated as a set (``update_folder_atomically``): a copy is changed and
  swapped in with RENAME_EXCHANGE, so an interrupt leaves the old set of files or the new one.
- Files are flushed to disk (fsync) before the rename that publishes them, and the rename after it.
- Temporary entries are named ``.<name>.<pid>-<random>.<kind>.rulebook-tmp``: hidden, and
  recognisable by the next command in the same folder, which removes those of dead processes
  (SIGKILL, power loss) and puts back a folder a killed swap had moved aside.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import re
import shutil
import signal
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from engine.errors import RulebookError
from engine.interrupts import interrupt_guard

TMP_SUFFIX = ".rulebook-tmp"
_TMP_NAME = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)-[0-9a-f]+\.(?P<kind>new|old|file)" + re.escape(TMP_SUFFIX) + "$")
_RENAME_NOREPLACE, _RENAME_EXCHANGE = 1, 2
_DISK_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS}


def write_folder_atomically(destination: Path, fill: Callable[[Path], None], *, replace: bool = False,
                            unique: bool = False) -> Path:
    """Call ``fill(tmp_dir)`` to write files, then move tmp_dir to ``destination``; return where it went.

    An existing destination is an error unless ``replace`` (then the old folder is swapped out
    only once the new one is complete) or ``unique`` (then ``<destination>-2``, ``-3``… is used:
    default run-folder names never collide, even within a second).
    """
    destination = Path(destination)
    check_destination(destination, replace=replace or unique)
    with _created_parents(destination.parent):
        sweep_stale(destination.parent)
        tmp = _temporary(destination, "new", directory=True)
        try:
            with _disk_errors(destination), interrupt_guard() as guard:
                tmp.chmod(0o755)  # mkdtemp-style privacy is wrong for a results folder
                fill(tmp)
                _flush(tmp)
                guard.check()
                target = _commit(tmp, destination, replace=replace, unique=unique)
                _flush_folder(target.parent)
                return target
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


def check_destination(destination: Path, *, replace: bool = False) -> None:
    """Refuse early (before any work) a destination that is, or lies inside, a file, or that exists."""
    destination = Path(destination)
    _refuse_file(destination)
    if destination.exists() and not replace:
        raise _exists(destination)


def update_folder_atomically(folder: Path, fill: Callable[[Path], None]) -> Path:
    """Add or replace files of an existing folder as one set.

    ``fill`` receives a copy of the folder to change; the copy is swapped in whole, so an
    interrupt or error leaves the old set of files, and success the new set, never a mix.
    Two updates of one folder at once: the second is refused instead of undoing the first.
    """
    folder = Path(folder)
    with _locked(folder):
        sweep_stale(folder.parent)
        tmp = _temporary(folder, "new", directory=True)
        try:
            with _disk_errors(folder), interrupt_guard() as guard:
                shutil.copytree(folder, tmp, dirs_exist_ok=True, copy_function=shutil.copy2)
                fill(tmp)
                _flush(tmp)
                guard.check()
                _exchange(tmp, folder)
                _flush_folder(folder.parent)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        shutil.rmtree(tmp, ignore_errors=True)  # now the old set
    return folder


def write_file_atomically(destination: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)``, then rename the temporary file over ``destination``.

    A reader sees the old file or the new one, never a partial one; folders created on the way
    are removed again if the write fails (a failed import leaves no empty dataset folder).
    """
    destination = Path(destination)
    with _created_parents(destination.parent):
        sweep_stale(destination.parent)
        tmp = _temporary(destination, "file", directory=False)
        try:
            with _disk_errors(destination), interrupt_guard() as guard:
                write(tmp)
                tmp.chmod(0o644)
                _flush(tmp)
                guard.check()
                if _FILE_SETS:
                    _FILE_SETS[-1].append((tmp, destination))
                else:
                    os.replace(tmp, destination)
                    _flush_folder(destination.parent)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    return destination


_FILE_SETS: list[list[tuple[Path, Path]]] = []


@contextlib.contextmanager
def file_set() -> Iterator[None]:
    """Files written with write_file_atomically inside this block appear together at its end, or none do.

    For sibling files that belong together outside a folder (`rulebook today`'s orders, rule state
    and rule check): each is written to a temporary file, and all are renamed into place at the end
    with SIGINT held back, so Ctrl-C leaves the old set or the new one."""
    pending: list[tuple[Path, Path]] = []
    _FILE_SETS.append(pending)
    try:
        with interrupt_guard() as guard:
            yield
            guard.check()
    except BaseException:
        for tmp, _ in pending:
            tmp.unlink(missing_ok=True)
        raise
    finally:
        _FILE_SETS.remove(pending)
    held = threading.current_thread() is threading.main_thread()
    if held:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        for tmp, destination in pending:
            os.replace(tmp, destination)
        for folder in {destination.parent for _, destination in pending}:
            _flush_folder(folder)
    finally:
        if held:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def sweep_stale(parent: Path) -> None:
    """Remove temporary entries whose process is gone; put back a folder moved aside by a killed swap."""
    try:
        entries = list(Path(parent).iterdir())
    except OSError:
        return
    for entry in entries:
        match = _TMP_NAME.match(entry.name)
        if not match or _alive(int(match["pid"])):
            continue
        original = entry.with_name(match["name"])
        if match["kind"] == "old" and not original.exists():
            os.replace(entry, original)
        elif entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


# ---- mechanics -----------------------------------------------------------------------------------

def _temporary(destination: Path, kind: str, *, directory: bool) -> Path:
    path = destination.with_name(f".{destination.name}.{os.getpid()}-{uuid.uuid4().hex[:12]}.{kind}{TMP_SUFFIX}")
    if directory:
        path.mkdir(mode=0o755)
    else:
        path.touch(exist_ok=False)
    return path


def _flush(path: Path) -> None:
    """Data on disk before the rename that publishes it (a power loss never leaves an empty file in place)."""
    for file in (path.rglob("*") if path.is_dir() else [path]):
        if file.is_file():
            fd = os.open(file, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    if path.is_dir():
        _flush_folder(path)


def _flush_folder(folder: Path) -> None:
    """The rename itself on disk (fsync of the folder holding it)."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some filesystems cannot sync a folder
        pass
    finally:
        os.close(fd)


def _commit(tmp: Path, destination: Path, *, replace: bool, unique: bool) -> Path:
    candidates = (destination.with_name(f"{destination.name}-{n}") if n > 1 else destination for n in range(1, 10_000))
    for target in candidates:
        try:
            _rename_noreplace(tmp, target)
            return target
        except FileExistsError:
            if replace:
                _exchange(tmp, target)
                shutil.rmtree(tmp)  # now the old folder
                return target
            if not unique:
                raise _exists(target, raced=True) from None
    raise _exists(destination)


def _rename_noreplace(source: Path, target: Path) -> None:
    """rename(2) that fails with FileExistsError if ``target`` exists (renameat2 RENAME_NOREPLACE)."""
    if _renameat2(source, target, _RENAME_NOREPLACE):
        return
    if target.exists():  # no renameat2 here: rename(2) onto a non-empty folder fails anyway
        raise FileExistsError(errno.EEXIST, "exists", str(target))
    try:
        os.rename(source, target)
    except OSError as error:
        if error.errno in (errno.EEXIST, errno.ENOTEMPTY):
            raise FileExistsError(errno.EEXIST, "exists", str(target)) from None
        raise


def _exchange(source: Path, target: Path) -> None:
    """Swap two folders in one step (RENAME_EXCHANGE); elsewhere move the old one aside first."""
    if _renameat2(source, target, _RENAME_EXCHANGE):
        return
    aside = _temporary(target, "old", directory=False)
    aside.unlink()
    os.rename(target, aside)
    os.rename(source, target)
    os.rename(aside, source)  # the caller removes ``source``, now the old folder


_libc = None


def _renameat2(source: Path, target: Path, flags: int) -> bool:
    """True if done; False if this system has no renameat2 (then the caller falls back)."""
    global _libc
    if _libc is None:
        try:
            _libc = ctypes.CDLL(None, use_errno=True).renameat2
            _libc.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
        except (AttributeError, OSError):
            _libc = False
    if _libc is False:
        return False
    at_cwd = -100
    if _libc(at_cwd, os.fsencode(source), at_cwd, os.fsencode(target), flags) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL):  # kernel or filesystem without it
        return False
    if code in (errno.EEXIST, errno.ENOTEMPTY):
        raise FileExistsError(code, os.strerror(code), str(target))
    raise OSError(code, os.strerror(code), str(target))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        raise RulebookError(f"{folder}: not found; give a folder written by `rulebook run`") from None
    except NotADirectoryError:
        raise RulebookError(f"{folder}: is a file, not a run folder; give a folder written by `rulebook run`") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RulebookError(f"{folder}: another rulebook command is writing into it; "
                                "wait for it to finish and run this one again") from None
        if os.stat(folder).st_ino != os.fstat(fd).st_ino:  # swapped while we waited to lock it
            raise RulebookError(f"{folder}: another rulebook command just rewrote it; run this one again")
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def _created_parents(parent: Path) -> Iterator[None]:
    """Create ``parent`` (and its missing ancestors); remove the ones created if the body fails."""
    missing = [p for p in (parent, *parent.parents) if not p.exists()]
    _refuse_file(parent)
    try:
        with _disk_errors(parent):
            parent.mkdir(parents=True, exist_ok=True)
        yield
    except BaseException:
        for folder in missing:  # deepest first
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


@contextlib.contextmanager
def _disk_errors(destination: Path) -> Iterator[None]:
    """A full (or read-only) disk becomes one line naming the destination."""
    try:
        yield
    except OSError as error:
        if error.errno in _DISK_ERRORS or "No space left" in str(error):
            reason = os.strerror(error.errno) if error.errno in _DISK_ERRORS else "No space left on device"
            raise RulebookError(f"{public_path(destination)}: could not write it ({reason.lower()}); nothing was written. "
                                "Fix: free space on that disk, or write somewhere else") from None
        raise


def public_path(path: Path) -> Path:
    """``path`` with each temporary folder of ours named as the folder it will become (for messages)."""
    parts = [match["name"] if (match := _TMP_NAME.match(part)) else part for part in Path(path).parts]
    return Path(*parts)


def _refuse_file(destination: Path) -> None:
    for path in (destination, *destination.parents):
        if path.exists():
            if not path.is_dir():
                raise RulebookError(f"{path}: is a file, not a folder; choose another output folder (--out)")
            return


def _exists(destination: Path, raced: bool = False) -> RulebookError:
    how = "was written by another command while this one ran" if raced else "already exists"
    return RulebookError(f"{destination}: {how}; choose another output folder (--out) or remove it first: "
                         "rulebook never overwrites earlier results")
