"""A Ray Tune callback that keeps trials.parquet and results.parquet up to date while trials run."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cloudpickle
import pyarrow as pa
from ConfigSpace.hyperparameters import (
    CategoricalHyperparameter,
    Constant,
    FloatHyperparameter,
    IntegerHyperparameter,
    OrdinalHyperparameter,
)
from ray.tune import Callback

from search_spaces import SearchSpace, to_native
from tuner.store import RESULTS_FILE, TRIALS_FILE, ExperimentStore

logger = logging.getLogger(__name__)

# Keys of a Ray Tune result that are bookkeeping, not metrics of the trainable.
_RAY_RESULT_KEYS = {
    "done", "training_iteration", "trial_id", "date", "timestamp", "time_this_iter_s", "time_total_s",
    "pid", "hostname", "node_ip", "time_since_restore", "iterations_since_restore", "checkpoint_dir_name",
    "config", "experiment_tag", "should_checkpoint",
}


def config_column_type(hyperparameter: Any) -> pa.DataType:
    """Return the Arrow type of a hyperparameter's column: the common type of its values, else string."""
    if isinstance(hyperparameter, IntegerHyperparameter):
        return pa.int64()
    if isinstance(hyperparameter, FloatHyperparameter):
        return pa.float64()
    if isinstance(hyperparameter, CategoricalHyperparameter):
        values = hyperparameter.choices
    elif isinstance(hyperparameter, OrdinalHyperparameter):
        values = hyperparameter.sequence
    elif isinstance(hyperparameter, Constant):
        values = (hyperparameter.value,)
    else:
        return pa.string()
    kinds = {type(to_native(value)) for value in values}
    if kinds == {bool}:
        return pa.bool_()
    if kinds == {int}:
        return pa.int64()
    if kinds <= {int, float}:
        return pa.float64()
    return pa.string()


def _column_value(value: Any, column_type: pa.DataType) -> Any:
    if value is None:
        return None
    if pa.types.is_string(column_type):
        return str(value)
    if pa.types.is_floating(column_type):
        return float(value)
    return value


def _now() -> datetime:
    return datetime.now(UTC)


def _duration_s(record: TrialRecord) -> float | None:
    """Return the seconds an ended trial ran: Ray Tune's count once it reported, else the wall time.

    Ray Tune restores its count with a checkpoint, so the time an interrupted experiment waited
    for ``tuner resume`` does not count.
    """
    if record.ended_at is None or record.started_at is None:
        return None
    if record.time_total_s is not None:
        return record.time_total_s
    return (record.ended_at - record.started_at).total_seconds()


@dataclass
class TrialRecord:
    """The results store's record of one trial."""

    trial_id: str
    config: dict[str, Any]
    status: str = "PENDING"
    started_at: datetime | None = None
    ended_at: datetime | None = None
    n_epochs: int = 0
    best_value: float | None = None
    best_epoch: int | None = None
    last_metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    checkpoint: str | None = None
    checkpoint_value: float | None = None
    trial_dir: str | None = None
    working_dir: str | None = None
    # Ray Tune's time_total_s of the last result: seconds the trainable ran, summed over restores.
    time_total_s: float | None = None
    stop_decided: bool = False


class ResultsRecorder(Callback):
    """Records every trial and every reported result, writing the tables at most every ``flush_interval_s``.

    The final tables are written when the experiment ends. Status ``STOPPED`` marks a trial that a
    scheduler, a stopper or the time budget ended before its trainable returned, and a trial whose
    stop was requested (``control/stop/<trial_id>``) even when its trainable returned.
    """

    def __init__(
        self,
        store: ExperimentStore,
        space: SearchSpace,
        metric: str,
        mode: str,
        max_epochs: int | None = None,
        flush_interval_s: float = 1.0,
    ) -> None:
        self.store = store
        self.max_epochs = max_epochs
        self.space = space
        self.metric = metric
        self.mode = mode
        self.flush_interval_s = flush_interval_s
        self.trials: dict[str, TrialRecord] = {}
        self.results: list[dict[str, Any]] = []
        self._metric_names: list[str] = []
        self._last_flush = 0.0
        self._dirty = False
        self._column_types = {name: config_column_type(space[name]) for name in space.names}
        self.cut_at_end: list[str] = []

    # Ray Tune hooks. Each records the event, then writes when the last write is old enough.

    def on_step_end(self, iteration: int, trials: list, **info: Any) -> None:
        for trial in trials:
            if trial.trial_id not in self.trials:
                self._record(trial)
                self._dirty = True
        self._maybe_flush()

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        record = self._record(trial)
        record.status = "RUNNING"
        record.started_at = record.started_at or _now()
        record.trial_dir = trial.path
        record.working_dir = _working_directory(trial)
        self._changed()

    def on_trial_recover(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        record = self._record(trial)
        record.status = "PENDING"
        logger.info("trial %s failed and will be retried", trial.trial_id)
        self._changed()

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        record = self._record(trial)
        record.status = "RUNNING"
        epoch = int(result.get("training_iteration", record.n_epochs + 1))
        if epoch <= record.n_epochs:
            # The trial continues from a checkpoint after a resume or a retry and reports these
            # epochs again, so their new rows replace those reported before the restore.
            self.results = [
                row for row in self.results if row["trial_id"] != trial.trial_id or row["training_iteration"] < epoch
            ]
        record.n_epochs = epoch
        record.time_total_s = float(result.get("time_total_s") or 0.0)
        metrics = {
            key: float(value)
            for key, value in result.items()
            if key not in _RAY_RESULT_KEYS and isinstance(value, int | float) and not isinstance(value, bool)
        }
        record.last_metrics.update(metrics)
        value = metrics.get(self.metric)
        if value is not None and math.isfinite(value) and self._better(value, record.best_value):
            record.best_value = value
            record.best_epoch = epoch
        if result.get("done"):
            # Ray Tune marks a result done only when a scheduler or stopper decided to stop the
            # trial after it. A trainable that returns is completed without another result.
            record.stop_decided = True
        for key in metrics:
            if key not in self._metric_names:
                self._metric_names.append(key)
        self.results.append(
            {
                "trial_id": trial.trial_id,
                "training_iteration": epoch,
                "time": _now(),
                "time_total_s": float(result.get("time_total_s") or 0.0),
                **metrics,
            }
        )
        self._changed()

    def on_checkpoint(self, iteration: int, trials: list, trial: Any, checkpoint: Any, **info: Any) -> None:
        record = self._record(trial)
        value = record.last_metrics.get(self.metric)
        # On a tie the newer checkpoint wins, as in Ray Tune, which keeps only the best one.
        replaces = (
            record.checkpoint is None
            or record.checkpoint_value is None
            or (value is not None and not self._better(record.checkpoint_value, value))
        )
        if replaces:
            record.checkpoint = checkpoint.path
            record.checkpoint_value = value
            self._changed()

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        record = self._record(trial)
        record.status = self._final_status(record, returned=bool(trial.last_result.get("done")))
        if record.status == "TERMINATED" and self._stop_requested(trial.trial_id):
            # A trainable that watches for stop requests itself, such as the command trainable,
            # returns normally when it ends its run on one.
            record.status = "STOPPED"
        record.ended_at = _now()
        self._changed()

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        record = self._record(trial)
        record.status = "ERROR"
        record.ended_at = _now()
        record.error = trial_error_text(trial)
        logger.warning("trial %s failed: %s", trial.trial_id, record.error)
        self._changed(force=True)

    def get_state(self) -> dict[str, Any]:
        """Return every record, for Ray Tune to save with the experiment so that a resumed run keeps them."""
        return {"trials": self.trials, "results": self.results, "metric_names": self._metric_names}

    def set_state(self, state: dict[str, Any]) -> None:
        """Take back the records of an interrupted run."""
        self.trials = state["trials"]
        self.results = state["results"]
        self._metric_names = state["metric_names"]
        self._dirty = True

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        # Ray Tune ends the trials still running when a time budget runs out or the run is
        # interrupted, and it calls no on_trial_complete for them. Both cases look the same here.
        # So such trials are recorded as STOPPED, and the runner calls mark_interrupted() when the
        # run was interrupted.
        self.cut_at_end = []
        for trial in trials:
            record = self._record(trial)
            if record.status == "RUNNING":
                record.status = "STOPPED"
                record.ended_at = record.ended_at or _now()
                self.cut_at_end.append(record.trial_id)
        self.flush()

    def mark_interrupted(self) -> None:
        """Record the trials cut off by an interrupt as PENDING: ``tuner resume`` runs them again."""
        for trial_id in self.cut_at_end:
            record = self.trials[trial_id]
            record.status = "PENDING"
            record.ended_at = None
        self.flush()

    def n_finished(self) -> int:
        """Number of trials that ended: TERMINATED, STOPPED or ERROR."""
        return sum(record.status in ("TERMINATED", "STOPPED", "ERROR") for record in self.trials.values())

    # Bookkeeping.

    def _record(self, trial: Any) -> TrialRecord:
        record = self.trials.get(trial.trial_id)
        if record is None:
            config = {key: value for key, value in (trial.config or {}).items() if key in self._column_types}
            record = TrialRecord(trial_id=trial.trial_id, config=config)
            self.trials[trial.trial_id] = record
        return record

    def _final_status(self, record: TrialRecord, returned: bool) -> str:
        """TERMINATED for a trial that ran to its end, STOPPED for one ended early."""
        # A trial that reported all its epochs ran to its end, even when a scheduler then stopped
        # it: ASHA stops trials at max_t, and Hyperband pauses them there before ending them.
        if self.max_epochs is not None and record.n_epochs >= self.max_epochs:
            return "TERMINATED"
        if record.stop_decided:
            return "STOPPED"
        return "TERMINATED" if returned else "STOPPED"

    def _stop_requested(self, trial_id: str) -> bool:
        try:
            return trial_id in self.store.stop_requests()
        except OSError as error:
            logger.warning(
                "could not read the stop requests of %s (%s), so trial %s is recorded as TERMINATED",
                self.store.path, error, trial_id,
            )
            return False

    def _better(self, value: float, incumbent: float | None) -> bool:
        if incumbent is None:
            return True
        return value > incumbent if self.mode == "max" else value < incumbent

    def _changed(self, force: bool = False) -> None:
        self._dirty = True
        self._maybe_flush(force)

    def _maybe_flush(self, force: bool = False) -> None:
        if self._dirty and (force or time.monotonic() - self._last_flush >= self.flush_interval_s):
            self.flush()

    def flush(self) -> None:
        """Write both tables now."""
        try:
            self.store.write_table(TRIALS_FILE, self.trials_table())
            self.store.write_table(RESULTS_FILE, self.results_table())
        except OSError as error:
            logger.warning(
                "could not write the results tables of %s: %s; they will be written again at the next change",
                self.store.path, error,
            )
            return
        self._dirty = False
        self._last_flush = time.monotonic()

    def best(self) -> TrialRecord | None:
        """Return the trial with the best metric so far, or ``None``; failed trials do not count."""
        scored = [
            record for record in self.trials.values() if record.best_value is not None and record.status != "ERROR"
        ]
        if not scored:
            return None
        pick = max if self.mode == "max" else min
        return pick(scored, key=lambda record: record.best_value)

    def trials_table(self) -> pa.Table:
        """Build the trials table: one row per trial, a typed ``config.<name>`` column per hyperparameter."""
        records = list(self.trials.values())
        columns: dict[str, pa.Array] = {
            "trial_id": pa.array([record.trial_id for record in records], pa.string()),
            "status": pa.array([record.status for record in records], pa.string()),
        }
        for name, column_type in self._column_types.items():
            values = [_column_value(record.config.get(name), column_type) for record in records]
            columns[f"config.{name}"] = pa.array(values, column_type)
        columns[self.metric] = pa.array([record.best_value for record in records], pa.float64())
        columns["best_epoch"] = pa.array([record.best_epoch for record in records], pa.int64())
        columns["n_epochs"] = pa.array([record.n_epochs for record in records], pa.int64())
        timestamp = pa.timestamp("us", tz="UTC")
        columns["started_at"] = pa.array([record.started_at for record in records], timestamp)
        columns["ended_at"] = pa.array([record.ended_at for record in records], timestamp)
        columns["duration_s"] = pa.array([_duration_s(record) for record in records], pa.float64())
        for name in self._metric_names:
            columns[f"last.{name}"] = pa.array([record.last_metrics.get(name) for record in records], pa.float64())
        columns["error"] = pa.array([record.error for record in records], pa.string())
        columns["checkpoint"] = pa.array([record.checkpoint for record in records], pa.string())
        columns["trial_dir"] = pa.array([record.trial_dir for record in records], pa.string())
        columns["working_dir"] = pa.array([record.working_dir for record in records], pa.string())
        return pa.table(columns)

    def results_table(self) -> pa.Table:
        """Build the results table: one row per reported result, a float column per metric."""
        columns: dict[str, pa.Array] = {
            "trial_id": pa.array([row["trial_id"] for row in self.results], pa.string()),
            "training_iteration": pa.array([row["training_iteration"] for row in self.results], pa.int64()),
            "time": pa.array([row["time"] for row in self.results], pa.timestamp("us", tz="UTC")),
            "time_total_s": pa.array([row["time_total_s"] for row in self.results], pa.float64()),
        }
        for name in self._metric_names:
            columns[name] = pa.array([row.get(name) for row in self.results], pa.float64())
        return pa.table(columns)


def _working_directory(trial: Any) -> str | None:
    """Return the local folder where Ray Tune writes the trial's stdout and stderr while it runs.

    The path is on the node that runs the trial; with a local Ray that is this machine.
    """
    try:
        return trial.storage.trial_working_directory
    except (AttributeError, RuntimeError):
        return None


def trial_error_text(trial: Any) -> str:
    """Return the error of a failed trial as ``ExceptionType: message``, without Ray's wrapping."""
    error = _pickled_error(trial)
    cause = getattr(error, "cause", None) or error
    if cause is not None and str(cause):
        return f"{type(cause).__name__}: {cause}"
    text = _error_text(trial)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "the trial failed without an error message"


def _pickled_error(trial: Any) -> Any:
    try:
        error = trial.get_pickled_error()
    except Exception:  # noqa: BLE001 - an unreadable error file must not break recording
        error = None
    # Ray Tune writes the error files into the trial's local folder first and copies them to the
    # storage later, so the storage copy may not exist yet when the callback runs.
    folder = getattr(trial, "local_path", None) or trial.path
    if error is not None or not folder:
        return error
    path = Path(folder) / "error.pkl"
    try:
        return cloudpickle.loads(path.read_bytes())
    except Exception:  # noqa: BLE001 - the file may be missing or hold an unpicklable error
        return None


def _error_text(trial: Any) -> str:
    folder = getattr(trial, "local_path", None) or trial.path
    if folder:
        path = Path(folder) / "error.txt"
        if path.is_file():
            return path.read_text(encoding="utf-8", errors="replace")
    try:
        return str(trial.get_error() or "")
    except Exception:  # noqa: BLE001
        return ""
