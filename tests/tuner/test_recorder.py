"""The results recorder across a resume: redone epochs and trial durations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from search_spaces import load_space
from tuner import recorder as recorder_module
from tuner.recorder import ResultsRecorder
from tuner.store import ExperimentStore

SPACE = {"hyperparameters": {"x1": {"type": "float", "low": 0.0, "high": 1.0}}}
START = datetime(2026, 1, 1, tzinfo=UTC)


class Clock:
    """A stand-in for the recorder's clock that moves only through advance()."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(recorder_module, "_now", clock)
    return clock


def make_recorder(tmp_path: Path) -> ResultsRecorder:
    store = ExperimentStore(str(tmp_path), "curve")
    return ResultsRecorder(store, load_space(SPACE, Path(".")), "value", "min", max_epochs=4)


def make_trial(tmp_path: Path) -> SimpleNamespace:
    return SimpleNamespace(
        trial_id="t0000001",
        config={"x1": 0.5},
        path=str(tmp_path / "curve" / "trial_t0000001"),
        storage=SimpleNamespace(trial_working_directory=str(tmp_path / "work")),
        last_result={},
    )


def report(recorder: ResultsRecorder, trial: SimpleNamespace, epoch: int, value: float, time_total_s: float) -> None:
    result = {"training_iteration": epoch, "time_total_s": time_total_s, "value": value}
    recorder.on_trial_result(0, [], trial, result)
    trial.last_result = result


def interrupted_after_four_epochs(tmp_path: Path, clock: Clock) -> tuple[ResultsRecorder, SimpleNamespace]:
    """A recorder restored from the state of a run cut off after epoch 4, as tuner resume restores it."""
    first = make_recorder(tmp_path)
    trial = make_trial(tmp_path)
    first.on_trial_start(0, [], trial)
    for epoch in range(1, 5):
        clock.advance(10)
        report(first, trial, epoch, value=1.0 / epoch, time_total_s=10.0 * epoch)
    first.on_experiment_end([trial])
    first.mark_interrupted()

    restored = make_recorder(tmp_path)
    restored.set_state(first.get_state())
    return restored, trial


def test_redone_epochs_replace_earlier_rows(tmp_path: Path, clock: Clock) -> None:
    recorder, trial = interrupted_after_four_epochs(tmp_path, clock)

    # The trial continues from its checkpoint of epoch 2 and reports epoch 3 again, then is cut off.
    recorder.on_trial_start(0, [], trial)
    report(recorder, trial, 3, value=0.3, time_total_s=30.0)
    recorder.on_experiment_end([trial])

    rows = [(row["training_iteration"], row["value"]) for row in recorder.results]
    assert rows == [(1, 1.0), (2, 0.5), (3, 0.3)]
    assert recorder.trials[trial.trial_id].n_epochs == 3


def test_resumed_trial_duration_excludes_wait(tmp_path: Path, clock: Clock) -> None:
    recorder, trial = interrupted_after_four_epochs(tmp_path, clock)

    clock.advance(3600)
    recorder.on_trial_start(0, [], trial)
    for epoch in (3, 4):
        clock.advance(10)
        report(recorder, trial, epoch, value=0.1 * epoch, time_total_s=10.0 * epoch)
    recorder.on_trial_complete(0, [], trial)
    recorder.flush()

    (row,) = recorder.store.read_trials().to_pylist()
    assert row["status"] == "TERMINATED"
    assert row["duration_s"] == 40.0
    assert row["n_epochs"] == 4
    assert recorder.store.read_results().num_rows == 4


def test_trial_failing_before_report_timed_by_clock(tmp_path: Path, clock: Clock) -> None:
    recorder = make_recorder(tmp_path)
    trial = make_trial(tmp_path)
    recorder.on_trial_start(0, [], trial)
    clock.advance(7)
    recorder.on_trial_error(0, [], trial)
    recorder.flush()

    (row,) = recorder.store.read_trials().to_pylist()
    assert row["status"] == "ERROR"
    assert row["error"] == "the trial failed without an error message"
    assert row["duration_s"] == 7.0
