"""rulebook's engine: data access, calendar, simulation on vectorbt, metrics, config and CLI."""
