"""A searcher base whose model works on a thread of its own, so Ray Tune's loop never waits on it.

Ray Tune calls ``suggest`` and ``on_trial_complete`` on its event loop. A model-based searcher
(SMAC's random forest, Optuna's Gaussian process) can take seconds to fit, so here a worker thread
does all asking and telling: ``suggest`` returns a prepared configuration or ``None`` ("ask again
later"), and results go to the worker through a queue.

The worker prepares a configuration only when the prepared ones plus the running trials are fewer
than the trial slots, and it tells every finished result before it asks again. With one slot the
sequence of configurations is therefore the same as a plain ask-tell loop with the same seed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Any

from ray.tune.search import Searcher

from search_spaces import SearchSpace
from tuner.searchers.base import SpaceSearcher

logger = logging.getLogger(__name__)


class ThreadedSearcher(SpaceSearcher):
    """Runs :meth:`ask_model` and :meth:`tell_model` on one worker thread.

    Subclasses implement those two (and :meth:`model_finished`); they are never called on Ray
    Tune's thread, and never concurrently.
    """

    def __init__(self, space: SearchSpace, metric: str, mode: str, seed: int) -> None:
        super().__init__(space, metric, mode, seed)
        self._starting_points: deque[dict[str, Any]] = deque()
        self._init_worker_state()

    def _init_worker_state(self) -> None:
        self._condition = threading.Condition()
        self._ready: deque[dict[str, Any]] = deque()
        self._to_tell: deque[tuple[dict[str, Any], float | None]] = deque()
        self._finished = False
        self._closed = False
        self._error: BaseException | None = None
        self._worker: threading.Thread | None = None

    def reset_model(self) -> None:
        """Create the model afresh and empty; :meth:`__setstate__` then passes it the history again."""
        raise NotImplementedError

    # Ray Tune pickles the searcher with the Tuner. Threads, locks and the libraries' models do not
    # pickle, so a copy keeps the history and rebuilds its model from it.
    _UNPICKLED = ("_condition", "_ready", "_to_tell", "_finished", "_closed", "_error", "_worker", "suggest_timings")

    def __getstate__(self) -> dict[str, Any]:
        state = {key: value for key, value in self.__dict__.items() if key not in self._UNPICKLED}
        for key in self.model_attributes():
            state.pop(key, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.suggest_timings = deque(maxlen=200_000)
        self._init_worker_state()
        self.reset_model()
        self._to_tell.extend(self.history)

    def model_attributes(self) -> tuple[str, ...]:
        """Attributes that hold the library's model; :meth:`reset_model` recreates them."""
        return ()

    def add_starting_points(self, configs: list[dict[str, Any]]) -> None:
        """Hand out these configurations first, in order, before the model proposes any."""
        with self._condition:
            self._starting_points.extend(dict(config) for config in configs)
            self._condition.notify_all()

    # Ray Tune's thread.

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        """Hand out a prepared configuration at once, ``None`` while none is ready, or ``FINISHED``."""
        started = time.perf_counter()
        config = self._take_ready(trial_id)
        self.suggest_timings.append((self.n_completed, time.perf_counter() - started, isinstance(config, dict)))
        return config

    def _take_ready(self, trial_id: str) -> dict[str, Any] | None:
        self._start_worker()
        with self._condition:
            if self._error is not None:
                raise RuntimeError(f"searcher {type(self).__name__} failed: {self._error}") from self._error
            if self._ready:
                config = self._ready.popleft()
                self.live_configs[trial_id] = config
                self.n_suggested += 1
                self._condition.notify_all()
                return config
            if self._finished and not self._to_tell:
                return Searcher.FINISHED
            self._condition.notify_all()
            return None

    def discard(self, trial_id: str, config: dict[str, Any]) -> None:
        with self._condition:
            self.live_configs.pop(trial_id, None)
            self._condition.notify_all()

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        with self._condition:
            super().on_trial_complete(trial_id, result, error)
            self._condition.notify_all()

    def learn(self, trial_id: str, config: dict[str, Any], value: float | None) -> None:
        with self._condition:
            self._to_tell.append((config, value))
            self._condition.notify_all()

    def close(self) -> None:
        """Stop the worker thread."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    # Worker thread.

    def _start_worker(self) -> None:
        if self._worker is None:
            self._worker = threading.Thread(target=self._work, name=f"{type(self).__name__}-worker", daemon=True)
            self._worker.start()

    def _wants_configuration(self) -> bool:
        return not self._finished and len(self._ready) + len(self.live_configs) < self.max_concurrent

    def _work(self) -> None:
        while True:
            with self._condition:
                while not self._closed and not self._to_tell and not self._wants_configuration():
                    self._condition.wait(1.0)
                if self._closed:
                    return
                pending = list(self._to_tell)
                self._to_tell.clear()
                ask = not pending and self._wants_configuration()
                starting_point = self._starting_points.popleft() if ask and self._starting_points else None
            try:
                for config, value in pending:
                    self.tell_model(config, value)
                if starting_point is not None:
                    config = starting_point
                else:
                    config = self.ask_model() if ask else None
            except Exception as error:  # noqa: BLE001 - reported to Ray Tune's thread by propose()
                logger.exception("searcher %s failed on its worker thread", type(self).__name__)
                with self._condition:
                    self._error = error
                    self._condition.notify_all()
                return
            with self._condition:
                if config is None and ask:
                    self._finished = True
                elif config is not None:
                    self._ready.append(config)
                self._condition.notify_all()

    def ask_model(self) -> dict[str, Any] | None:
        """Return the model's next configuration, or ``None`` when the space is used up."""
        raise NotImplementedError

    def tell_model(self, config: dict[str, Any], value: float | None) -> None:
        """Tell the model one result; ``None`` is a failed trial."""
        raise NotImplementedError

    def set_state(self, state: dict[str, Any]) -> None:
        """Rebuild the model afresh and tell it every finished trial again.

        Ray Tune restores a searcher before it requests the first configuration, so the worker
        is not using the model meanwhile.
        """
        super().set_state(state)
        with self._condition:
            self._ready.clear()
            self._to_tell.clear()
            self.reset_model()
            self._to_tell.extend(self.history)
            self._condition.notify_all()
