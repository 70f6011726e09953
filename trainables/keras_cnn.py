"""A small Keras convolutional network for image classification, tuned through its hyperparameters.

The model is Conv2D -> pooling -> dropout -> Dense -> dropout -> softmax. Convolution and pooling
use ``valid`` padding, so a kernel or pool larger than the feature map cannot be built; such a
trial fails with :class:`TrainableError` while the experiment goes on.

Datasets:
    ``digits``: scikit-learn's bundled 8x8 handwritten digits (1,797 images), works offline.
    ``mnist``: a local ``.npz`` file in Keras's layout (``x_train``, ``y_train``, ``x_test``,
    ``y_test``), 28x28 images. Nothing is downloaded.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple

import numpy as np
from pydantic import Field
from ray import tune

from search_spaces import SearchSpace
from tuner.errors import SpecError, TrainableError

# TensorFlow reads this when it is first imported, which happens inside train().
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DEFAULTS = {
    "filters": 32,
    "kernel_size": 3,
    "dropout": 0.25,
    "pool_size": 2,
    "learning_rate": 1e-3,
    "dense_units": 128,
}


class Splits(NamedTuple):
    """Train, validation and test arrays; images are float32 in [0, 1] with one channel."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int


@functools.lru_cache(maxsize=4)
def load_splits(
    dataset: str, data_path: str | None, validation_fraction: float, test_fraction: float, split_seed: int
) -> Splits:
    """Load a dataset and split it with a fixed seed; cached so reused trial processes load it once."""
    from sklearn.model_selection import train_test_split

    if dataset == "digits":
        from sklearn.datasets import load_digits

        digits = load_digits()
        images = (digits.images / 16.0).astype("float32")[..., np.newaxis]
        labels = digits.target.astype("int64")
        x_rest, x_test, y_rest, y_test = train_test_split(
            images, labels, test_size=test_fraction, random_state=split_seed, stratify=labels
        )
    elif dataset == "mnist":
        x_rest, y_rest, x_test, y_test = _read_mnist_npz(data_path)
    else:
        raise TrainableError(f"dataset must be 'digits' or 'mnist', got {dataset!r}")

    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=validation_fraction, random_state=split_seed, stratify=y_rest
    )
    n_classes = int(max(y_train.max(), y_val.max(), y_test.max())) + 1
    return Splits(x_train, y_train, x_val, y_val, x_test, y_test, n_classes)


def check_arguments(args: dict[str, Any], space: SearchSpace, base_dir: Path, source: str) -> dict[str, Any]:
    """Check what the argument types cannot: the data left to train on and the MNIST file.

    Returns the arguments with ``data_path`` made absolute against ``base_dir``, the experiment
    file's folder.
    """
    arguments = dict(args)
    validation_fraction = arguments.get("validation_fraction", 0.2)
    test_fraction = arguments.get("test_fraction", 0.2)
    if validation_fraction + test_fraction >= 1:
        raise SpecError(
            f"{source}: trainable.args: validation_fraction + test_fraction must be below 1 to leave data to "
            f"train on, got {validation_fraction} + {test_fraction}"
        )
    if arguments.get("dataset", "digits") != "mnist":
        return arguments
    data_path = arguments.get("data_path")
    if not data_path:
        raise SpecError(
            f"{source}: trainable.args.data_path is required for dataset mnist: the path of a local .npz file "
            "in Keras's mnist.npz layout"
        )
    path = Path(data_path).expanduser()
    if not path.is_absolute():
        path = base_dir / path
    if not path.is_file():
        raise SpecError(
            f"{source}: trainable.args.data_path: file {path} not found; dataset mnist reads a local .npz file"
        )
    arguments["data_path"] = str(path.resolve())
    return arguments


def _read_mnist_npz(data_path: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    if not data_path:
        raise TrainableError("dataset 'mnist' needs data_path, the path of a local mnist.npz file")
    path = Path(data_path).expanduser()
    if not path.is_file():
        raise TrainableError(f"data_path {path} not found; dataset 'mnist' reads a local .npz file")
    with np.load(path) as archive:
        missing = [key for key in ("x_train", "y_train", "x_test", "y_test") if key not in archive]
        if missing:
            raise TrainableError(f"{path}: missing arrays {missing}; expected Keras's mnist.npz layout")
        x_train, y_train = archive["x_train"], archive["y_train"]
        x_test, y_test = archive["x_test"], archive["y_test"]
    scale = 255.0 if x_train.max() > 1 else 1.0
    return (
        (x_train / scale).astype("float32")[..., np.newaxis],
        y_train.astype("int64"),
        (x_test / scale).astype("float32")[..., np.newaxis],
        y_test.astype("int64"),
    )


def check_buildable(image_size: int, kernel_size: int, pool_size: int) -> None:
    """Raise :class:`TrainableError` when the kernel and pool leave no feature map."""
    after_convolution = image_size - kernel_size + 1
    if after_convolution < 1:
        raise TrainableError(
            f"kernel_size {kernel_size} is larger than the {image_size}x{image_size} input; "
            f"use kernel_size <= {image_size}"
        )
    if after_convolution // pool_size < 1:
        raise TrainableError(
            f"kernel_size {kernel_size} leaves a {after_convolution}x{after_convolution} feature map, "
            f"smaller than pool_size {pool_size}; use kernel_size <= {image_size - pool_size + 1} with this pool size"
        )


@functools.cache
def _configure_tensorflow() -> None:
    """Turn on GPU memory growth, so trials given a fraction of one GPU can share it."""
    import tensorflow as tf

    for device in tf.config.list_physical_devices("GPU"):
        try:
            tf.config.experimental.set_memory_growth(device, True)
        except RuntimeError:
            # Memory growth can only be set before the GPU is first used; a reused trial process
            # has it set already.
            pass


def _visible_gpus() -> list[Any]:
    import tensorflow as tf

    return tf.config.list_physical_devices("GPU")


def _gpu_peak_memory_mb() -> float:
    """Peak memory TensorFlow has allocated on the first visible GPU since the process started."""
    import tensorflow as tf

    return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20


def build_model(hyperparameters: dict[str, Any], input_shape: tuple[int, ...], n_classes: int) -> Any:
    """Build and compile the CNN for one configuration."""
    import keras

    check_buildable(input_shape[0], hyperparameters["kernel_size"], hyperparameters["pool_size"])
    layers = [
        keras.Input(shape=input_shape),
        keras.layers.Conv2D(hyperparameters["filters"], hyperparameters["kernel_size"], activation="relu"),
    ]
    if hyperparameters["pool_size"] > 1:
        layers.append(keras.layers.MaxPooling2D(hyperparameters["pool_size"]))
    layers += [
        keras.layers.Dropout(hyperparameters["dropout"]),
        keras.layers.Flatten(),
        keras.layers.Dense(hyperparameters["dense_units"], activation="relu"),
        keras.layers.Dropout(hyperparameters["dropout"]),
        keras.layers.Dense(n_classes, activation="softmax"),
    ]
    model = keras.Sequential(layers)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=hyperparameters["learning_rate"]),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def save_model(model: Any, hyperparameters: dict[str, Any], folder: Path, epoch: int = 0, val_accuracy: float = 0.0) -> None:
    """Write ``model.keras`` (whole model), ``model.weights.h5`` and ``model.json``.

    ``model.json`` contains the hyperparameters, the architecture, and the epoch and validation
    accuracy of these weights, from which a restored trial continues.
    """
    model.save(folder / "model.keras")
    model.save_weights(folder / "model.weights.h5")
    description = {
        "hyperparameters": hyperparameters,
        "epoch": epoch,
        "val_accuracy": val_accuracy,
        "architecture": json.loads(model.to_json()),
    }
    (folder / "model.json").write_text(json.dumps(description, indent=2), encoding="utf-8")


def restore_model(checkpoint: Any) -> tuple[Any, int, float]:
    """Load a checkpoint saved by :func:`train`: the model, its epoch and its validation accuracy."""
    import keras

    with checkpoint.as_directory() as folder:
        model = keras.models.load_model(Path(folder) / "model.keras")
        description = json.loads((Path(folder) / "model.json").read_text(encoding="utf-8"))
    return model, int(description.get("epoch", 0)), float(description.get("val_accuracy", -1.0))


def train(
    config: dict[str, Any],
    *,
    dataset: Literal["digits", "mnist"] = "digits",
    data_path: str | None = None,
    max_epochs: Annotated[int, Field(ge=1)] = 15,
    batch_size: Annotated[int, Field(ge=1)] = 64,
    validation_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.2,
    test_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.2,
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] = 0,
) -> None:
    """Train the CNN for up to ``max_epochs`` epochs, reporting once per epoch.

    Every epoch reports ``val_accuracy``, ``val_loss``, ``accuracy``, ``loss``, the training time
    ``epoch_time_s``, ``n_gpus_visible`` and, on a GPU, ``gpu_peak_memory_mb``. An epoch that
    improves ``val_accuracy`` saves a checkpoint with ``model.keras``, ``model.weights.h5`` and
    ``model.json``. The last epoch also reports ``test_accuracy`` and ``test_loss`` of the best
    weights; test data is never used to choose anything. Hyperparameters missing from ``config``
    take the values in :data:`DEFAULTS`.
    """
    import keras

    _configure_tensorflow()
    hyperparameters = {**DEFAULTS, **config}
    splits = load_splits(dataset, data_path, validation_fraction, test_fraction, seed)
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    model = build_model(hyperparameters, splits.x_train.shape[1:], splits.n_classes)
    first_epoch = 1

    n_gpus = len(_visible_gpus())
    best_accuracy = -1.0
    best_weights = None
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        # A resumed or unpaused trial continues after the epoch of its checkpoint; Ray Tune
        # restores training_iteration to that epoch too.
        model, last_epoch, best_accuracy = restore_model(checkpoint)
        best_weights = model.get_weights()
        first_epoch = last_epoch + 1
    for epoch in range(first_epoch, max_epochs + 1):
        started = time.perf_counter()
        history = model.fit(
            splits.x_train, splits.y_train, batch_size=batch_size, epochs=1, verbose=0, shuffle=True
        )
        epoch_time_s = time.perf_counter() - started
        val_loss, val_accuracy = model.evaluate(splits.x_val, splits.y_val, batch_size=512, verbose=0)
        metrics = {
            "epoch": epoch,
            "val_accuracy": float(val_accuracy),
            "val_loss": float(val_loss),
            "accuracy": float(history.history["accuracy"][-1]),
            "loss": float(history.history["loss"][-1]),
            "epoch_time_s": epoch_time_s,
            "n_gpus_visible": n_gpus,
        }
        if n_gpus:
            metrics["gpu_peak_memory_mb"] = _gpu_peak_memory_mb()
        improved = val_accuracy > best_accuracy
        if improved:
            best_accuracy = float(val_accuracy)
            best_weights = model.get_weights()
        # One line per epoch in the trial's stdout, which the service shows as the trial's log.
        print(
            f"epoch {epoch}/{max_epochs}: loss {metrics['loss']:.4f}, accuracy {metrics['accuracy']:.4f}, "
            f"val_loss {val_loss:.4f}, val_accuracy {val_accuracy:.4f}, {epoch_time_s:.2f} s",
            flush=True,
        )
        if epoch == max_epochs:
            model.set_weights(best_weights)
            test_loss, test_accuracy = model.evaluate(splits.x_test, splits.y_test, batch_size=512, verbose=0)
            metrics.update(test_accuracy=float(test_accuracy), test_loss=float(test_loss))
            print(f"test accuracy of the best weights: {test_accuracy:.4f}", flush=True)
        _report(metrics, model, hyperparameters if improved else None, epoch, best_accuracy)


def _report(
    metrics: dict[str, Any], model: Any, hyperparameters: dict[str, Any] | None, epoch: int, val_accuracy: float
) -> None:
    """Report one epoch, with a checkpoint when ``hyperparameters`` is given."""
    if hyperparameters is None:
        tune.report(metrics)
        return
    with tempfile.TemporaryDirectory(prefix="keras-cnn-") as folder:
        save_model(model, hyperparameters, Path(folder), epoch, val_accuracy)
        tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(folder))
