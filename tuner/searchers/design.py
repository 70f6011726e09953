"""A planned design of experiments: the rows of a design table, run in order."""

from __future__ import annotations

from typing import Any

from ray.tune.search import Searcher

from search_spaces import SearchSpace
from tuner.searchers.base import SpaceSearcher


class DesignSearcher(SpaceSearcher):
    """Hands out the given configurations in order, then reports ``FINISHED``.

    The experiment ends after the last row even when its ``trials`` is larger.
    """

    def __init__(self, space: SearchSpace, metric: str, mode: str, seed: int, configs: list[dict[str, Any]]) -> None:
        super().__init__(space, metric, mode, seed)
        self.configs = list(configs)
        self.position = 0

    def _suggest_checked(self, trial_id: str) -> dict[str, Any] | None:
        # A design may repeat a configuration on purpose (replicates), so no duplicate check here.
        if self.position >= len(self.configs):
            return Searcher.FINISHED
        config = dict(self.configs[self.position])
        self.position += 1
        self.live_configs[trial_id] = config
        self.n_suggested += 1
        return config

    def get_state(self) -> dict[str, Any]:
        return {**super().get_state(), "position": self.position}

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        self.position = state["position"]
