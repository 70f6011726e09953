"""Searchers: Ray Tune ``Searcher`` adapters over the one search-space model."""

from __future__ import annotations

from typing import Any

from search_spaces import SearchSpace
from tuner.searchers.base import SpaceSearcher
from tuner.searchers.random import RandomSearcher

__all__ = ["RandomSearcher", "SpaceSearcher", "make_searcher"]


def make_searcher(
    name: str, space: SearchSpace, metric: str, mode: str, seed: int, options: dict[str, Any] | None = None
) -> SpaceSearcher:
    """Create the searcher called ``name``; the spec has already checked the name and options."""
    if name == "random":
        return RandomSearcher(space, metric=metric, mode=mode, seed=seed)
    raise ValueError(f"unknown searcher {name!r}")
