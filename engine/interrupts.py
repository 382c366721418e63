"""Ctrl-C while rulebook writes: recorded even where a library swallows it, so nothing is committed."""

from __future__ import annotations

import signal
import sys
import threading


class interrupt_guard:
    """Ctrl-C while writing aborts the write even if a library swallowed the KeyboardInterrupt.

    Inside the guard (main thread only) SIGINT records itself before raising; ``check()`` before
    the final rename raises KeyboardInterrupt if one was recorded, so nothing is committed. A
    KeyboardInterrupt that lands in a callback Python cannot raise from (a weakref finaliser during
    PDF rendering) is not printed as "Exception ignored": it is recorded, and acted on at the check.
    """

    def __enter__(self) -> "interrupt_guard":
        self.interrupted, self._installed = False, False
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.getsignal(signal.SIGINT)
            if self._previous is not signal.SIG_IGN:
                signal.signal(signal.SIGINT, self._record)
                self._installed, self._unraisable = True, sys.unraisablehook
                sys.unraisablehook = self._unraisable_interrupt
        return self

    def _unraisable_interrupt(self, unraisable) -> None:
        if not (self.interrupted and isinstance(unraisable.exc_value, KeyboardInterrupt)):
            self._unraisable(unraisable)

    def _record(self, signum, frame) -> None:
        self.interrupted = True
        if callable(self._previous):
            self._previous(signum, frame)
        raise KeyboardInterrupt

    def check(self) -> None:
        if self.interrupted:
            raise KeyboardInterrupt

    def __exit__(self, *exc) -> bool:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous if self._previous is not None else signal.SIG_DFL)
            sys.unraisablehook = self._unraisable
        return False
