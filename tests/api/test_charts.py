"""The chart routes: PNG images of the right size, drawn again when the trials change."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib.image
import pyarrow.compute as pc
import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import RecordedExperiment

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _image_size(content: bytes) -> tuple[int, int]:
    """Width and height in pixels."""
    pixels = matplotlib.image.imread(io.BytesIO(content), format="png")
    return pixels.shape[1], pixels.shape[0]


@pytest.mark.parametrize(
    ("chart", "size"),
    [
        ("progress.png", (800, 400)),
        # Three hyperparameters, three small charts in one row.
        ("hyperparameters.png", (1200, 300)),
        ("learning-curves.png", (800, 400)),
    ],
)
def test_chart_is_png(client: TestClient, experiment: RecordedExperiment, chart: str, size: tuple[int, int]) -> None:
    response = client.get(f"/api/experiments/cnn/charts/{chart}")

    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.headers["cache-control"] == "no-store"
    assert response.content.startswith(PNG_SIGNATURE)
    assert _image_size(response.content) == size


@pytest.mark.parametrize("chart", ["progress.png", "hyperparameters.png", "learning-curves.png"])
def test_chart_of_experiment_without_results_is_placeholder(client: TestClient, storage: Path, chart: str) -> None:
    (storage / "fresh").mkdir()
    (storage / "fresh" / "spec.yaml").write_text("name: fresh\nmetric: loss\nmode: min\n", encoding="utf-8")

    response = client.get(f"/api/experiments/fresh/charts/{chart}")

    assert response.status_code == 200
    assert _image_size(response.content) == (800, 300)


def test_chart_drawn_again_when_trials_change(client: TestClient, experiment: RecordedExperiment) -> None:
    before = client.get("/api/experiments/cnn/charts/progress.png").content
    assert client.get("/api/experiments/cnn/charts/progress.png").content == before
    trials = experiment.store.read_trials()

    experiment.store.write_table("trials.parquet", trials.filter(pc.not_equal(trials["trial_id"], "a0000001")))
    after = client.get("/api/experiments/cnn/charts/progress.png").content

    assert after != before


def test_learning_curves_count_limited(client: TestClient, experiment: RecordedExperiment) -> None:
    top_one = client.get("/api/experiments/cnn/charts/learning-curves.png", params={"top": 1})
    top_three = client.get("/api/experiments/cnn/charts/learning-curves.png", params={"top": 3})

    assert top_one.status_code == 200
    assert top_three.status_code == 200
    assert top_one.content != top_three.content


@pytest.mark.parametrize("top", [0, 21, "many"])
def test_learning_curves_invalid_count_rejected(client: TestClient, experiment: RecordedExperiment, top: object) -> None:
    response = client.get("/api/experiments/cnn/charts/learning-curves.png", params={"top": top})

    assert response.status_code == 422
    assert response.json()["detail"].startswith("query parameter 'top' is invalid")
