"""Helpers for tests that run an experiment while they watch it: a background run and a bounded wait."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from tuner.runner import RunSummary, run_experiment
from tuner.spec import Experiment


class BackgroundRun:
    """An experiment running on a thread of the test process, with its summary or error once it ends."""

    def __init__(self, experiment: Experiment) -> None:
        self.summary: RunSummary | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(experiment,), name="experiment", daemon=True)
        self._thread.start()

    def _run(self, experiment: Experiment) -> None:
        try:
            self.summary = run_experiment(experiment)
        except BaseException as error:  # noqa: BLE001 - handed to the test through join()
            self.error = error

    def join(self, timeout_s: float) -> RunSummary:
        """Wait for the end of the run and return its summary; fail the test if it does not end in time."""
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            raise AssertionError(f"the experiment was still running after {timeout_s} s")
        if self.error is not None:
            raise self.error
        assert self.summary is not None
        return self.summary


def wait_until(condition: Callable[[], Any], timeout_s: float, description: str, interval_s: float = 0.1) -> Any:
    """Poll ``condition`` until it returns something true and return that; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {description}")
