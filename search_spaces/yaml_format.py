"""Read search spaces written in YAML (or given inline in an experiment file).

The format::

    hyperparameters:
      filters: {type: int, low: 16, high: 256, log: true}
      dropout: {type: float, low: 0.0, high: 0.5, default: 0.25}
      pool: {type: categorical, choices: [max, average, none]}
      pool_size: {type: ordinal, choices: [1, 2, 3]}
      activation: {type: constant, value: relu}
    conditions:                      # pool_size is active only when pool is max or average
      - {hyperparameter: pool_size, parent: pool, values: [max, average]}
    forbidden:                       # never try these together; a list value means "any of"
      - {pool: average, pool_size: 3}

Bounds are inclusive. Categorical and ordinal values keep the exact type written: ``[1, 2, "3"]``
gives two integers and a string. Several conditions on one hyperparameter must all hold.
"""

from __future__ import annotations

import math
from typing import Any

from ConfigSpace import ConfigurationSpace
from ConfigSpace.conditions import AndConjunction, EqualsCondition, InCondition
from ConfigSpace.forbidden import ForbiddenAndConjunction, ForbiddenEqualsClause, ForbiddenInClause
from ConfigSpace.hyperparameters import (
    CategoricalHyperparameter,
    Constant,
    FloatHyperparameter,
    Hyperparameter,
    IntegerHyperparameter,
    NormalFloatHyperparameter,
    OrdinalHyperparameter,
    UniformFloatHyperparameter,
    UniformIntegerHyperparameter,
)

from search_spaces.model import SearchSpace, same_value, to_native
from tuner.errors import SpaceError

HYPERPARAMETER_TYPES = ("int", "float", "categorical", "ordinal", "constant")
_KEYS_BY_TYPE = {
    "int": {"type", "low", "high", "log", "default"},
    "float": {"type", "low", "high", "log", "default"},
    "categorical": {"type", "choices", "default", "weights"},
    "ordinal": {"type", "choices", "default"},
    "constant": {"type", "value"},
}
_TOP_LEVEL_KEYS = ("hyperparameters", "conditions", "forbidden")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_scalar(value: Any) -> bool:
    return isinstance(value, int | float | str | bool)


def space_from_mapping(data: Any, source: str) -> SearchSpace:
    """Build a :class:`SearchSpace` from a parsed YAML mapping; ``source`` prefixes every error."""
    if not isinstance(data, dict):
        raise SpaceError(f"{source}: a search space must be a mapping with 'hyperparameters', got {data!r}")
    unknown = [key for key in data if key not in _TOP_LEVEL_KEYS]
    if unknown:
        raise SpaceError(
            f"{source}: {unknown[0]} is not a known key (allowed: {', '.join(_TOP_LEVEL_KEYS)})"
        )
    hyperparameters = data.get("hyperparameters")
    if not isinstance(hyperparameters, dict) or not hyperparameters:
        raise SpaceError(
            f"{source}: hyperparameters must be a non-empty mapping of name to definition, got {hyperparameters!r}"
        )

    conditions = data.get("conditions") or []
    forbidden = data.get("forbidden") or []
    configspace = _build(hyperparameters, conditions, source, defaults={})
    clauses = _forbidden_clauses(configspace, forbidden, source)
    if clauses and _default_is_forbidden(configspace, clauses):
        # ConfigSpace rejects a forbidden clause that excludes the default configuration, so the
        # defaults move to a configuration that every clause allows.
        allowed = _find_allowed_configuration(configspace, clauses)
        if allowed is None:
            raise SpaceError(
                f"{source}: the forbidden combinations exclude every configuration; relax at least one of them"
            )
        configspace = _build(hyperparameters, conditions, source, defaults=allowed)
        clauses = _forbidden_clauses(configspace, forbidden, source)
    if clauses:
        configspace.add(clauses)
    return SearchSpace(configspace, source)


def _build(
    hyperparameters: dict[Any, Any], conditions: Any, source: str, defaults: dict[str, Any]
) -> ConfigurationSpace:
    configspace = ConfigurationSpace()
    for name, definition in hyperparameters.items():
        if name in defaults and isinstance(definition, dict) and definition.get("type") != "constant":
            definition = {**definition, "default": defaults[name]}
        configspace.add(_hyperparameter(name, definition, source))
    _add_conditions(configspace, conditions, source)
    return configspace


def _default_is_forbidden(configspace: ConfigurationSpace, clauses: list[Any]) -> bool:
    default = dict(configspace.get_default_configuration())
    return any(clause.is_forbidden_value(default) for clause in clauses)


def _find_allowed_configuration(
    configspace: ConfigurationSpace, clauses: list[Any], n_samples: int = 5000
) -> dict[str, Any] | None:
    """Return a configuration that no clause forbids, found by seeded rejection sampling, or ``None``."""
    configspace.seed(0)
    for configuration in configspace.sample_configuration(n_samples):
        values = {name: to_native(value) for name, value in dict(configuration).items()}
        if not any(clause.is_forbidden_value(values) for clause in clauses):
            return values
    return None


def _hyperparameter(name: Any, definition: Any, source: str) -> Hyperparameter:
    where = f"{source}: hyperparameters.{name}"
    if not isinstance(name, str) or not name.isidentifier():
        raise SpaceError(f"{where}: a name must be a Python identifier such as learning_rate, got {name!r}")
    if not isinstance(definition, dict):
        raise SpaceError(f"{where} must be a mapping with a type, got {definition!r}")
    kind = definition.get("type")
    if kind not in HYPERPARAMETER_TYPES:
        raise SpaceError(f"{where}.type must be one of {', '.join(HYPERPARAMETER_TYPES)}, got {kind!r}")
    allowed = _KEYS_BY_TYPE[kind]
    for key in definition:
        if key not in allowed:
            raise SpaceError(f"{where}.{key} is not a known key for type {kind} (allowed: {', '.join(sorted(allowed))})")

    if kind in ("int", "float"):
        return _range(name, kind, definition, where)
    if kind == "constant":
        if "value" not in definition:
            raise SpaceError(f"{where}.value is required but missing")
        value = definition["value"]
        if not _is_scalar(value):
            raise SpaceError(f"{where}.value must be a number, string or boolean, got {value!r}")
        return Constant(name, value)
    return _choice(name, kind, definition, where)


def _range(name: str, kind: str, definition: dict[str, Any], where: str) -> Hyperparameter:
    for key in ("low", "high"):
        if key not in definition:
            raise SpaceError(f"{where}.{key} is required but missing")
        value = definition[key]
        if kind == "int" and (isinstance(value, bool) or not isinstance(value, int)):
            raise SpaceError(f"{where}.{key} must be an integer, got {value!r}")
        if kind == "float" and (not _is_number(value) or not math.isfinite(value)):
            raise SpaceError(f"{where}.{key} must be a finite number, got {value!r}")
    low, high = definition["low"], definition["high"]
    log = definition.get("log", False)
    if not isinstance(log, bool):
        raise SpaceError(f"{where}.log must be true or false, got {log!r}")
    if low > high:
        raise SpaceError(f"{where}: low must be <= high, got low={low!r} and high={high!r}")
    if log and low <= 0:
        raise SpaceError(f"{where}: a log scale needs low > 0, got low={low!r}")

    default = definition.get("default")
    if default is not None:
        wrong_type = (kind == "int" and (isinstance(default, bool) or not isinstance(default, int))) or (
            kind == "float" and not _is_number(default)
        )
        if wrong_type or not low <= default <= high:
            raise SpaceError(f"{where}.default must be a{'n integer' if kind == 'int' else ' number'} from {low} to {high}, got {default!r}")

    if low == high:
        return Constant(name, low if kind == "int" else float(low))
    options: dict[str, Any] = {} if default is None else {"default_value": default}
    if kind == "int":
        return UniformIntegerHyperparameter(name, low, high, log=log, **options)
    if default is not None:
        options["default_value"] = float(default)
    return UniformFloatHyperparameter(name, float(low), float(high), log=log, **options)


def _choice(name: str, kind: str, definition: dict[str, Any], where: str) -> Hyperparameter:
    choices = definition.get("choices")
    if not isinstance(choices, list) or not choices:
        raise SpaceError(f"{where}.choices must be a non-empty list, got {choices!r}")
    for index, choice in enumerate(choices):
        if not _is_scalar(choice):
            raise SpaceError(f"{where}.choices[{index}] must be a number, string or boolean, got {choice!r}")
        for earlier in choices[:index]:
            if earlier == choice:
                raise SpaceError(
                    f"{where}.choices: {earlier!r} and {choice!r} are the same value to Python; each choice must be distinct"
                )
    default = definition.get("default")
    if default is not None and not any(same_value(default, choice) for choice in choices):
        raise SpaceError(f"{where}.default must be one of the choices {choices}, got {default!r}")

    options: dict[str, Any] = {} if default is None else {"default_value": default}
    if kind == "ordinal":
        return OrdinalHyperparameter(name, list(choices), **options)
    weights = definition.get("weights")
    if weights is not None:
        if (
            not isinstance(weights, list)
            or len(weights) != len(choices)
            or not all(_is_number(weight) and weight >= 0 for weight in weights)
            or sum(weights) <= 0
        ):
            raise SpaceError(
                f"{where}.weights must be a list of {len(choices)} non-negative numbers with a positive sum, got {weights!r}"
            )
    return CategoricalHyperparameter(name, list(choices), weights=weights, **options)


def _parent_values(parent: Hyperparameter) -> list[Any] | None:
    if isinstance(parent, CategoricalHyperparameter):
        return [to_native(choice) for choice in parent.choices]
    if isinstance(parent, OrdinalHyperparameter):
        return [to_native(choice) for choice in parent.sequence]
    if isinstance(parent, Constant):
        return [to_native(parent.value)]
    return None


def _value_allowed(hyperparameter: Hyperparameter, value: Any) -> bool:
    values = _parent_values(hyperparameter)
    if values is not None:
        return any(same_value(value, candidate) for candidate in values)
    if isinstance(hyperparameter, IntegerHyperparameter):
        return isinstance(value, int) and not isinstance(value, bool) and hyperparameter.lower <= value <= hyperparameter.upper
    if isinstance(hyperparameter, FloatHyperparameter | NormalFloatHyperparameter):
        return _is_number(value) and hyperparameter.lower <= value <= hyperparameter.upper
    return False


def _add_conditions(configspace: ConfigurationSpace, conditions: Any, source: str) -> None:
    if not isinstance(conditions, list):
        raise SpaceError(f"{source}: conditions must be a list, got {conditions!r}")
    by_child: dict[str, list[Any]] = {}
    for index, condition in enumerate(conditions):
        where = f"{source}: conditions[{index}]"
        if not isinstance(condition, dict):
            raise SpaceError(f"{where} must be a mapping with hyperparameter, parent and values, got {condition!r}")
        for key in condition:
            if key not in ("hyperparameter", "parent", "values"):
                raise SpaceError(f"{where}.{key} is not a known key (allowed: hyperparameter, parent, values)")
        for key in ("hyperparameter", "parent", "values"):
            if key not in condition:
                raise SpaceError(f"{where}.{key} is required but missing")
        child_name, parent_name, values = condition["hyperparameter"], condition["parent"], condition["values"]
        if child_name not in configspace:
            raise SpaceError(f"{where}.hyperparameter: {child_name!r} is not a hyperparameter of this space")
        if parent_name not in configspace:
            raise SpaceError(f"{where}.parent: {parent_name!r} is not a hyperparameter of this space")
        if child_name == parent_name:
            raise SpaceError(f"{where}: {child_name!r} cannot be its own parent")
        if not isinstance(values, list) or not values:
            raise SpaceError(f"{where}.values must be a non-empty list of values of {parent_name}, got {values!r}")
        parent = configspace[parent_name]
        for value in values:
            if not _value_allowed(parent, value):
                allowed = _parent_values(parent)
                what = f"one of {allowed}" if allowed is not None else f"from {parent.lower} to {parent.upper}"
                raise SpaceError(f"{where}.values: {parent_name} cannot take {value!r}; it must be {what}")
        child = configspace[child_name]
        if len(values) == 1:
            clause = EqualsCondition(child, parent, values[0])
        else:
            clause = InCondition(child, parent, list(values))
        by_child.setdefault(child_name, []).append(clause)

    for child_name, clauses in by_child.items():
        try:
            configspace.add(clauses[0] if len(clauses) == 1 else AndConjunction(*clauses))
        except (ValueError, TypeError) as error:
            raise SpaceError(f"{source}: conditions on {child_name}: {error}") from None


def _forbidden_clauses(configspace: ConfigurationSpace, forbidden: Any, source: str) -> list[Any]:
    if not isinstance(forbidden, list):
        raise SpaceError(f"{source}: forbidden must be a list, got {forbidden!r}")
    result = []
    for index, combination in enumerate(forbidden):
        where = f"{source}: forbidden[{index}]"
        if not isinstance(combination, dict) or not combination:
            raise SpaceError(f"{where} must be a non-empty mapping of hyperparameter to value(s), got {combination!r}")
        clauses = []
        for name, value in combination.items():
            if name not in configspace:
                raise SpaceError(f"{where}: {name!r} is not a hyperparameter of this space")
            hyperparameter = configspace[name]
            values = value if isinstance(value, list) else [value]
            if not values:
                raise SpaceError(f"{where}.{name} must be a value or a non-empty list of values")
            for item in values:
                if not _value_allowed(hyperparameter, item):
                    raise SpaceError(f"{where}.{name}: {name} cannot take {item!r}")
            if isinstance(value, list):
                clauses.append(ForbiddenInClause(hyperparameter, list(values)))
            else:
                clauses.append(ForbiddenEqualsClause(hyperparameter, value))
        result.append(clauses[0] if len(clauses) == 1 else ForbiddenAndConjunction(*clauses))
    return result
