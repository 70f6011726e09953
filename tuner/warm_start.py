"""Warm starts: the finished trials of an earlier experiment, passed to a new experiment's searcher."""

from __future__ import annotations

import json
from typing import Any

from search_spaces import SearchSpace
from search_spaces.model import configspace_from_json
from search_spaces.design_table import parse_cell
from tuner.errors import NotFoundError, SpecError
from tuner.store import SPACE_FILE, ExperimentStore
from tuner.yamlio import parse_yaml
FINISHED_STATUSES = ("TERMINATED", "STOPPED", "ERROR")


def describe_space_differences(earlier: SearchSpace, current: SearchSpace) -> list[str]:
    """List how two spaces differ, hyperparameter by hyperparameter, then conditions and forbidden clauses."""
    before = json.loads(earlier.to_json())
    after = json.loads(current.to_json())
    old_hyperparameters = {item["name"]: item for item in before.get("hyperparameters", [])}
    new_hyperparameters = {item["name"]: item for item in after.get("hyperparameters", [])}
    differences = []
    for name in sorted(old_hyperparameters.keys() | new_hyperparameters.keys()):
        if name not in new_hyperparameters:
            differences.append(f"{name} is only in the earlier space")
        elif name not in old_hyperparameters:
            differences.append(f"{name} is only in this space")
        elif old_hyperparameters[name] != new_hyperparameters[name]:
            differences.append(
                f"{name} differs (earlier {_summary(old_hyperparameters[name])}, now {_summary(new_hyperparameters[name])})"
            )
    for key in ("conditions", "forbiddens"):
        old_items = sorted(json.dumps(item, sort_keys=True) for item in before.get(key, []))
        new_items = sorted(json.dumps(item, sort_keys=True) for item in after.get(key, []))
        if old_items != new_items:
            differences.append(f"the {'forbidden clauses' if key == 'forbiddens' else key} differ")
    return differences


def _summary(item: dict[str, Any]) -> str:
    kept = {key: value for key, value in item.items() if key not in ("name", "default_value", "meta", "weights")}
    return json.dumps(kept, sort_keys=True)


def load_warm_start(
    storage: str, name: str, space: SearchSpace, metric: str, mode: str, source: str
) -> list[tuple[dict[str, Any], float | None]]:
    """Read the finished trials of experiment ``name`` as (configuration, metric or ``None``) pairs.

    Raises :class:`SpecError` when the experiment is missing or its space, metric or mode differ.
    """
    store = ExperimentStore(storage, name)
    try:
        earlier_spec = parse_yaml(store.read_spec(), f"{store.path}/spec.yaml")
        space_text = store.read_bytes(SPACE_FILE).decode("utf-8")
        trials = store.read_trials()
    except NotFoundError as error:
        raise SpecError(f"{source}: warm_start: experiment {name!r} cannot be read from {storage}: {error}") from None

    earlier_space = SearchSpace(configspace_from_json(space_text), f"{store.path}/{SPACE_FILE}")
    differences = describe_space_differences(earlier_space, space)
    if differences:
        raise SpecError(f"{source}: warm_start: experiment {name!r} has a different search space: {'; '.join(differences)}")
    if (earlier_spec.get("metric"), earlier_spec.get("mode")) != (metric, mode):
        raise SpecError(
            f"{source}: warm_start: experiment {name!r} optimised {earlier_spec.get('metric')} "
            f"({earlier_spec.get('mode')}), this one {metric} ({mode}); they must be the same"
        )

    results = []
    for row in trials.to_pylist():
        if row["status"] not in FINISHED_STATUSES:
            continue
        config = {}
        for hyperparameter in space.names:
            value = row.get(f"config.{hyperparameter}")
            if value is not None:
                config[hyperparameter] = _typed(space, hyperparameter, value)
        value = row.get(metric) if row["status"] != "ERROR" else None
        results.append((config, value))
    return results


def _typed(space: SearchSpace, name: str, value: Any) -> Any:
    """Turn a table cell back into the declared value; string columns hold mixed-type choices."""
    if isinstance(value, str):
        return parse_cell(space, name, value)
    return space.to_dict({name: value})[name] if name in space.names else value
