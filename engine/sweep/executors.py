"""Where chunks of variants run: in this process, or sharded across a Dask cluster.

Both executors run the same function on the same chunks and return the results in
chunk order, so a comparison does not depend on where it ran. ``done(n)`` is called
as each chunk of ``n`` variants finishes (in completion order), for the progress bar.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from engine.errors import RulebookError

Done = Callable[[int], None]


class LocalExecutor:
    """One chunk after another in this process (the caches of data and pipelines are shared)."""

    name = "local"

    def map(self, fn: Callable[[Sequence], Any], chunks: list[Sequence], done: Done) -> list[Any]:
        results = []
        for chunk in chunks:
            results.append(fn(chunk))
            done(len(chunk))
        return results


# a worker samples its threads' stacks every 10 ms for the dashboard's profile: about 10% more CPU on a sweep
NO_PROFILER = {"distributed.worker.profile.enabled": False}


class DaskExecutor:
    """Chunks as tasks on a Dask distributed cluster: the scheduler at ``scheduler`` (tcp://host:8786),
    else a LocalCluster of ``n_workers`` (threads in this process, or processes with ``processes=True``).

    The local default is one worker thread in this process: the simulation of a chunk already runs on
    every core, and in this process the chunks share the data and pipelines already loaded, so a local
    cluster takes as long as the local executor (worker processes would each import, load the data and
    run the pipelines again). Workers of a real cluster need rulebook installed and the dataset folder at
    the same path as here; each loads it once and keeps it for every chunk it runs.
    """

    name = "dask"

    def __init__(self, scheduler: str | None = None, *, n_workers: int = 1, processes: bool = False):
        self.scheduler, self.n_workers, self.processes = scheduler, n_workers, processes

    def map(self, fn: Callable[[Sequence], Any], chunks: list[Sequence], done: Done) -> list[Any]:
        try:
            import dask.config
            import dask.distributed  # noqa: F401 (here: a missing install is one line, not a traceback)
        except ImportError:
            raise RulebookError("--executor dask needs Dask distributed; fix: pip install 'rulebook[dask]'") from None
        with dask.config.set(NO_PROFILER):  # read as workers start and as they sample
            return self._run(fn, chunks, done)

    def _run(self, fn: Callable[[Sequence], Any], chunks: list[Sequence], done: Done) -> list[Any]:
        from dask.distributed import Client, LocalCluster, as_completed

        cluster = None
        if self.scheduler is None:
            # each worker's simulation runs numba threads: share the cores out instead of oversubscribing them
            threads = {"NUMBA_NUM_THREADS": str(max(1, (os.cpu_count() or 1) // self.n_workers))}
            cluster = LocalCluster(n_workers=self.n_workers, threads_per_worker=1, processes=self.processes,
                                   dashboard_address=None, **({"env": threads} if self.processes else {}))
        try:
            with Client(cluster if cluster is not None else self.scheduler) as client:
                futures = client.map(fn, chunks, pure=False)
                sizes = {future.key: len(chunk) for future, chunk in zip(futures, chunks)}
                for future in as_completed(futures):
                    future.result()  # a failed chunk raises here, with its own traceback
                    done(sizes[future.key])
                return client.gather(futures)
        except OSError as exc:
            raise RulebookError(f"cannot reach the Dask scheduler {self.scheduler}: {exc}; fix: start it with "
                                "`dask scheduler` and pass its address, e.g. --scheduler tcp://HOST:8786") from None
        finally:
            if cluster is not None:
                cluster.close()


def make_executor(name: str, scheduler: str | None = None) -> LocalExecutor | DaskExecutor:
    if name == "local":
        if scheduler is not None:
            raise RulebookError("--scheduler needs --executor dask")
        return LocalExecutor()
    if name == "dask":
        return DaskExecutor(scheduler)
    raise RulebookError(f"unknown executor '{name}'; fix: use --executor local or --executor dask")
