"""The experiments routes: the list, one experiment, and the leaderboard's sorting, filtering and paging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import RecordedExperiment, record_experiment
from tuner.state import ExperimentState, write_experiment_state


def _ids(response_json: dict) -> list[str]:
    return [trial["trial_id"] for trial in response_json["trials"]]


def test_experiment_list_counts_trials_by_status(client: TestClient, experiment: RecordedExperiment) -> None:
    response = client.get("/api/experiments")

    assert response.status_code == 200
    [summary] = response.json()
    assert summary["name"] == "cnn"
    assert summary["state"] == "running"
    assert summary["searcher"] == "random"
    assert summary["scheduler"] == "asha"
    assert summary["metric"] == "val_accuracy"
    assert summary["mode"] == "max"
    assert summary["n_trials"] == 6
    assert summary["n_recorded"] == 5
    assert summary["n_done"] == 2
    assert summary["n_running"] == 1
    assert summary["n_pending"] == 1
    assert summary["n_failed"] == 1
    assert summary["best_value"] == 0.9
    assert summary["best_trial_id"] == "a0000001"
    assert datetime.fromisoformat(summary["started_at"]) < datetime.now(UTC)


def test_experiment_list_empty_storage(client: TestClient) -> None:
    response = client.get("/api/experiments")

    assert response.status_code == 200
    assert response.json() == []


def test_experiment_list_skips_folders_without_spec(client: TestClient, storage: Path) -> None:
    record_experiment(storage, "first")
    (storage / "not-an-experiment").mkdir()
    record_experiment(storage, "second", state="finished")

    names = [summary["name"] for summary in client.get("/api/experiments").json()]

    assert names == ["first", "second"]


def test_experiment_state_finished(client: TestClient, storage: Path) -> None:
    record_experiment(storage, "done", state="finished")

    summary = client.get("/api/experiments/done").json()

    assert summary["state"] == "finished"
    assert summary["ended_at"] is not None


def test_experiment_with_stale_heartbeat_reads_interrupted(client: TestClient, experiment: RecordedExperiment) -> None:
    long_ago = datetime.now(UTC) - timedelta(minutes=10)
    write_experiment_state(experiment.store, ExperimentState("running", long_ago, long_ago))

    summary = client.get("/api/experiments/cnn").json()

    assert summary["state"] == "interrupted"


def test_experiment_just_started_has_no_trials_yet(client: TestClient, storage: Path) -> None:
    (storage / "fresh").mkdir()
    (storage / "fresh" / "spec.yaml").write_text("name: fresh\nmetric: loss\nmode: min\ntrials: 3\n", encoding="utf-8")

    summary = client.get("/api/experiments/fresh").json()
    board = client.get("/api/experiments/fresh/leaderboard").json()

    assert summary["n_recorded"] == 0
    assert summary["best_value"] is None
    assert summary["state"] == "unknown"
    assert board["trials"] == []
    assert board["n_matched"] == 0


def test_leaderboard_best_first_by_metric(client: TestClient, experiment: RecordedExperiment) -> None:
    response = client.get("/api/experiments/cnn/leaderboard")

    board = response.json()
    assert response.status_code == 200
    assert board["sort"] == "val_accuracy"
    assert board["order"] == "desc"
    assert board["n_matched"] == 5
    # Trials without a value come last, in either order.
    assert _ids(board)[:3] == ["a0000001", "a0000002", "a0000004"]
    assert set(_ids(board)[3:]) == {"a0000003", "a0000005"}


def test_leaderboard_ascending_keeps_missing_values_last(client: TestClient, experiment: RecordedExperiment) -> None:
    board = client.get("/api/experiments/cnn/leaderboard", params={"order": "asc"}).json()

    assert _ids(board)[:3] == ["a0000004", "a0000002", "a0000001"]


def test_leaderboard_sorted_by_hyperparameter(client: TestClient, experiment: RecordedExperiment) -> None:
    board = client.get("/api/experiments/cnn/leaderboard", params={"sort": "config.filters"}).json()

    assert board["order"] == "asc"
    assert [trial["hyperparameters"]["filters"] for trial in board["trials"]] == [8, 16, 24, 32, 64]


def test_leaderboard_sorted_by_test_metric_descending(client: TestClient, experiment: RecordedExperiment) -> None:
    board = client.get("/api/experiments/cnn/leaderboard", params={"sort": "last.test_accuracy", "order": "desc"}).json()

    assert _ids(board)[0] == "a0000001"
    assert board["trials"][0]["metrics"]["test_accuracy"] == 0.88


def test_leaderboard_filtered_by_statuses(client: TestClient, experiment: RecordedExperiment) -> None:
    board = client.get("/api/experiments/cnn/leaderboard", params=[("status", "STOPPED"), ("status", "TERMINATED")]).json()

    assert board["n_matched"] == 2
    assert _ids(board) == ["a0000001", "a0000002"]
    assert board["statuses"] == ["STOPPED", "TERMINATED"]


def test_leaderboard_paged(client: TestClient, experiment: RecordedExperiment) -> None:
    board = client.get("/api/experiments/cnn/leaderboard", params={"limit": 2, "offset": 1}).json()

    assert board["n_matched"] == 5
    assert board["limit"] == 2
    assert board["offset"] == 1
    assert _ids(board) == ["a0000002", "a0000004"]


def test_leaderboard_page_past_the_end_is_empty(client: TestClient, experiment: RecordedExperiment) -> None:
    board = client.get("/api/experiments/cnn/leaderboard", params={"offset": 50}).json()

    assert board["trials"] == []
    assert board["n_matched"] == 5


def test_leaderboard_row_carries_hyperparameters_metrics_epochs_durations(
    client: TestClient, experiment: RecordedExperiment
) -> None:
    best = client.get("/api/experiments/cnn/leaderboard", params={"limit": 1}).json()["trials"][0]

    assert best["trial_id"] == "a0000001"
    assert best["status"] == "TERMINATED"
    assert best["best_value"] == 0.9
    assert best["best_epoch"] == 4
    assert best["n_epochs"] == 4
    assert best["duration_s"] >= 0
    assert best["hyperparameters"] == {"filters": 32, "dropout": 0.1, "pool": "max"}
    assert best["metrics"]["val_accuracy"] == 0.9
    assert best["metrics"]["test_accuracy"] == 0.88
    assert best["has_checkpoint"] is True
    assert best["error"] is None


def test_leaderboard_sends_nan_as_null(client: TestClient, experiment: RecordedExperiment) -> None:
    board = client.get("/api/experiments/cnn/leaderboard", params=[("status", "STOPPED")]).json()

    assert board["trials"][0]["metrics"]["val_loss"] is None


def test_leaderboard_sort_by_unknown_column_rejected(client: TestClient, experiment: RecordedExperiment) -> None:
    response = client.get("/api/experiments/cnn/leaderboard", params={"sort": "bogus"})

    assert response.status_code == 400
    assert response.json()["detail"].startswith(
        "cannot sort by 'bogus': not a column of the trials table; use one of trial_id, status, config."
    )


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"limit": 0}, "query parameter 'limit' is invalid: Input should be greater than or equal to 1, got '0'"),
        ({"limit": 1001}, "query parameter 'limit' is invalid: Input should be less than or equal to 1000, got '1001'"),
        ({"offset": -1}, "query parameter 'offset' is invalid: Input should be greater than or equal to 0, got '-1'"),
        ({"order": "up"}, "query parameter 'order' is invalid: Input should be 'asc' or 'desc', got 'up'"),
        (
            {"status": "DONE"},
            "query parameter 'status' is invalid: Input should be 'PENDING', 'RUNNING', 'TERMINATED', 'STOPPED' "
            "or 'ERROR', got 'DONE'",
        ),
    ],
)
def test_leaderboard_invalid_parameters_rejected(
    client: TestClient, experiment: RecordedExperiment, params: dict, detail: str
) -> None:
    response = client.get("/api/experiments/cnn/leaderboard", params=params)

    assert response.status_code == 422
    assert response.json() == {"detail": detail}
