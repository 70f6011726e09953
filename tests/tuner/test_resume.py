"""Resuming an interrupted experiment keeps what was recorded and finishes the rest."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from tests.conftest import REPO_ROOT
from tuner.cli import main

DEADLINE_S = 180


def terminated_rows(table_path: Path) -> list[dict[str, Any]]:
    try:
        rows = pq.read_table(table_path).to_pylist()
    except (OSError, ValueError):
        return []
    return [row for row in rows if row["status"] == "TERMINATED"]


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
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    environment.pop("RAY_ADDRESS", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "tuner", "run", str(path)],
        env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline and len(terminated_rows(table)) < 1:
            time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        interrupted_status = process.wait(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    state = json.loads((tmp_path / "results" / "interrupted" / "state.json").read_text())
    assert interrupted_status == 1
    assert state["state"] == "interrupted"
    # Trials running at the interrupt end as STOPPED and continue on resume; finished ones stay.
    before = {row["trial_id"]: row for row in terminated_rows(table)}
    assert before, "the first run recorded no finished trial before the deadline"

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
