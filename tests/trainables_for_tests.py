"""Trainables used only by the tests; Ray workers import them by ``module:function``."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from ray import tune

from trainables.functions import branin_value


def flaky_branin(config: dict[str, Any]) -> None:
    """Branin that fails for negative x1, like a configuration a model cannot be built with."""
    if config["x1"] < 0:
        raise ValueError(f"x1 = {config['x1']:.3f} is negative")
    tune.report({"value": branin_value(config["x1"], config["x2"])})


def learning_curve(config: dict[str, Any], max_epochs: int = 9) -> None:
    """A loss that falls with each epoch towards a floor set by x1; lower x1 is better."""
    for epoch in range(1, max_epochs + 1):
        tune.report({"value": config["x1"] + 10.0 / epoch, "epoch": epoch})


def slow_curve(config: dict[str, Any], max_epochs: int = 100) -> None:
    """A learning curve that takes 0.2 s per epoch, for time budgets and interrupted runs."""
    for epoch in range(1, max_epochs + 1):
        time.sleep(0.2)
        tune.report({"value": config["x1"] + 10.0 / epoch, "epoch": epoch})


def printing_epochs(config: dict[str, Any], max_epochs: int = 200, epoch_s: float = 0.05) -> None:
    """Print a line and report once per epoch, saving a checkpoint when ``value`` improves.

    ``value`` falls with each epoch, so a trial that runs longer is better. The default 200 epochs
    of 0.05 s keep a trial running for about 10 s, long enough to stop it from a test.
    """
    best = float("inf")
    for epoch in range(1, max_epochs + 1):
        time.sleep(epoch_s)
        value = config["x1"] + 10.0 / epoch
        print(f"epoch {epoch} value {value:.4f}", flush=True)
        if value < best:
            best = value
            with tempfile.TemporaryDirectory() as folder:
                (Path(folder) / "weights.bin").write_bytes(f"epoch {epoch}".encode("ascii"))
                tune.report({"value": value, "epoch": epoch}, checkpoint=tune.Checkpoint.from_directory(folder))
        else:
            tune.report({"value": value, "epoch": epoch})
