"""rulebook's engine: data access, calendar, simulation (orders through vectorbt), metrics, config and CLI."""

from engine.sim.kernel_cache import drop_stale

drop_stale()  # before any compiled kernel loads from numba's cache
