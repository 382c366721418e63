"""Errors a user can act on: each names where the problem is and how to fix it."""

from __future__ import annotations


class RulebookError(Exception):
    """Base class of every error rulebook raises on purpose."""


class DataError(RulebookError):
    """Bad input data: says which file, which column (or field) and what to do."""

    def __init__(self, file: str, field: str | None, problem: str, fix: str):
        self.file, self.field, self.problem, self.fix = str(file), field, problem, fix
        where = f"{self.file}" + (f", column '{field}'" if field else "")
        super().__init__(f"{where}: {problem}. Fix: {fix}")

    def __reduce__(self):  # picklable (it crosses from the background PDF process)
        return type(self), (self.file, self.field, self.problem, self.fix)


class ConfigError(RulebookError):
    """Bad configuration: says which file, the path of the bad key and what to do."""

    def __init__(self, file: str, path: str, problem: str, fix: str = ""):
        self.file, self.path, self.problem, self.fix = str(file), path, problem, fix
        msg = f"{self.file}: '{path}': {problem}"
        super().__init__(msg + (f". Fix: {fix}" if fix else ""))

    def __reduce__(self):
        return type(self), (self.file, self.path, self.problem, self.fix)
