"""Resuming an interrupted experiment keeps what was recorded and finishes the rest."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from tests.conftest import REPO_ROOT
from tuner.cli import main
from tuner.runner import interrupted_message
from tuner.state import ExperimentState, write_experiment_state
from tuner.store import ExperimentStore

DEADLINE_S = 180


def rows_with_status(table_path: Path, status: str) -> list[dict[str, Any]]:
    try:
        rows = pq.read_table(table_path).to_pylist()
    except (OSError, ValueError):
        return []
    return [row for row in rows if row["status"] == status]


def interrupt_when(arguments: list[str], ready: Callable[[], bool], signal_number: int = signal.SIGINT) -> int:
    """Run ``python -m tuner ARGUMENTS`` with its own local Ray and send ``signal_number`` once ``ready()``.

    Returns the exit status.
    """
    pythonpath = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    environment = {**os.environ, "PYTHONPATH": pythonpath}
    environment.pop("RAY_ADDRESS", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "tuner", *arguments],
        env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline and process.poll() is None and not ready():
            time.sleep(0.5)
        process.send_signal(signal_number)
        return process.wait(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()


def test_resume_finishes_interrupted_experiment(
    ray_session: Any, make_spec_file: Any, tmp_path: Path, capsys: Any
) -> None:
    path = make_spec_file(
        {
            "name": "interrupted",
            "trainable": {"name": "tests.trainables_for_tests:slow_curve", "args": {"max_epochs": 10}},
            "trials": 6,
            "slots": 2,
        }
    )
    table = tmp_path / "results" / "interrupted" / "trials.parquet"

    interrupted_status = interrupt_when(["run", str(path)], lambda: len(rows_with_status(table, "TERMINATED")) >= 1)

    state = json.loads((tmp_path / "results" / "interrupted" / "state.json").read_text())
    assert interrupted_status == 1
    assert state["state"] == "interrupted"
    # Trials running at the interrupt end as PENDING and continue on resume. Finished ones stay.
    before = {row["trial_id"]: row for row in rows_with_status(table, "TERMINATED")}
    assert before, "the first run recorded no finished trial before the deadline"
    assert rows_with_status(table, "PENDING")

    status = main(["resume", "interrupted", "--storage", str(tmp_path / "results")])

    rows = pq.read_table(table).to_pylist()
    assert status == 0
    assert len(rows) == 6
    assert all(row["status"] == "TERMINATED" for row in rows)
    for trial_id, row in before.items():
        matching = [after for after in rows if after["trial_id"] == trial_id]
        assert len(matching) == 1
        assert matching[0]["value"] == row["value"]
    assert "experiment interrupted: 6 trials, 6 finished" in capsys.readouterr().out
    assert json.loads((tmp_path / "results" / "interrupted" / "state.json").read_text())["state"] == "finished"

    # A finished experiment is not run again.
    finished_table = table.read_bytes()
    assert main(["resume", "interrupted", "--storage", str(tmp_path / "results")]) == 2
    assert capsys.readouterr().err == (
        f"error: experiment 'interrupted' in {tmp_path / 'results'} has finished, so there is nothing to resume; "
        "start a new experiment with warm_start: interrupted to build on its trials\n"
    )
    assert table.read_bytes() == finished_table


def test_resume_interrupted_again_keeps_cut_trials_pending(
    ray_session: Any, make_spec_file: Any, tmp_path: Path
) -> None:
    path = make_spec_file(
        {
            "name": "twice",
            "trainable": {"name": "tests.trainables_for_tests:slow_curve", "args": {"max_epochs": 25}},
            "searcher": {"name": "optuna", "seed": 1},
            "trials": 6,
            "slots": 2,
        }
    )
    storage = str(tmp_path / "results")
    table = tmp_path / "results" / "twice" / "trials.parquet"
    state_file = tmp_path / "results" / "twice" / "state.json"
    assert interrupt_when(["run", str(path)], lambda: len(rows_with_status(table, "TERMINATED")) >= 1) == 1
    n_finished_first = len(rows_with_status(table, "TERMINATED"))

    status = interrupt_when(["resume", "twice", "--storage", storage], lambda: bool(rows_with_status(table, "RUNNING")))

    assert status == 1
    assert json.loads(state_file.read_text())["state"] == "interrupted"
    assert rows_with_status(table, "STOPPED") == []
    assert rows_with_status(table, "PENDING")
    assert len(rows_with_status(table, "TERMINATED")) < 6
    assert len(rows_with_status(table, "TERMINATED")) >= n_finished_first

    assert main(["resume", "twice", "--storage", storage]) == 0
    rows = pq.read_table(table).to_pylist()
    assert [row["status"] for row in rows] == ["TERMINATED"] * 6
    assert all(row["n_epochs"] == 25 for row in rows)
    # The restored searcher goes on with its random start instead of drawing the first ones again.
    assert len({(row["config.x1"], row["config.x2"]) for row in rows}) == 6
    assert json.loads(state_file.read_text())["state"] == "finished"


def test_sigterm_ends_run_as_interrupted(make_spec_file: Any, tmp_path: Path) -> None:
    path = make_spec_file(
        {
            "name": "terminated",
            "trainable": {"name": "tests.trainables_for_tests:slow_curve", "args": {"max_epochs": 100}},
            "trials": 2,
            "slots": 2,
        }
    )
    table = tmp_path / "results" / "terminated" / "trials.parquet"

    status = interrupt_when(["run", str(path)], lambda: len(rows_with_status(table, "RUNNING")) == 2, signal.SIGTERM)

    assert status == 1
    assert json.loads((tmp_path / "results" / "terminated" / "state.json").read_text())["state"] == "interrupted"
    assert len(rows_with_status(table, "PENDING")) == 2


def test_resume_refused_while_run_alive(
    ray_session: Any, make_spec_file: Any, tmp_path: Path, capsys: Any
) -> None:
    path = make_spec_file({"name": "alive", "trials": 2})
    assert main(["run", str(path)]) == 0
    store = ExperimentStore(str(tmp_path / "results"), "alive")
    now = datetime.now(UTC)
    # Another driver that still writes its heartbeat.
    write_experiment_state(store, ExperimentState("running", now, now))
    capsys.readouterr()

    assert main(["resume", "alive", "--storage", str(tmp_path / "results")]) == 2

    assert capsys.readouterr().err == (
        f"error: experiment 'alive' in {tmp_path / 'results'} is still running (its heartbeat is recent); "
        "resume it only after that run has ended\n"
    )


def test_hyperband_interrupt_points_to_warm_start() -> None:
    assert interrupted_message("bands", "/data/results", "hyperband") == (
        "experiment bands was interrupted; its tables hold every trial recorded so far. tuner resume does not "
        "support the hyperband scheduler; reuse its trials in a new experiment with warm_start: bands"
    )


def test_ctrl_c_outside_ray_tune_names_resume(tmp_path: Path, capsys: Any, monkeypatch: Any) -> None:
    def interrupted_early(storage: str, name: str, verbose: bool = False) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("tuner.runner.resume_experiment", interrupted_early)

    assert main(["resume", "early", "--storage", str(tmp_path)]) == 1

    assert capsys.readouterr().err == (
        "error: interrupted; the tables hold every trial recorded so far. "
        f"Continue it with: tuner resume early --storage {tmp_path}\n"
    )
