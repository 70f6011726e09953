"""Trainables used only by the tests; Ray workers import them by ``module:function``."""

from __future__ import annotations

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
    """A learning curve that takes 0.2 s per epoch, for time budgets and stop requests."""
    import time

    for epoch in range(1, max_epochs + 1):
        time.sleep(0.2)
        tune.report({"value": config["x1"] + 10.0 / epoch, "epoch": epoch})
