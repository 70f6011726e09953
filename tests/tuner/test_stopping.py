"""Stopping a trial on request: the stopper's polling, and a real run on the session's Ray."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.compute as pc

from tests.background import BackgroundRun, wait_until
from tuner.errors import NotFoundError
from tuner.run_control import StopRequestStopper
from tuner.spec import load_experiment
from tuner.state import read_experiment_state
from tuner.stop_requests import request_trial_stop
from tuner.store import ExperimentStore


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_stopper_stops_only_requested_trials(tmp_path: Path) -> None:
    store = ExperimentStore(str(tmp_path), "exp")
    store.request_stop("aaaa0001")
    stopper = StopRequestStopper(store)

    assert stopper("aaaa0001", {"training_iteration": 3}) is True
    assert stopper("aaaa0002", {"training_iteration": 3}) is False
    assert stopper.stop_all() is False


def test_stopper_reads_requests_at_most_once_per_interval(tmp_path: Path) -> None:
    store = ExperimentStore(str(tmp_path), "exp")
    clock = FakeClock()
    stopper = StopRequestStopper(store, poll_interval_s=1.0, clock=clock)
    assert stopper("aaaa0001", {}) is False

    store.request_stop("aaaa0001")
    clock.now += 0.5
    before_interval = stopper("aaaa0001", {})
    clock.now += 0.5
    after_interval = stopper("aaaa0001", {})

    assert before_interval is False
    assert after_interval is True


def _running_trial(store: ExperimentStore, min_epochs: int, exclude: set[str]) -> str | None:
    """The id of a running trial that has reported ``min_epochs`` epochs, other than those in ``exclude``."""
    try:
        trials = store.read_trials()
    except NotFoundError:
        return None
    running = trials.filter(
        pc.and_(pc.equal(trials["status"], "RUNNING"), pc.greater_equal(trials["n_epochs"], min_epochs))
    )
    ids = [trial_id for trial_id in running["trial_id"].to_pylist() if trial_id not in exclude]
    return ids[0] if ids else None


def test_requested_trials_end_stopped_and_free_their_slot(
    ray_session: Any, make_spec_file: Any, tmp_path: Path
) -> None:
    path = make_spec_file(
        {
            "name": "stoppable",
            "trainable": {"name": "tests.trainables_for_tests:printing_epochs", "args": {"max_epochs": 200}},
            "trials": 2,
            "slots": 1,
        }
    )
    store = ExperimentStore(str(tmp_path / "results"), "stoppable")
    run = BackgroundRun(load_experiment(path))

    first = wait_until(lambda: _running_trial(store, 3, set()), 120, "the first trial to report 3 epochs")
    request_trial_stop(store, first)
    second = wait_until(lambda: _running_trial(store, 3, {first}), 120, "the second trial to report 3 epochs")
    request_trial_stop(store, second)
    summary = run.join(120)

    rows = {row["trial_id"]: row for row in store.read_trials().to_pylist()}
    assert summary.n_stopped == 2
    assert rows[first]["status"] == "STOPPED"
    assert rows[second]["status"] == "STOPPED"
    assert rows[first]["n_epochs"] < 200
    assert rows[second]["n_epochs"] < 200
    # With one slot, the second trial starts only after Ray Tune notified the searcher, and so
    # its concurrency limiter, that the first one ended.
    assert rows[second]["started_at"] >= rows[first]["ended_at"]
    assert read_experiment_state(store).state == "finished"


def test_trial_stdout_recorded_and_synced_to_trial_folder(
    ray_session: Any, make_spec_file: Any, tmp_path: Path
) -> None:
    path = make_spec_file(
        {
            "name": "printing",
            "trainable": {"name": "tests.trainables_for_tests:printing_epochs", "args": {"max_epochs": 3, "epoch_s": 0.0}},
            "trials": 1,
        }
    )

    BackgroundRun(load_experiment(path)).join(120)

    store = ExperimentStore(str(tmp_path / "results"), "printing")
    [row] = store.read_trials().to_pylist()
    synced = store.local_path / f"trial_{row['trial_id']}" / "stdout"
    assert row["working_dir"].endswith(f"/printing/working_dirs/trial_{row['trial_id']}")
    assert Path(row["working_dir"], "stdout").is_file()
    assert synced.read_text(encoding="utf-8") == Path(row["working_dir"], "stdout").read_text(encoding="utf-8")
    assert synced.read_text(encoding="utf-8").splitlines()[-1].startswith("epoch 3 value ")
