"""Random search: independent draws from the search space, seeded and reproducible."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from search_spaces import SearchSpace
from tuner.searchers.base import SpaceSearcher


class RandomSearcher(SpaceSearcher):
    """Draws configurations uniformly (log-uniformly on log scales) from the space.

    ConfigSpace's sampler honours conditions and forbidden combinations. The sequence depends
    only on the seed, never on results, so the same seed gives the same configurations.
    """

    def __init__(self, space: SearchSpace, metric: str, mode: str, seed: int) -> None:
        super().__init__(space, metric, mode, seed)
        # A private copy, so the draws do not depend on anyone else sampling the same space.
        self._sampler = SearchSpace(copy.deepcopy(space.configspace), space.source)
        self._sampler.configspace.seed(seed)

    def propose(self, trial_id: str) -> dict[str, Any] | None:
        return self._sampler.sample(1)[0]

    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        state["random_state"] = self._sampler.configspace.random.get_state()
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        random = np.random.RandomState()
        random.set_state(state["random_state"])
        self._sampler.configspace.random = random
