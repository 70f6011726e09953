"""The download routes: best weights, trial files, archives and tables, and paths that must not leave the experiment."""

from __future__ import annotations

import csv
import io
import shutil
import zipfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import CHECKPOINT_FILES, RecordedExperiment, link


def _zip_contents(content: bytes) -> dict[str, bytes]:
    archive = zipfile.ZipFile(io.BytesIO(content))
    assert archive.testzip() is None
    return {name: archive.read(name) for name in archive.namelist()}


@pytest.mark.parametrize("filename", sorted(CHECKPOINT_FILES))
def test_best_weights_file_sent_from_best_checkpoint(
    client: TestClient, experiment: RecordedExperiment, filename: str
) -> None:
    response = client.get(f"/api/experiments/cnn/best/weights/{filename}")

    assert response.status_code == 200
    assert response.content == CHECKPOINT_FILES[filename]
    assert response.headers["x-trial-id"] == "a0000001"
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"] == f'attachment; filename="{filename}"'
    assert response.headers["content-length"] == str(len(CHECKPOINT_FILES[filename]))
    assert response.headers["x-content-type-options"] == "nosniff"


def test_best_weights_zip_holds_every_checkpoint_file(client: TestClient, experiment: RecordedExperiment) -> None:
    response = client.get("/api/experiments/cnn/best/weights")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"] == 'attachment; filename="cnn-best-weights.zip"'
    assert response.headers["x-trial-id"] == "a0000001"
    assert _zip_contents(response.content) == {f"best-weights/{name}": data for name, data in CHECKPOINT_FILES.items()}


def test_best_weights_found_after_folder_moved(
    client: TestClient, experiment: RecordedExperiment, storage: Path
) -> None:
    shutil.copytree(experiment.folder, storage / "moved")
    shutil.rmtree(experiment.folder)

    response = client.get("/api/experiments/moved/best/weights/model.keras")

    assert response.status_code == 200
    assert response.content == CHECKPOINT_FILES["model.keras"]


def test_best_weights_without_checkpoint_not_found(client: TestClient, storage: Path) -> None:
    (storage / "fresh").mkdir()
    (storage / "fresh" / "spec.yaml").write_text("name: fresh\nmetric: loss\nmode: min\n", encoding="utf-8")

    response = client.get("/api/experiments/fresh/best/weights")

    assert response.status_code == 404
    assert response.json() == {"detail": "no trial of experiment 'fresh' has saved a checkpoint with loss yet"}


@pytest.mark.parametrize("filename", [".hidden", "..%2Fspec.yaml", "%2e%2e", "missing.bin"])
def test_best_weights_file_outside_checkpoint_not_found(
    client: TestClient, experiment: RecordedExperiment, filename: str
) -> None:
    response = client.get(f"/api/experiments/cnn/best/weights/{filename}")

    assert response.status_code == 404


def test_trial_files_listed_with_sizes(client: TestClient, experiment: RecordedExperiment) -> None:
    response = client.get("/api/experiments/cnn/trials/a0000002/files")

    assert response.status_code == 200
    assert response.json() == [
        {"path": f"checkpoint_000001/{name}", "size": len(data)} for name, data in sorted(CHECKPOINT_FILES.items())
    ]


def test_trial_file_sent(client: TestClient, experiment: RecordedExperiment) -> None:
    response = client.get("/api/experiments/cnn/trials/a0000001/files/checkpoint_000003/model.json")

    assert response.status_code == 200
    assert response.content == CHECKPOINT_FILES["model.json"]
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"] == 'attachment; filename="model.json"'


@pytest.mark.parametrize(
    "path",
    [
        "..%2F..%2Fspec.yaml",
        "%2e%2e/%2e%2e/spec.yaml",
        "checkpoint_000003%2F..%2F..%2F..%2Fspec.yaml",
        "%2Fetc%2Fpasswd",
        "checkpoint_000003//model.json",
        "checkpoint_000003",
        "missing",
    ],
)
def test_trial_file_outside_trial_folder_not_found(client: TestClient, experiment: RecordedExperiment, path: str) -> None:
    response = client.get(f"/api/experiments/cnn/trials/a0000001/files/{path}")

    assert response.status_code == 404


def test_trial_file_linked_outside_experiment_not_found(
    client: TestClient, experiment: RecordedExperiment, outside: Path
) -> None:
    link(experiment.folder / "trial_a0000001" / "secret.txt", outside / "secret.txt")
    link(experiment.folder / "trial_a0000001" / "elsewhere", outside)

    file_response = client.get("/api/experiments/cnn/trials/a0000001/files/secret.txt")
    folder_response = client.get("/api/experiments/cnn/trials/a0000001/files/elsewhere/secret.txt")

    assert file_response.status_code == 404
    assert folder_response.status_code == 404
    assert file_response.json() == {"detail": "file 'trial_a0000001/secret.txt' not found in experiment 'cnn'"}


def test_trial_file_linked_inside_experiment_sent(client: TestClient, experiment: RecordedExperiment) -> None:
    target = experiment.folder / "trial_a0000001" / "checkpoint_000003" / "model.keras"
    link(experiment.folder / "trial_a0000002" / "best.keras", target)

    response = client.get("/api/experiments/cnn/trials/a0000002/files/best.keras")

    assert response.status_code == 200
    assert response.content == CHECKPOINT_FILES["model.keras"]


def test_trial_archive_holds_trial_folder(client: TestClient, experiment: RecordedExperiment) -> None:
    response = client.get("/api/experiments/cnn/trials/a0000002/archive.zip")

    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="cnn-a0000002.zip"'
    assert _zip_contents(response.content) == {
        f"cnn/trial_a0000002/checkpoint_000001/{name}": data for name, data in CHECKPOINT_FILES.items()
    }


def test_archives_leave_out_links_leaving_experiment(
    client: TestClient, experiment: RecordedExperiment, outside: Path
) -> None:
    link(experiment.folder / "trial_a0000002" / "secret.txt", outside / "secret.txt")
    link(experiment.folder / "trial_a0000002" / "elsewhere", outside)

    trial_names = set(_zip_contents(client.get("/api/experiments/cnn/trials/a0000002/archive.zip").content))
    experiment_contents = _zip_contents(client.get("/api/experiments/cnn/archive.zip").content)

    assert not any("secret" in name or "elsewhere" in name for name in trial_names)
    assert not any("secret" in name or "elsewhere" in name for name in experiment_contents)
    assert b"outside content" not in b"".join(experiment_contents.values())


def test_experiment_archive_holds_spec_tables_and_trials(client: TestClient, experiment: RecordedExperiment) -> None:
    response = client.get("/api/experiments/cnn/archive.zip")

    contents = _zip_contents(response.content)
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="cnn.zip"'
    assert contents["cnn/trials.parquet"] == (experiment.folder / "trials.parquet").read_bytes()
    assert contents["cnn/spec.yaml"] == (experiment.folder / "spec.yaml").read_bytes()
    assert contents["cnn/state.json"] == (experiment.folder / "state.json").read_bytes()
    assert contents["cnn/trial_a0000001/checkpoint_000003/model.keras"] == CHECKPOINT_FILES["model.keras"]
    assert contents["cnn/trial_a0000001/stdout"] == b"epoch 1\nepoch 2\nepoch 3\nepoch 4\n"


def test_results_csv_has_one_row_per_reported_result(client: TestClient, experiment: RecordedExperiment) -> None:
    response = client.get("/api/experiments/cnn/results.csv")

    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="cnn-results.csv"'
    assert len(rows) == pq.read_table(experiment.folder / "results.parquet").num_rows
    assert [row["val_accuracy"] for row in rows if row["trial_id"] == "a0000001"] == ["0.5", "0.7", "0.8", "0.9"]


def test_trials_csv_has_one_row_per_trial(client: TestClient, experiment: RecordedExperiment) -> None:
    response = client.get("/api/experiments/cnn/trials.csv")

    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert response.status_code == 200
    assert sorted(row["trial_id"] for row in rows) == ["a0000001", "a0000002", "a0000003", "a0000004", "a0000005"]
    assert {row["trial_id"]: row["status"] for row in rows}["a0000003"] == "ERROR"


@pytest.mark.parametrize("table", ["results", "trials"])
def test_parquet_table_sent_as_stored(client: TestClient, experiment: RecordedExperiment, table: str) -> None:
    response = client.get(f"/api/experiments/cnn/{table}.parquet")

    assert response.status_code == 200
    assert response.content == (experiment.folder / f"{table}.parquet").read_bytes()
    assert pq.read_table(io.BytesIO(response.content)).num_rows > 0


@pytest.mark.parametrize("route", ["results.csv", "trials.csv", "results.parquet", "trials.parquet"])
def test_tables_of_experiment_without_trials_not_found(client: TestClient, storage: Path, route: str) -> None:
    (storage / "fresh").mkdir()
    (storage / "fresh" / "spec.yaml").write_text("name: fresh\nmetric: loss\nmode: min\n", encoding="utf-8")

    response = client.get(f"/api/experiments/fresh/{route}")

    assert response.status_code == 404
