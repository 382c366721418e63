"""The `rulebook` command line: argument parsing and printing over the library."""

import os
import sys


def _quiet_interrupt(kind, error, tb, default=sys.excepthook):
    """Ctrl-C before a command starts (while its libraries import) exits 130 without a traceback."""
    if issubclass(kind, KeyboardInterrupt):
        sys.stderr.write("interrupted: nothing was written\n")
        sys.stderr.flush()
        os._exit(130)
    default(kind, error, tb)


sys.excepthook = _quiet_interrupt
