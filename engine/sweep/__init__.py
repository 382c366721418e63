"""Sweeps: many variants of one config, run fast and compared fairly."""
