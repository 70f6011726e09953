"""A Ray Tune callback that reports one progress snapshot at a time instead of Ray's tables."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ray.tune import Callback

from tuner.recorder import ResultsRecorder


@dataclass(frozen=True)
class Progress:
    """Trial counts, the best value so far and the elapsed time of a running experiment."""

    n_trials: int
    n_done: int
    n_running: int
    n_failed: int
    metric: str
    best_value: float | None
    elapsed_s: float
    # Trials that were still running when the run ended, by an interrupt or the time budget.
    n_cut: int = 0

    def line(self) -> str:
        """Format one line for a terminal, such as ``12/20 done, 2 running, 1 failed, best val_accuracy 0.97, 0:41``."""
        best = f"{self.best_value:.4g}" if self.best_value is not None else "-"
        minutes, seconds = divmod(int(self.elapsed_s), 60)
        cut = f", {self.n_cut} cut off" if self.n_cut else ""
        return (
            f"{self.n_done}/{self.n_trials} done, {self.n_running} running, {self.n_failed} failed{cut}, "
            f"best {self.metric} {best}, {minutes}:{seconds:02d}"
        )


class ProgressCallback(Callback):
    """Calls ``emit`` with a :class:`Progress` when counts change, at most every ``interval_s``."""

    def __init__(
        self, recorder: ResultsRecorder, n_trials: int, emit: Callable[[Progress], None], interval_s: float = 0.5
    ) -> None:
        self.recorder = recorder
        self.n_trials = n_trials
        self.emit = emit
        self.interval_s = interval_s
        self._started = time.monotonic()
        self._last_emit = 0.0
        self._last_counts: tuple[int, ...] | None = None

    def snapshot(self) -> Progress:
        """Return the progress now."""
        statuses = [record.status for record in self.recorder.trials.values()]
        best = self.recorder.best()
        return Progress(
            n_trials=self.n_trials,
            n_done=sum(status in ("TERMINATED", "STOPPED", "ERROR") for status in statuses),
            n_running=statuses.count("RUNNING"),
            n_failed=statuses.count("ERROR"),
            metric=self.recorder.metric,
            best_value=best.best_value if best else None,
            elapsed_s=time.monotonic() - self._started,
        )

    def on_step_end(self, iteration: int, trials: list, **info: Any) -> None:
        now = time.monotonic()
        if now - self._last_emit < self.interval_s:
            return
        progress = self.snapshot()
        counts = (progress.n_done, progress.n_running, progress.n_failed)
        if counts != self._last_counts or now - self._last_emit >= 5.0:
            self._last_counts = counts
            self._last_emit = now
            self.emit(progress)

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        # The recorder, called first, has marked the trials it cut off; they are not done.
        progress = self.snapshot()
        n_cut = len(self.recorder.cut_at_end)
        self.emit(dataclasses.replace(progress, n_done=progress.n_done - n_cut, n_cut=n_cut))
