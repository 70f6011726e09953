"""The one search-space model every searcher works on, built on ConfigSpace."""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from ConfigSpace import Configuration, ConfigurationSpace
from ConfigSpace.hyperparameters import (
    CategoricalHyperparameter,
    Constant,
    FloatHyperparameter,
    Hyperparameter,
    IntegerHyperparameter,
    OrdinalHyperparameter,
)

from tuner.errors import SpaceError


def to_native(value: Any) -> Any:
    """Convert a NumPy scalar to the Python value it holds; leave other values as they are."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def same_value(first: Any, second: Any) -> bool:
    """Compare two hyperparameter values by type and value, so ``1``, ``1.0`` and ``True`` differ."""
    first, second = to_native(first), to_native(second)
    return type(first) is type(second) and first == second


@dataclass(frozen=True)
class ValueCheck:
    """The outcome of checking one value against a hyperparameter."""

    ok: bool
    reason: str = ""


class SearchSpace:
    """A search space: hyperparameters, conditions and forbidden combinations.

    Wraps a ``ConfigurationSpace`` and adds what the searchers and the results store share: native
    Python values, typed columns and checks of given configurations with readable reasons.
    """

    def __init__(self, configspace: ConfigurationSpace, source: str = "<inline>") -> None:
        self.configspace = configspace
        self.source = source

    @property
    def names(self) -> list[str]:
        """Names of the hyperparameters in ConfigSpace's order: parents before children, then by name."""
        return list(self.configspace.keys())

    def __getitem__(self, name: str) -> Hyperparameter:
        return self.configspace[name]

    def __len__(self) -> int:
        return len(self.configspace)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SearchSpace) and self.configspace == other.configspace

    def __repr__(self) -> str:
        return f"SearchSpace({self.source!r}, {self.names})"

    def sample(self, n_configs: int, seed: int | None = None) -> list[dict[str, Any]]:
        """Draw ``n_configs`` random valid configurations as dictionaries of native values.

        Inactive hyperparameters are absent from a dictionary. The same seed gives the same list.
        """
        if seed is not None:
            self.configspace.seed(seed)
        if n_configs == 1:
            configurations = [self.configspace.sample_configuration()]
        else:
            configurations = self.configspace.sample_configuration(n_configs)
        return [self.to_dict(configuration) for configuration in configurations]

    def to_dict(self, configuration: Configuration | dict[str, Any]) -> dict[str, Any]:
        """Return the active values of ``configuration`` as native Python values, in the order of :attr:`names`."""
        values = dict(configuration)
        return {name: self._native(name, values[name]) for name in self.names if name in values}

    def _native(self, name: str, value: Any) -> Any:
        """Return the value as declared: a categorical or ordinal keeps the exact object from the file."""
        hyperparameter = self.configspace[name]
        value = to_native(value)
        if isinstance(hyperparameter, CategoricalHyperparameter | OrdinalHyperparameter):
            declared = _declared_values(hyperparameter)
            for candidate in declared:
                if same_value(candidate, value):
                    return to_native(candidate)
            for candidate in declared:
                if candidate == value:
                    return to_native(candidate)
        if isinstance(hyperparameter, IntegerHyperparameter):
            return int(value)
        if isinstance(hyperparameter, FloatHyperparameter):
            return float(value)
        return value

    def check_value(self, name: str, value: Any) -> ValueCheck:
        """Check that ``value`` has the declared type of ``name`` and lies in its range or choices."""
        hyperparameter = self.configspace[name]
        value = to_native(value)
        if isinstance(hyperparameter, IntegerHyperparameter):
            if isinstance(value, bool) or not isinstance(value, int):
                return ValueCheck(False, f"must be an integer, got {value!r}")
            if not hyperparameter.lower <= value <= hyperparameter.upper:
                return ValueCheck(
                    False, f"must be from {hyperparameter.lower} to {hyperparameter.upper}, got {value!r}"
                )
            return ValueCheck(True)
        if isinstance(hyperparameter, FloatHyperparameter):
            if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
                return ValueCheck(False, f"must be a number, got {value!r}")
            if not hyperparameter.lower <= value <= hyperparameter.upper:
                return ValueCheck(
                    False, f"must be from {hyperparameter.lower} to {hyperparameter.upper}, got {value!r}"
                )
            return ValueCheck(True)
        declared = _declared_values(hyperparameter)
        if any(same_value(candidate, value) for candidate in declared):
            return ValueCheck(True)
        return ValueCheck(False, f"must be one of {[to_native(item) for item in declared]}, got {value!r}")

    def check_configuration(self, values: dict[str, Any]) -> list[str]:
        """List what is wrong with a configuration given as a dictionary; an empty list means valid.

        Checks unknown and missing names, types and ranges, values given for inactive
        hyperparameters and forbidden combinations.
        """
        problems = [f"{name}: not a hyperparameter of the search space" for name in values if name not in self.names]
        for name, value in values.items():
            if name in self.names:
                check = self.check_value(name, value)
                if not check.ok:
                    problems.append(f"{name}: {check.reason}")
        if problems:
            return problems

        active = self.active_names(values)
        for name in self.names:
            if name in active and name not in values:
                problems.append(f"{name}: missing, and it is active in this configuration")
            if name in values and name not in active:
                problems.append(f"{name}: given, but a condition makes it inactive in this configuration")
        if problems:
            return problems

        for forbidden in self.configspace.forbidden_clauses:
            if forbidden.is_forbidden_value(dict(values)):
                problems.append(f"forbidden combination: {forbidden}")
        return problems

    def active_names(self, values: dict[str, Any]) -> set[str]:
        """Return the hyperparameters that the conditions make active under ``values``."""
        active: set[str] = set()
        for name in self.names:
            parent_conditions = self.configspace.parent_conditions_of[name]
            if not parent_conditions:
                active.add(name)
                continue
            parents_active = all(parent.name in active for parent in self.configspace.parents_of[name])
            if parents_active and all(self._condition_holds(condition, values) for condition in parent_conditions):
                active.add(name)
        return active

    @staticmethod
    def _condition_holds(condition: Any, values: dict[str, Any]) -> bool:
        try:
            return bool(condition.satisfied_by_value(values))
        except (KeyError, ValueError, TypeError):
            return False

    def default(self) -> dict[str, Any]:
        """Return the default configuration as native values."""
        return self.to_dict(self.configspace.get_default_configuration())

    def to_json(self) -> str:
        """Serialise the space as ConfigSpace JSON, the canonical text used to compare spaces."""
        buffer = io.StringIO()
        self.configspace.to_json(buffer)
        return buffer.getvalue()

    def fingerprint(self) -> dict[str, Any]:
        """Return a plain description of the space; two spaces that differ differ here."""
        return json.loads(self.to_json())


def _declared_values(hyperparameter: Hyperparameter) -> tuple[Any, ...]:
    if isinstance(hyperparameter, CategoricalHyperparameter):
        return tuple(hyperparameter.choices)
    if isinstance(hyperparameter, OrdinalHyperparameter):
        return tuple(hyperparameter.sequence)
    if isinstance(hyperparameter, Constant):
        return (hyperparameter.value,)
    raise SpaceError(f"{hyperparameter.name}: has no list of values")


def configspace_from_json(text: str) -> ConfigurationSpace:
    """Read ConfigSpace JSON text, as written by :meth:`SearchSpace.to_json`."""
    return ConfigurationSpace.from_json(io.StringIO(text))
