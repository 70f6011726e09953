"""Benchmark functions with known optima, as trainables that report one value and return.

Each reports ``value`` (to be minimised) and ``regret``, the distance to the known optimum.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from ray import tune

BRANIN_MINIMUM = 0.397887357729739
HARTMANN6_MINIMUM = -3.322368011391339

_HARTMANN6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_HARTMANN6_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
_HARTMANN6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)


def branin_value(x1: float, x2: float) -> float:
    """Evaluate the Branin function on x1 in [-5, 10], x2 in [0, 15]; its minimum is 0.397887."""
    b = 5.1 / (4 * math.pi**2)
    c = 5 / math.pi
    t = 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


def hartmann6_value(point: list[float]) -> float:
    """Evaluate the six-dimensional Hartmann function on [0, 1]^6; its minimum is -3.32237."""
    x = np.asarray(point, dtype=float)
    inner = np.sum(_HARTMANN6_A * (x - _HARTMANN6_P) ** 2, axis=1)
    return float(-np.sum(_HARTMANN6_ALPHA * np.exp(-inner)))


def branin(config: dict[str, Any]) -> None:
    """Report Branin at ``config['x1']``, ``config['x2']``."""
    value = branin_value(config["x1"], config["x2"])
    tune.report({"value": value, "regret": value - BRANIN_MINIMUM})


def hartmann6(config: dict[str, Any]) -> None:
    """Report Hartmann6 at ``config['x1']`` to ``config['x6']``."""
    value = hartmann6_value([config[f"x{index}"] for index in range(1, 7)])
    tune.report({"value": value, "regret": value - HARTMANN6_MINIMUM})
