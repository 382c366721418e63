"""One backtest end to end, and the run folder it leaves behind."""
