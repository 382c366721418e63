"""Analyses of results: metrics, drawdowns, event study, scenarios, variant statistics."""
