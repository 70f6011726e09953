"""The Keras CNN trainable: buildable shapes, real training on digits, checkpoints that load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from trainables.keras_cnn import check_buildable, load_splits
from tuner.errors import TrainableError
from tuner.runner import run_experiment
from tuner.spec import load_experiment


def test_kernel_larger_than_image_rejected() -> None:
    with pytest.raises(TrainableError) as raised:
        check_buildable(8, 9, 1)

    assert str(raised.value) == "kernel_size 9 is larger than the 8x8 input; use kernel_size <= 8"


def test_pool_larger_than_feature_map_rejected() -> None:
    with pytest.raises(TrainableError) as raised:
        check_buildable(8, 8, 2)

    assert str(raised.value) == (
        "kernel_size 8 leaves a 1x1 feature map, smaller than pool_size 2; use kernel_size <= 7 with this pool size"
    )


def test_digits_split_is_fixed_and_disjoint() -> None:
    first = load_splits("digits", None, 0.2, 0.2, 0)
    second = load_splits("digits", None, 0.2, 0.2, 0)

    assert first.x_train.shape[1:] == (8, 8, 1)
    assert len(first.x_train) + len(first.x_val) + len(first.x_test) == 1797
    assert np.array_equal(first.y_val, second.y_val)
    assert first.n_classes == 10
    assert first.x_train.min() >= 0.0
    assert first.x_train.max() <= 1.0


def test_mnist_without_file_rejected(tmp_path: Path) -> None:
    with pytest.raises(TrainableError) as raised:
        load_splits("mnist", str(tmp_path / "mnist.npz"), 0.2, 0.2, 0)

    assert str(raised.value) == f"data_path {tmp_path / 'mnist.npz'} not found; dataset 'mnist' reads a local .npz file"


def test_mnist_npz_layout_loads(tmp_path: Path) -> None:
    generator = np.random.default_rng(0)
    path = tmp_path / "mnist.npz"
    np.savez(
        path,
        x_train=generator.integers(0, 256, (200, 28, 28), dtype=np.uint8),
        y_train=np.arange(200) % 10,
        x_test=generator.integers(0, 256, (50, 28, 28), dtype=np.uint8),
        y_test=np.arange(50) % 10,
    )

    splits = load_splits("mnist", str(path), 0.2, 0.2, 0)

    assert splits.x_train.shape == (160, 28, 28, 1)
    assert splits.x_val.shape == (40, 28, 28, 1)
    assert splits.x_test.shape == (50, 28, 28, 1)
    assert splits.x_train.max() <= 1.0


def test_training_saves_loadable_checkpoint(ray_session: Any, make_spec_file: Any, tmp_path: Path) -> None:
    import keras

    path = make_spec_file(
        {
            "name": "cnn",
            "trainable": {"name": "keras_cnn", "args": {"max_epochs": 3}},
            "space": {
                "hyperparameters": {
                    "filters": {"type": "int", "low": 16, "high": 32},
                    "kernel_size": {"type": "int", "low": 3, "high": 3},
                    "learning_rate": {"type": "float", "low": 0.005, "high": 0.01},
                    "pool_size": {"type": "categorical", "choices": [2]},
                }
            },
            "metric": "val_accuracy",
            "mode": "max",
            "trials": 2,
        }
    )

    run_experiment(load_experiment(path))

    rows = pq.read_table(tmp_path / "results" / "cnn" / "trials.parquet").to_pylist()
    assert [row["status"] for row in rows] == ["TERMINATED", "TERMINATED"]
    for row in rows:
        assert 0.5 < row["val_accuracy"] <= 1.0
        assert 0.5 < row["last.test_accuracy"] <= 1.0
        assert row["n_epochs"] == 3
        checkpoint = Path(row["checkpoint"])
        assert sorted(item.name for item in checkpoint.iterdir()) == ["model.json", "model.keras", "model.weights.h5"]
        stdout = (Path(row["trial_dir"]) / "stdout").read_text(encoding="utf-8").splitlines()
        epoch_lines = [line for line in stdout if line.startswith("epoch ")]
        assert [line.split(":")[0] for line in epoch_lines] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]
        assert stdout[-1].startswith("test accuracy of the best weights: ")
    model = keras.models.load_model(Path(rows[0]["checkpoint"]) / "model.keras")
    assert model.output_shape == (None, 10)
