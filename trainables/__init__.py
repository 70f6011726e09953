"""What is run: the Keras CNN, command-line programs, benchmark functions, and any ``module:function``.

A trainable is a function ``train(config, **args)``: ``config`` contains one trial's hyperparameters
(inactive ones absent) and ``args`` the experiment's fixed arguments. It reports results with
``ray.tune.report`` once per epoch; each report is one ``training_iteration`` for the schedulers.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any

from tuner.errors import SpecError

REGISTERED: dict[str, str] = {
    "keras_cnn": "trainables.keras_cnn:train",
    "command": "trainables.command:train",
    "branin": "trainables.functions:branin",
    "hartmann6": "trainables.functions:hartmann6",
}

# Hyperparameters each registered function trainable reads: (required, optional). A space must
# give every required one and nothing outside both sets.
HYPERPARAMETERS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "keras_cnn": ((), ("filters", "kernel_size", "dropout", "pool_size", "learning_rate", "dense_units")),
    "branin": (("x1", "x2"), ()),
    "hartmann6": (tuple(f"x{index}" for index in range(1, 7)), ()),
}

# Metrics each registered trainable reports to the searcher. ``test_*`` metrics are reported once
# at the end for the leaderboard and are never a valid experiment metric.
REPORTED_METRICS: dict[str, tuple[str, ...]] = {
    "keras_cnn": ("val_accuracy", "val_loss", "accuracy", "loss"),
    "branin": ("value", "regret"),
    "hartmann6": ("value", "regret"),
}

# Checks of a registered trainable's arguments that need more than their types: the search space
# or the experiment file's folder. Each is ``module:function`` taking (args, space, base_dir,
# source), raising SpecError, and returning the arguments as the trials get them. They run after
# the arguments were checked against the trainable's signature, unless it takes ``**args``.
ARGUMENT_CHECKS: dict[str, str] = {
    "command": "trainables.command:check_arguments",
    "keras_cnn": "trainables.keras_cnn:check_arguments",
}

# Trainables whose trials run programs of their own. Ray Tune 2.60 keeps the actor of a stopped
# trial for reuse without ending the trial's function until the actor is reused or released, so
# these get a fresh actor per trial and a stopped trial's processes end at once.
RUNS_PROCESSES: frozenset[str] = frozenset({"command"})


def resolve_trainable(reference: str) -> Callable[..., Any]:
    """Import the trainable that ``reference`` names: a registered name or ``module:function``."""
    target = REGISTERED.get(reference, reference)
    if ":" not in target:
        names = ", ".join(sorted(REGISTERED))
        raise SpecError(f"trainable.name must be a registered trainable ({names}) or module:function, got {reference!r}")
    module_name, _, function_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise SpecError(f"trainable.name: cannot import module {module_name!r} of {reference!r}: {error}") from None
    function = getattr(module, function_name, None)
    if function is None or not callable(function):
        raise SpecError(f"trainable.name: module {module_name!r} has no function {function_name!r}")
    return function


def resolve_argument_check(reference: str) -> Callable[..., Any] | None:
    """Import the argument check of a registered trainable, or return ``None`` when it has none."""
    target = ARGUMENT_CHECKS.get(reference)
    if target is None:
        return None
    module_name, _, function_name = target.partition(":")
    return getattr(importlib.import_module(module_name), function_name)


def argument_names(function: Callable[..., Any]) -> list[str]:
    """Names of the keyword arguments a trainable takes besides ``config``."""
    parameters = list(inspect.signature(function).parameters.values())[1:]
    return [parameter.name for parameter in parameters if parameter.kind is not inspect.Parameter.VAR_KEYWORD]
