"""Train a small Keras CNN on scikit-learn's bundled 8x8 digits: an example program for the tuner.

The tuner's ``command`` trainable runs it once per trial. Hyperparameters arrive as flags
(``--filters 16 --learning_rate 0.003 ...``); the run settings come from a YAML file that the
tuner writes per trial from ``train_config.yaml.template``. Each epoch prints one line such as

    epoch=3 val_accuracy=0.9514 val_loss=0.1821 accuracy=0.9603 loss=0.1398

which the tuner reports at once, so ASHA can stop a poor trial early. The last epoch also prints
``test_accuracy`` of the best weights. The best model so far is saved as ``model.keras`` in the
working folder (the trial folder) before its epoch is printed, so it survives an early stop.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402 - TensorFlow reads TF_CPP_MIN_LOG_LEVEL when first imported
import numpy as np  # noqa: E402
import yaml  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=Path("train_config.yaml"), help="run settings (YAML)")
    parser.add_argument("--filters", type=int, default=16, help="convolution filters")
    parser.add_argument("--dense_units", type=int, default=64, help="units of the dense layer")
    parser.add_argument("--dropout", type=float, default=0.2, help="dropout rate after pooling and the dense layer")
    parser.add_argument("--learning_rate", type=float, default=1e-3, help="Adam's learning rate")
    return parser.parse_args()


def load_splits(seed: int, validation_fraction: float, test_fraction: float) -> tuple[np.ndarray, ...]:
    digits = load_digits()
    images = (digits.images / 16.0).astype("float32")[..., np.newaxis]
    labels = digits.target.astype("int64")
    x_rest, x_test, y_rest, y_test = train_test_split(
        images, labels, test_size=test_fraction, random_state=seed, stratify=labels
    )
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=validation_fraction, random_state=seed, stratify=y_rest
    )
    return x_train, y_train, x_val, y_val, x_test, y_test


def build_model(arguments: argparse.Namespace) -> keras.Model:
    model = keras.Sequential(
        [
            keras.Input(shape=(8, 8, 1)),
            keras.layers.Conv2D(arguments.filters, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Dropout(arguments.dropout),
            keras.layers.Flatten(),
            keras.layers.Dense(arguments.dense_units, activation="relu"),
            keras.layers.Dropout(arguments.dropout),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=arguments.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def main() -> None:
    arguments = parse_arguments()
    settings = yaml.safe_load(arguments.config.read_text(encoding="utf-8"))
    keras.utils.set_random_seed(settings["seed"])
    x_train, y_train, x_val, y_val, x_test, y_test = load_splits(
        settings["seed"], settings["validation_fraction"], settings["test_fraction"]
    )
    model = build_model(arguments)
    print(f"trial {settings['trial_id']}: {len(x_train)} training images, {settings['max_epochs']} epochs")

    best_accuracy = -1.0
    for epoch in range(1, settings["max_epochs"] + 1):
        history = model.fit(x_train, y_train, batch_size=settings["batch_size"], epochs=1, verbose=0)
        val_loss, val_accuracy = model.evaluate(x_val, y_val, batch_size=512, verbose=0)
        if val_accuracy > best_accuracy:
            best_accuracy = val_accuracy
            model.save("model.keras")
        line = (
            f"epoch={epoch} val_accuracy={val_accuracy:.4f} val_loss={val_loss:.4f} "
            f"accuracy={history.history['accuracy'][-1]:.4f} loss={history.history['loss'][-1]:.4f}"
        )
        if epoch == settings["max_epochs"]:
            best = keras.models.load_model("model.keras")
            _, test_accuracy = best.evaluate(x_test, y_test, batch_size=512, verbose=0)
            line += f" test_accuracy={test_accuracy:.4f}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
