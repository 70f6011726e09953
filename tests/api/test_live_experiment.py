"""The service over experiments that are running: real runs on the session's Ray, and tables rewritten while read."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
from fastapi.testclient import TestClient

from tests.api.conftest import AUTHORIZATION, TOKEN, record_experiment
from tests.background import BackgroundRun, wait_until
from tuner.api import create_app
from tuner.spec import load_experiment


def _running_trials(client: TestClient, name: str, min_epochs: int) -> list[str]:
    response = client.get(f"/api/experiments/{name}/leaderboard", params={"status": "RUNNING"})
    if response.status_code != 200:
        return []
    return [trial["trial_id"] for trial in response.json()["trials"] if (trial["n_epochs"] or 0) >= min_epochs]


def _both_running(client: TestClient) -> list[str] | None:
    running = _running_trials(client, "live", 2)
    return running if len(running) == 2 else None


def test_running_experiment_followed_and_stopped_over_http(
    ray_session: Any, make_spec_file: Any, tmp_path: Path
) -> None:
    path = make_spec_file(
        {
            "name": "live",
            "trainable": {"name": "tests.trainables_for_tests:printing_epochs", "args": {"max_epochs": 400}},
            "trials": 2,
            "slots": 2,
        }
    )
    storage = tmp_path / "results"
    run = BackgroundRun(load_experiment(path))

    with TestClient(create_app(str(storage), TOKEN)) as client:
        running = wait_until(lambda: _both_running(client), 120, "two running trials with 2 epochs each")
        first = running[0]
        tail = client.get(f"/api/experiments/live/trials/{first}/log", params={"lines": 1})
        log_url = f"/api/experiments/live/trials/{first}/log"
        with client.stream("GET", log_url, params={"follow": "true", "lines": 1}) as followed:
            chunks = followed.iter_text()
            followed_lines = (next(chunks) + next(chunks)).splitlines()
        stops = [
            client.post(f"/api/experiments/live/trials/{trial_id}/stop", headers=AUTHORIZATION) for trial_id in running
        ]
        run.join(120)

        board = client.get("/api/experiments/live/leaderboard").json()
        summary = client.get("/api/experiments/live").json()
        ended_log = client.get(f"/api/experiments/live/trials/{first}/log", params={"lines": 1})
        best = board["trials"][0]
        weights = client.get("/api/experiments/live/best/weights/weights.bin")

    assert tail.status_code == 200
    assert tail.headers["x-log-file"] == "stdout"
    assert tail.text.startswith("epoch ")
    assert followed.status_code == 200
    assert len(followed_lines) >= 2
    assert all(line.startswith("epoch ") for line in followed_lines)
    assert [stop.status_code for stop in stops] == [202, 202]
    assert {trial["status"] for trial in board["trials"]} == {"STOPPED"}
    assert all(trial["n_epochs"] < 400 for trial in board["trials"])
    assert summary["state"] == "finished"
    assert summary["n_done"] == 2
    assert ended_log.text.startswith(f"epoch {int(ended_log.text.split()[1])} value")
    # Every epoch improves the value, so the best checkpoint is the last epoch the trial ran.
    assert weights.status_code == 200
    assert weights.headers["x-trial-id"] == best["trial_id"]
    assert weights.content == f"epoch {best['n_epochs']}".encode("ascii")


def test_reads_never_fail_while_tables_are_rewritten(storage: Path) -> None:
    experiment = record_experiment(storage)
    trials = experiment.store.read_trials()
    versions = [trials, trials.filter(pc.not_equal(trials["trial_id"], "a0000001"))]
    stop = threading.Event()
    n_writes = 0

    def rewrite() -> None:
        nonlocal n_writes
        while not stop.is_set() and n_writes < 2000:
            experiment.store.write_table("trials.parquet", versions[n_writes % 2])
            n_writes += 1

    writer = threading.Thread(target=rewrite)
    writer.start()
    try:
        with TestClient(create_app(str(storage), TOKEN)) as client:
            responses = [client.get("/api/experiments/cnn/leaderboard") for _ in range(150)]
            responses += [client.get("/api/experiments") for _ in range(50)]
    finally:
        stop.set()
        writer.join(30)

    assert n_writes > 10
    assert [response.status_code for response in responses] == [200] * 200
    assert {response.json()["n_matched"] for response in responses[:150]} <= {4, 5}
