"""The trials routes: one trial, its log (tail and follow), and stopping it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import AUTHORIZATION, TOKEN, RecordedExperiment, record_experiment
from tuner.state import ExperimentState, write_experiment_state


def test_trial_has_configuration_status_and_history(client: TestClient, experiment: RecordedExperiment) -> None:
    response = client.get("/api/experiments/cnn/trials/a0000001")

    trial = response.json()
    assert response.status_code == 200
    assert trial["status"] == "TERMINATED"
    assert trial["hyperparameters"] == {"filters": 32, "dropout": 0.1, "pool": "max"}
    assert trial["stop_requested"] is False
    assert [entry["training_iteration"] for entry in trial["history"]] == [1, 2, 3, 4]
    assert [entry["val_accuracy"] for entry in trial["history"]] == [0.5, 0.7, 0.8, 0.9]
    assert trial["history"][3]["test_accuracy"] == 0.88
    assert trial["history"][0]["test_accuracy"] is None


def test_failed_trial_has_error(client: TestClient, experiment: RecordedExperiment) -> None:
    trial = client.get("/api/experiments/cnn/trials/a0000003").json()

    assert trial["status"] == "ERROR"
    assert trial["error"] == "ValueError: kernel too large"
    assert trial["best_value"] is None
    assert trial["history"] == []


def test_log_tail_from_working_directory(
    client: TestClient, experiment: RecordedExperiment
) -> None:
    response = client.get("/api/experiments/cnn/trials/a0000004/log", params={"lines": 3})

    assert response.status_code == 200
    assert response.headers["x-log-file"] == "stdout"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == "line 298\nline 299\nline 300\n"


def test_log_stderr_on_request(client: TestClient, experiment: RecordedExperiment) -> None:
    response = client.get("/api/experiments/cnn/trials/a0000004/log", params={"file": "stderr"})

    assert response.status_code == 200
    assert response.headers["x-log-file"] == "stderr"
    assert response.text == "a warning\n"


def test_log_of_ended_trial_from_trial_folder(client: TestClient, experiment: RecordedExperiment) -> None:
    response = client.get("/api/experiments/cnn/trials/a0000001/log")

    assert response.status_code == 200
    assert response.text == "epoch 1\nepoch 2\nepoch 3\nepoch 4\n"


def test_log_prefers_process_output(client: TestClient, experiment: RecordedExperiment) -> None:
    (experiment.folder / "trial_a0000001" / "process_output.log").write_text("from the command\n", encoding="utf-8")

    response = client.get("/api/experiments/cnn/trials/a0000001/log")

    assert response.headers["x-log-file"] == "process_output.log"
    assert response.text == "from the command\n"


def test_log_missing_is_not_found(client: TestClient, experiment: RecordedExperiment) -> None:
    response = client.get("/api/experiments/cnn/trials/a0000003/log")

    assert response.status_code == 404
    assert response.json() == {
        "detail": "trial a0000003 of experiment 'cnn' has no log yet (looked for process_output.log, stdout, stderr)"
    }


@pytest.mark.parametrize(
    ("params", "name"), [({"lines": 0}, "lines"), ({"lines": 10_001}, "lines"), ({"file": "../spec.yaml"}, "file")]
)
def test_log_invalid_parameters_rejected(
    client: TestClient, experiment: RecordedExperiment, params: dict, name: str
) -> None:
    response = client.get("/api/experiments/cnn/trials/a0000004/log", params=params)

    assert response.status_code == 422
    assert response.json()["detail"].startswith(f"query parameter {name!r} is invalid")


def test_log_follow_until_trial_ends(client: TestClient, experiment: RecordedExperiment) -> None:
    stdout = experiment.working_dirs / "trial_a0000004" / "stdout"

    log_url = "/api/experiments/cnn/trials/a0000004/log"
    with client.stream("GET", log_url, params={"follow": "true", "lines": 2}) as response:
        chunks = response.iter_text()
        first = next(chunks)
        with stdout.open("a", encoding="utf-8") as handle:
            handle.write("line 301\nline 302\npartial")
        second = next(chunks)
        # The experiment ends, so the follower sends what is left and closes the stream.
        write_experiment_state(experiment.store, ExperimentState("finished", ended_at=datetime.now(UTC)))
        rest = "".join(chunks)

    assert response.status_code == 200
    assert first == "line 299\nline 300\n"
    assert second == "line 301\nline 302\n"
    assert rest == "partial"


def test_stop_running_trial_writes_stop_request(client: TestClient, experiment: RecordedExperiment) -> None:
    response = client.post("/api/experiments/cnn/trials/a0000004/stop", headers=AUTHORIZATION)

    assert response.status_code == 202
    assert response.json() == {
        "experiment": "cnn",
        "trial_id": "a0000004",
        "detail": "stop requested; trial a0000004 ends as STOPPED when it next reports a result",
    }
    assert experiment.store.stop_requests() == {"a0000004"}
    assert client.get("/api/experiments/cnn/trials/a0000004").json()["stop_requested"] is True


def test_stop_pending_trial_accepted(client: TestClient, experiment: RecordedExperiment) -> None:
    response = client.post("/api/experiments/cnn/trials/a0000005/stop", headers=AUTHORIZATION)

    assert response.status_code == 202
    assert experiment.store.stop_requests() == {"a0000005"}


def test_stop_twice_accepted(client: TestClient, experiment: RecordedExperiment) -> None:
    client.post("/api/experiments/cnn/trials/a0000004/stop", headers=AUTHORIZATION)

    response = client.post("/api/experiments/cnn/trials/a0000004/stop", headers=AUTHORIZATION)

    assert response.status_code == 202
    assert experiment.store.stop_requests() == {"a0000004"}


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer not-the-token-000000"}, {"Authorization": f"Basic {TOKEN}"}]
)
def test_stop_refused_without_token_even_on_loopback(
    client: TestClient, experiment: RecordedExperiment, headers: dict
) -> None:
    response = client.post("/api/experiments/cnn/trials/a0000004/stop", headers=headers)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert experiment.store.stop_requests() == set()


@pytest.mark.parametrize(
    ("trial_id", "status"), [("a0000001", "TERMINATED"), ("a0000002", "STOPPED"), ("a0000003", "ERROR")]
)
def test_stop_of_ended_trial_conflicts(
    client: TestClient, experiment: RecordedExperiment, trial_id: str, status: str
) -> None:
    response = client.post(f"/api/experiments/cnn/trials/{trial_id}/stop", headers=AUTHORIZATION)

    assert response.status_code == 409
    assert response.json() == {"detail": f"trial {trial_id} has already ended with status {status}"}
    assert experiment.store.stop_requests() == set()


def test_stop_in_finished_experiment_conflicts(client: TestClient, storage: Path) -> None:
    finished = record_experiment(storage, "done", state="finished")

    response = client.post("/api/experiments/done/trials/a0000004/stop", headers=AUTHORIZATION)

    assert response.status_code == 409
    assert response.json() == {
        "detail": "experiment 'done' is not running (finished), so trial a0000004 cannot be stopped"
    }
    assert finished.store.stop_requests() == set()


def test_stop_of_unknown_trial_not_found(client: TestClient, experiment: RecordedExperiment) -> None:
    response = client.post("/api/experiments/cnn/trials/b0000009/stop", headers=AUTHORIZATION)

    assert response.status_code == 404
    assert response.json() == {"detail": "trial 'b0000009' not found in experiment 'cnn'"}


def test_stop_in_unknown_experiment_not_found(client: TestClient, experiment: RecordedExperiment) -> None:
    response = client.post("/api/experiments/unknown/trials/a0000004/stop", headers=AUTHORIZATION)

    assert response.status_code == 404
    assert response.json() == {"detail": "experiment 'unknown' not found"}
