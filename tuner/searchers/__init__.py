"""Searchers: Ray Tune ``Searcher`` adapters over the one search-space model."""

from __future__ import annotations

from typing import Any

from search_spaces import SearchSpace
from tuner.searchers.base import SpaceSearcher
from tuner.searchers.random import RandomSearcher

__all__ = ["SEARCHER_NAMES", "RandomSearcher", "SpaceSearcher", "make_searcher"]

SEARCHER_NAMES = ("random", "design", "optuna", "smac")


def make_searcher(
    name: str,
    space: SearchSpace,
    metric: str,
    mode: str,
    seed: int,
    options: dict[str, Any] | None = None,
    n_trials: int = 100,
) -> SpaceSearcher:
    """Create the searcher called ``name``; the spec has already checked the name and options.

    ``options`` contains the searcher's own settings; for ``design`` it contains ``configs``, the table's
    rows. Starting points are added by the caller with ``add_starting_points``.
    """
    options = dict(options or {})
    if name == "random":
        return RandomSearcher(space, metric=metric, mode=mode, seed=seed)
    if name == "design":
        from tuner.searchers.design import DesignSearcher

        return DesignSearcher(space, metric=metric, mode=mode, seed=seed, configs=options["configs"])
    if name == "optuna":
        from tuner.searchers.optuna import OptunaSearcher

        return OptunaSearcher(space, metric=metric, mode=mode, seed=seed, options=options)
    if name == "smac":
        from tuner.searchers.smac import SmacSearcher

        return SmacSearcher(space, metric=metric, mode=mode, seed=seed, options=options, n_trials=n_trials)
    raise ValueError(f"unknown searcher {name!r}")
