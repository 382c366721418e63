"""report.pdf written by a second process while this one does the rest (the PDF is most of a report's time).

The CLI opens ``pdf_in_background()`` before it simulates: a forked child imports the PDF stack
(matplotlib, reportlab) and reads its fonts on the other core meanwhile, then waits.
``write_reports`` hands it the report model and the PDF's path and writes report.html itself;
the child draws half the charts while a grandchild forked from it draws the other half (the
parent only waits by then: two cores, two drawers), then writes report.pdf (atomically, into
the same temporary run folder) and answers.

Nothing is left behind: an error in the child is raised in the parent, which then discards the
folder as for any error; the parent never leaves the block while the child may still write (on
an error or Ctrl-C it kills and reaps it; the child ignores Ctrl-C and leaves that to the parent),
and each child dies with its parent (PR_SET_PDEATHSIG). Linux only; elsewhere, or from the Python
API outside this block (a notebook's kernel should not fork), the PDF is written in process.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import signal
import struct
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from engine.errors import RulebookError

_HEADER = struct.Struct("!Q")
_PR_SET_PDEATHSIG = 1
_worker: PdfWorker | None = None


@contextlib.contextmanager
def pdf_in_background(enabled: bool = True) -> Iterator[None]:
    """Within this block the first report.pdf is written by a child process forked now (if ``enabled``;
    Linux): it imports the PDF stack while the block's work goes on, then draws the PDF while this
    process writes the HTML. Not for a notebook (its kernel should not fork)."""
    global _worker
    worker = PdfWorker.start() if enabled and sys.platform.startswith("linux") else None
    previous, _worker = _worker, worker
    try:
        yield
    finally:
        _worker = previous
        if worker is not None:
            worker.close()


def take_worker() -> PdfWorker | None:
    """The waiting child, if any; each serves one PDF."""
    global _worker
    worker, _worker = _worker, None
    return worker


class PdfWorker:
    """A forked child: ``submit`` a message, ``result`` waits for its answer (or raises its error)."""

    def __init__(self, pid: int, jobs: int, answers: int) -> None:
        self.pid, self._jobs, self._answers = pid, jobs, answers
        self._sender: threading.Thread | None = None

    @classmethod
    def start(cls, serve: Callable[[int, int], None] | None = None) -> PdfWorker | None:
        """Fork a child running ``serve(jobs, answers)`` (default: write one PDF); None if it cannot fork."""
        try:
            job_read, job_write = os.pipe()
            answer_read, answer_write = os.pipe()
            parent = os.getpid()
            pid = os.fork()
        except OSError:
            return None  # no fork here (or no resources): the work is done in process
        if pid == 0:
            code = 1
            try:
                os.close(job_write)
                os.close(answer_read)
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it kills this process
                _die_with(parent)
                (serve or _serve_pdf)(job_read, answer_write)
                code = 0
            finally:
                os._exit(code)  # never the parent's atexit handlers or buffered output
        os.close(job_read)
        os.close(answer_write)
        return cls(pid, job_write, answer_read)

    def submit(self, *job) -> None:
        """Send ``job`` from a thread: a pipe holds 64 KB, and a child still importing must not hold this
        process up until it reads the rest."""
        payload = pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)
        self._sender = threading.Thread(target=_send_quietly, args=(self._jobs, payload), daemon=True)
        self._sender.start()

    def result(self):
        """The child's answer, or its error raised here."""
        answer = _receive(self._answers)
        self.close()
        if answer is None:
            raise RulebookError("the process writing report.pdf ended without finishing it; nothing was written. "
                                "Fix: run the command again (or write the reports with `rulebook report RUN_DIR`)")
        status, value = pickle.loads(answer)
        if status == "error":
            raise value
        return value

    def close(self) -> None:
        """Stop the child (if it still runs) and reap it; safe to call twice."""
        if self.pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)
        if self._sender is not None:  # the reader is gone, so its write has ended: join it before the close
            self._sender.join()
        for fd in (self._jobs, self._answers):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.pid = None


def _serve_pdf(jobs: int, answers: int) -> None:
    """The PDF child: get ready, wait for one job (EOF: none is coming), write the PDF, answer its path."""
    try:
        from engine.report.pdf import register_fonts

        register_fonts()
    except Exception:  # noqa: BLE001 - a real problem shows again when the job runs, and is answered then
        pass
    job = _receive(jobs)
    if job is not None:
        _answer(answers, lambda: str(_write_pdf(*pickle.loads(job))))


def _write_pdf(report, destination: str) -> Path:
    """The PDF, its charts drawn half here and half in a grandchild (the parent only waits meanwhile)."""
    from engine.report.pdf import chart_width, draw_charts, report_charts, write_pdf
    from engine.report.pdf_charts import pdf_charts

    width = chart_width(report)
    mine, theirs = split_charts(report_charts(report))  # the layout waits for both halves: equal halves
    helper = PdfWorker.start(lambda _, answers: _answer(answers, lambda: pdf_charts(theirs, width / 72.0))
                             ) if theirs else None
    try:
        drawn = draw_charts(mine, width)
        if theirs:
            drawn |= draw_charts(theirs, width, helper.result() if helper is not None else None)
    finally:
        if helper is not None:
            helper.close()
    return write_pdf(report, Path(destination), drawn)


def split_charts(charts: list) -> tuple[list, list]:
    """Two lists of about equal drawing time, each in report order: longest first, each to the lighter list."""
    cost = {id(chart): _cost(chart) for chart in charts}
    lists, loads = ([], []), [0.0, 0.0]
    for chart in sorted(charts, key=lambda c: -cost[id(c)]):
        lighter = int(loads[1] < loads[0])
        lists[lighter].append(chart)
        loads[lighter] += cost[id(chart)]
    order = {id(chart): i for i, chart in enumerate(charts)}
    return tuple(sorted(part, key=lambda c: order[id(c)]) for part in lists)


def _cost(chart) -> float:
    """Drawing time in matplotlib in units of a small line chart, ~25 ms (measured on the column's report)."""
    heavy = {"heatmap": 3.3, "stacked_bars": 3.5, "stacked_area": 3.8, "area": 1.8, "bars": 1.3}
    return heavy.get(chart.kind, 1.0 + chart.data.size / 10_000)


def _answer(answers: int, work: Callable[[], object]) -> None:
    try:
        answer = ("ok", work())
    except BaseException as error:  # noqa: BLE001 - every failure goes back to the parent
        answer = ("error", _portable(error))
    _send(answers, pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL))


def _portable(error: BaseException) -> BaseException:
    """``error`` if it survives pickling, else a RulebookError with its text."""
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:  # noqa: BLE001
        return RulebookError(f"writing report.pdf failed: {type(error).__name__}: {error}")


def _die_with(parent: int) -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent was already gone before the line above
        os._exit(1)


def _send_quietly(fd: int, payload: bytes) -> None:
    with contextlib.suppress(OSError):  # the child is gone (EPIPE): result() says so
        _send(fd, payload)


def _send(fd: int, payload: bytes) -> None:
    data = memoryview(_HEADER.pack(len(payload)) + payload)
    while data:
        data = data[os.write(fd, data):]


def _receive(fd: int) -> bytes | None:
    """One message, or None at end of file (the other side closed or died)."""
    header = _read_exactly(fd, _HEADER.size)
    if header is None:
        return None
    return _read_exactly(fd, _HEADER.unpack(header)[0])


def _read_exactly(fd: int, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
