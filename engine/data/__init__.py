"""Datasets: files on disk, their schema and calendar, importers, checks and the synthetic sample."""
