"""Ray Tune hooks through which the service observes and controls a running experiment.

:class:`StopRequestStopper` stops the trials whose stop the service requested, and
:class:`ExperimentHeartbeat` keeps state.json current so the service can tell a running
experiment from one whose process died.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ray.tune import Callback, Stopper

from tuner.state import HEARTBEAT_INTERVAL_S, STATE_FILE, ExperimentState, write_experiment_state
from tuner.store import ExperimentStore

logger = logging.getLogger(__name__)


class StopRequestStopper(Stopper):
    """Stops a trial at its next reported result once a stop has been requested for it.

    Ray Tune marks that result ``done``, ends the trial, and calls the scheduler's and the
    searcher's ``on_trial_complete``, so the trial is recorded as ``STOPPED`` and its slot goes to
    the next trial. The stop requests are read at most every ``poll_interval_s``, because Ray Tune
    calls a stopper on every result of every trial.

    Warning:
        A trial is stopped only when it reports. In Ray Tune 2.60 a function trainable can end
        only inside ``ray.tune.report``, so even a stop through the controller leaves its slot busy
        until then. A trainable that reports rarely therefore stops late; it should report at
        least every few seconds, or watch ``control/stop/<trial_id>`` itself, as the command
        trainable does.
    """

    def __init__(
        self,
        store: ExperimentStore,
        poll_interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.poll_interval_s = poll_interval_s
        self.clock = clock
        self._requested: set[str] = set()
        self._read_at = float("-inf")

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        if trial_id not in self._stop_requests():
            return False
        logger.info("experiment %s: stopping trial %s on request", self.store.name, trial_id)
        return True

    def stop_all(self) -> bool:
        return False

    def _stop_requests(self) -> set[str]:
        now = self.clock()
        if now - self._read_at >= self.poll_interval_s:
            try:
                self._requested = self.store.stop_requests()
            except OSError as error:
                logger.warning(
                    "could not read the stop requests of %s: %s; requested trials go on until the next read",
                    self.store.path, error,
                )
            self._read_at = now
        return self._requested


class ExperimentHeartbeat(Callback):
    """Marks the experiment ``running`` in state.json and refreshes its heartbeat while Ray Tune's loop runs."""

    def __init__(self, store: ExperimentStore, interval_s: float = HEARTBEAT_INTERVAL_S) -> None:
        self.store = store
        self.interval_s = interval_s
        self.started_at = datetime.now(UTC)
        self._last_write = float("-inf")

    def start(self) -> None:
        """Write ``running`` now, before Ray Tune starts."""
        self._write("running")

    def end(self, state: str) -> None:
        """Write the final state: ``finished``, ``failed`` or ``interrupted``."""
        self._write(state, ended_at=datetime.now(UTC))

    def on_step_end(self, iteration: int, trials: list, **info: Any) -> None:
        if time.monotonic() - self._last_write >= self.interval_s:
            self._write("running")

    def _write(self, state: str, ended_at: datetime | None = None) -> None:
        try:
            write_experiment_state(self.store, ExperimentState(state, self.started_at, datetime.now(UTC), ended_at))
        except OSError as error:
            logger.warning(
                "could not write %s/%s: %s; the service may show the experiment as interrupted until the next write",
                self.store.path, STATE_FILE, error,
            )
            return
        self._last_write = time.monotonic()
