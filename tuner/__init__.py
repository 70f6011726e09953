"""Scheduling, recording and serving of trials: spec, searchers, runner, results store, command line."""

__version__ = "0.1.0"
