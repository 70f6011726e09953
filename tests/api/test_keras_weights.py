"""The best weights of a real Keras run, downloaded over HTTP and loaded by Keras in a fresh process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import TOKEN
from tuner.api import create_app
from tuner.runner import run_experiment
from tuner.spec import load_experiment

# Loads model.keras, and model.json with model.weights.h5, then prints whether both models predict
# the same on the digits test split and the accuracy of the first. The split depends on the seed.
LOAD_SCRIPT = """
import json, sys
import numpy as np
import keras
from trainables.keras_cnn import load_splits

folder = sys.argv[1]
whole = keras.models.load_model(f"{folder}/model.keras")
description = json.load(open(f"{folder}/model.json"))
rebuilt = keras.models.model_from_json(json.dumps(description["architecture"]))
rebuilt.load_weights(f"{folder}/model.weights.h5")
splits = load_splits("digits", None, 0.2, 0.2, int(sys.argv[2]))
first = whole.predict(splits.x_test, verbose=0)
second = rebuilt.predict(splits.x_test, verbose=0)
accuracy = float((first.argmax(axis=1) == splits.y_test).mean())
same = bool(np.allclose(first, second))
print(json.dumps({"accuracy": accuracy, "same": same, "hyperparameters": description["hyperparameters"]}))
"""


@pytest.mark.slow
def test_best_keras_weights_load_in_fresh_process(ray_session: Any, make_spec_file: Any, tmp_path: Path) -> None:
    path = make_spec_file(
        {
            "name": "digits",
            "trainable": {"name": "keras_cnn", "args": {"dataset": "digits", "max_epochs": 3}},
            "space": "keras_cnn",
            "metric": "val_accuracy",
            "mode": "max",
            "trials": 2,
            "slots": 2,
            "seed": 3,
        }
    )
    run_experiment(load_experiment(path))
    downloads = tmp_path / "downloads"
    downloads.mkdir()

    with TestClient(create_app(str(tmp_path / "results"), TOKEN)) as client:
        best = client.get("/api/experiments/digits").json()
        trial = client.get(f"/api/experiments/digits/trials/{best['best_trial_id']}").json()
        for name in ("model.keras", "model.weights.h5", "model.json"):
            response = client.get(f"/api/experiments/digits/best/weights/{name}")
            assert response.status_code == 200
            assert response.headers["x-trial-id"] == best["best_trial_id"]
            (downloads / name).write_bytes(response.content)

    repo_root = Path(__file__).resolve().parents[2]
    environment = {**os.environ, "PYTHONPATH": str(repo_root), "TF_CPP_MIN_LOG_LEVEL": "3"}
    completed = subprocess.run(
        [sys.executable, "-c", LOAD_SCRIPT, str(downloads), "3"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
    )

    assert completed.returncode == 0, completed.stderr[-2000:]
    loaded = json.loads(completed.stdout.strip().splitlines()[-1])
    assert loaded["same"] is True
    # The trainable reports test_accuracy of its best weights, which are the checkpoint's.
    assert loaded["accuracy"] == pytest.approx(trial["metrics"]["test_accuracy"], abs=1e-3)
    assert loaded["hyperparameters"]["filters"] == trial["hyperparameters"]["filters"]
