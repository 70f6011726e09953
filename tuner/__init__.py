"""How trials are scheduled, recorded and served: spec, searchers, runner, results store, command line."""

__version__ = "0.1.0"
