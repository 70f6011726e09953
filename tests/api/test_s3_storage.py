"""The service over an ``s3://`` storage root, served by a local S3 server (moto) on 127.0.0.1."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import AUTHORIZATION, CHECKPOINT_FILES, TOKEN, RecordedExperiment, record_experiment
from tests.s3_server import make_bucket, s3_environment
from tuner.api import create_app
from tuner.store import ExperimentStore

BUCKET = "tuner-results"
STORAGE = f"s3://{BUCKET}/team"


@pytest.fixture
def s3_experiment(s3_endpoint: str, tmp_path: Path, monkeypatch: Any) -> Iterator[RecordedExperiment]:
    """The recorded experiment of the other service tests, copied into a new bucket of the local S3 server."""
    for variable, value in s3_environment(s3_endpoint).items():
        monkeypatch.setenv(variable, value)
    local = tmp_path / "storage"
    local.mkdir()
    recorded = record_experiment(local)

    s3 = make_bucket(s3_endpoint, BUCKET)
    pafs.copy_files(
        str(recorded.folder),
        f"{BUCKET}/team/cnn",
        source_filesystem=pafs.LocalFileSystem(),
        destination_filesystem=s3,
    )
    yield recorded
    s3.delete_dir(BUCKET)


@pytest.fixture
def s3_client(s3_experiment: RecordedExperiment) -> Iterator[TestClient]:
    with TestClient(create_app(STORAGE, TOKEN)) as client:
        yield client


def test_s3_experiment_listed_with_counts(s3_client: TestClient) -> None:
    response = s3_client.get("/api/experiments")

    assert response.status_code == 200
    (listed,) = response.json()
    assert listed["name"] == "cnn"
    assert listed["state"] == "running"
    assert listed["searcher"] == "random"
    assert listed["n_recorded"] == 5
    assert listed["n_done"] == 2
    assert listed["n_running"] == 1
    assert listed["n_failed"] == 1


def test_s3_leaderboard_sorted_by_metric(s3_client: TestClient, s3_experiment: RecordedExperiment) -> None:
    response = s3_client.get("/api/experiments/cnn/leaderboard")

    assert response.status_code == 200
    rows = response.json()["trials"]
    assert rows[0]["trial_id"] == s3_experiment.best_trial_id
    assert rows[0]["metrics"]["val_accuracy"] == 0.9


def test_s3_trial_log_served(s3_client: TestClient, s3_experiment: RecordedExperiment) -> None:
    response = s3_client.get(f"/api/experiments/cnn/trials/{s3_experiment.best_trial_id}/log")

    assert response.status_code == 200
    assert response.text.splitlines()[-1] == "epoch 4"


def test_s3_best_weights_zip_contains_checkpoint(s3_client: TestClient, s3_experiment: RecordedExperiment) -> None:
    response = s3_client.get("/api/experiments/cnn/best/weights")

    assert response.status_code == 200
    assert response.headers["x-trial-id"] == s3_experiment.best_trial_id
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    assert files == {f"best-weights/{name}": data for name, data in CHECKPOINT_FILES.items()}


def test_s3_results_table_downloads_as_parquet(s3_client: TestClient) -> None:
    response = s3_client.get("/api/experiments/cnn/trials.parquet")

    assert response.status_code == 200
    table = pq.read_table(io.BytesIO(response.content))
    assert table.num_rows == 5
    assert table.schema.field("config.filters").type == "int64"


def test_s3_progress_chart_is_png(s3_client: TestClient) -> None:
    response = s3_client.get("/api/experiments/cnn/charts/progress.png")

    assert response.status_code == 200
    assert response.content.startswith(b"\x89PNG\r\n\x1a\n")


def test_s3_stop_request_written_to_bucket(s3_client: TestClient, s3_experiment: RecordedExperiment) -> None:
    trial_id = s3_experiment.running_trial_id

    response = s3_client.post(f"/api/experiments/cnn/trials/{trial_id}/stop", headers=AUTHORIZATION)

    assert response.status_code == 202, response.text
    assert ExperimentStore(STORAGE, "cnn").stop_requests() == {trial_id}


def test_s3_unknown_experiment_not_found(s3_client: TestClient) -> None:
    response = s3_client.get("/api/experiments/missing/leaderboard")

    assert response.status_code == 404
    assert response.json() == {"detail": "experiment 'missing' not found"}
