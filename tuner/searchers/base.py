"""The base every searcher shares: live-trial bookkeeping, result conversion and saved state."""

from __future__ import annotations

import copy
import logging
import math
import pickle
import time
from collections import deque
from pathlib import Path
from typing import Any

from ray.tune.search import Searcher

from search_spaces import SearchSpace

logger = logging.getLogger(__name__)

# A searcher draws again this many times when it proposes a configuration that a running trial
# already has, then hands out the duplicate with a warning rather than stalling the experiment.
MAX_DUPLICATE_REDRAWS = 20


class SpaceSearcher(Searcher):
    """A Ray Tune searcher over a :class:`SearchSpace`.

    Subclasses implement :meth:`propose` and :meth:`learn`. This base keeps the configurations of
    running trials, so none is handed out twice while the first copy runs, and turns Ray Tune's
    results into one objective value: the metric of the trial's last result, or ``None`` when the
    trial failed or reported NaN or infinity. A trial stopped early by a scheduler is passed to the searcher with
    the last value it reported.
    """

    def __init__(self, space: SearchSpace, metric: str, mode: str, seed: int) -> None:
        super().__init__(metric=metric, mode=mode)
        self.space = space
        self.seed = seed
        self.live_configs: dict[str, dict[str, Any]] = {}
        self.n_suggested = 0
        self.n_completed = 0
        self.max_concurrent = 1
        self.history: list[tuple[dict[str, Any], float | None]] = []
        # (finished trials so far, seconds, handed out a configuration) of recent suggest calls, for
        # benchmarks. Bounded, because Ray Tune calls suggest on every step of its loop while a slot is free.
        self.suggest_timings: deque[tuple[int, float, bool]] = deque(maxlen=200_000)

    def set_max_concurrency(self, max_concurrent: int) -> bool:
        """Remember the number of trial slots; Ray Tune's ConcurrencyLimiter still enforces it."""
        self.max_concurrent = max_concurrent
        return False

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict, **spec: Any) -> bool:
        """Accept Ray Tune's metric and mode only when they agree with the searcher's own."""
        return (metric is None or metric == self.metric) and (mode is None or mode == self.mode)

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        """Return the next configuration, ``None`` to be asked later, or ``Searcher.FINISHED``."""
        started = time.perf_counter()
        config = self._suggest_checked(trial_id)
        handed_out = isinstance(config, dict)
        self.suggest_timings.append((self.n_completed, time.perf_counter() - started, handed_out))
        return config

    def _suggest_checked(self, trial_id: str) -> dict[str, Any] | None:
        config = self.propose(trial_id)
        if config is None or config == Searcher.FINISHED:
            return config
        for _ in range(MAX_DUPLICATE_REDRAWS):
            if config not in self.live_configs.values():
                break
            self.discard(trial_id, config)
            config = self.propose(trial_id)
            if config is None or config == Searcher.FINISHED:
                return config
        else:
            logger.warning(
                "searcher %s proposed configuration %s, which a running trial already has, %d times in a row; "
                "running it twice. A small discrete search space causes this; enlarge it or lower trials.",
                type(self).__name__, config, MAX_DUPLICATE_REDRAWS,
            )
        self.live_configs[trial_id] = config
        self.n_suggested += 1
        return config

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        """Tell the searcher a trial's outcome: its objective value, or ``None`` for a failure."""
        config = self.live_configs.pop(trial_id, None)
        if config is None:
            return
        if result is None and not error:
            # Ray Tune removed the trial before it ran (a time budget ran out, say): there is no
            # outcome to learn from.
            self.discard(trial_id, config)
            return
        value = None if error else self.objective(result)
        self.n_completed += 1
        self.history.append((config, value))
        self.learn(trial_id, config, value)

    def tell_known(self, config: dict[str, Any], value: float | None) -> None:
        """Tell the searcher a result obtained elsewhere: a warm start or a design table's known result.

        ``config`` must be valid in the space; ``value`` is the metric in the experiment's mode.
        """
        self.history.append((config, value))
        self.learn(f"known-{len(self.history)}", config, value)

    def objective(self, result: dict | None) -> float | None:
        """Return the metric of a result as a finite float, or ``None`` when it is missing, NaN or infinite."""
        if not result or self.metric not in result:
            return None
        try:
            value = float(result[self.metric])
        except (TypeError, ValueError):
            return None
        return value if math.isfinite(value) else None

    def propose(self, trial_id: str) -> dict[str, Any] | None:
        """Return a new configuration of native values, ``None`` for not yet, or ``FINISHED``."""
        raise NotImplementedError

    def discard(self, trial_id: str, config: dict[str, Any]) -> None:
        """Forget a configuration that will never run: a duplicate of a running trial, or a removed trial."""

    def learn(self, trial_id: str, config: dict[str, Any], value: float | None) -> None:
        """Take a finished trial into account; ``value`` is ``None`` for a failed trial."""

    def get_state(self) -> dict[str, Any]:
        """Return the searcher's state, for :meth:`set_state` after a restart."""
        return {
            "live_configs": copy.deepcopy(self.live_configs),
            "n_suggested": self.n_suggested,
            "n_completed": self.n_completed,
            "history": copy.deepcopy(self.history),
        }

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`get_state` returned."""
        self.live_configs = state["live_configs"]
        self.n_suggested = state["n_suggested"]
        self.n_completed = state["n_completed"]
        self.history = state.get("history", [])

    def save(self, checkpoint_path: str) -> None:
        """Write the state atomically to ``checkpoint_path``."""
        path = Path(checkpoint_path)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_bytes(pickle.dumps(self.get_state()))
        temporary.replace(path)

    def restore(self, checkpoint_path: str) -> None:
        """Read the state that :meth:`save` wrote."""
        self.set_state(pickle.loads(Path(checkpoint_path).read_bytes()))  # noqa: S301 - our own file
