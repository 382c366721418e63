"""rulebook's engine: data access, calendar, simulation (orders through vectorbt), metrics, config and CLI."""
