"""The YAML search-space format: types, bounds, conditions and forbidden combinations."""

from __future__ import annotations

from pathlib import Path

import pytest

from search_spaces import load_space
from search_spaces.yaml_format import space_from_mapping
from tuner.errors import SpaceError
from tuner.yamlio import parse_yaml

MIXED_SPACE = """
hyperparameters:
  units: {type: categorical, choices: [1, 2, "3"]}
  rate: {type: float, low: 1e-3, high: 1e-1, log: true}
  depth: {type: ordinal, choices: [1, 2, 4]}
  act: {type: constant, value: relu}
  flag: {type: categorical, choices: [true, false]}
"""


def test_categorical_values_keep_declared_types() -> None:
    space = space_from_mapping(parse_yaml(MIXED_SPACE, "mixed.yaml"), "mixed.yaml")

    choices = list(space["units"].choices)

    assert choices == [1, 2, "3"]
    assert [type(choice) for choice in choices] == [int, int, str]


def test_exponent_without_dot_reads_as_float() -> None:
    space = space_from_mapping(parse_yaml(MIXED_SPACE, "mixed.yaml"), "mixed.yaml")

    assert space["rate"].lower == pytest.approx(1e-3)
    assert space["rate"].upper == pytest.approx(1e-1)
    assert space["rate"].log is True


def test_sampled_values_are_native_python() -> None:
    space = space_from_mapping(parse_yaml(MIXED_SPACE, "mixed.yaml"), "mixed.yaml")

    configs = space.sample(50, seed=3)

    for config in configs:
        assert type(config["units"]) in (int, str)
        assert type(config["rate"]) is float
        assert type(config["depth"]) is int
        assert config["act"] == "relu"
        assert type(config["flag"]) is bool
        assert 1e-3 <= config["rate"] <= 1e-1
    assert {config["units"] for config in configs} == {1, 2, "3"}


def test_integer_bounds_are_inclusive() -> None:
    space = space_from_mapping({"hyperparameters": {"k": {"type": "int", "low": 1, "high": 3}}}, "s")

    values = {config["k"] for config in space.sample(200, seed=0)}

    assert values == {1, 2, 3}


def test_condition_makes_child_inactive() -> None:
    space = space_from_mapping(
        {
            "hyperparameters": {
                "pool": {"type": "categorical", "choices": ["max", "none"]},
                "pool_size": {"type": "int", "low": 2, "high": 3},
            },
            "conditions": [{"hyperparameter": "pool_size", "parent": "pool", "values": ["max"]}],
        },
        "s",
    )

    configs = space.sample(100, seed=1)

    for config in configs:
        assert ("pool_size" in config) == (config["pool"] == "max")
    assert any("pool_size" in config for config in configs)
    assert any("pool_size" not in config for config in configs)


def test_forbidden_combination_never_sampled() -> None:
    space = space_from_mapping(
        {
            "hyperparameters": {
                "a": {"type": "categorical", "choices": [1, 2]},
                "b": {"type": "categorical", "choices": ["x", "y"]},
            },
            "forbidden": [{"a": 1, "b": "x"}],
        },
        "s",
    )

    pairs = {(config["a"], config["b"]) for config in space.sample(200, seed=2)}

    assert pairs == {(1, "y"), (2, "x"), (2, "y")}


def test_forbidden_default_moves_default() -> None:
    space = space_from_mapping(
        {"hyperparameters": {"a": {"type": "categorical", "choices": [1, 2], "default": 1}}, "forbidden": [{"a": 1}]},
        "s",
    )

    assert space.default() == {"a": 2}


def test_check_configuration_lists_problems() -> None:
    space = space_from_mapping(
        {
            "hyperparameters": {
                "pool": {"type": "categorical", "choices": ["max", "none"]},
                "size": {"type": "int", "low": 2, "high": 3},
            },
            "conditions": [{"hyperparameter": "size", "parent": "pool", "values": ["max"]}],
        },
        "s",
    )

    assert space.check_configuration({"pool": "max", "size": 2}) == []
    assert space.check_configuration({"pool": "none", "size": 2}) == [
        "size: given, but a condition makes it inactive in this configuration"
    ]
    assert space.check_configuration({"pool": "max"}) == ["size: missing, and it is active in this configuration"]
    assert space.check_configuration({"pool": "max", "size": 2.0}) == ["size: must be an integer, got 2.0"]
    assert space.check_configuration({"pool": "avg", "size": 9}) == [
        "pool: must be one of ['max', 'none'], got 'avg'",
        "size: must be from 2 to 3, got 9",
    ]


def test_shipped_keras_space_matches_declared_ranges() -> None:
    space = load_space("keras_cnn", Path("."))

    assert (space["filters"].lower, space["filters"].upper, space["filters"].log) == (16, 256, True)
    assert (space["kernel_size"].lower, space["kernel_size"].upper) == (1, 8)
    assert (space["dropout"].lower, space["dropout"].upper) == (0.0, 0.5)
    assert list(space["pool_size"].choices) == [1, 2]
    assert space["learning_rate"].lower == pytest.approx(1e-4)
    assert space["learning_rate"].upper == pytest.approx(3e-2)
    assert (space["dense_units"].lower, space["dense_units"].upper) == (32, 256)


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ({"type": "int", "low": 1.5, "high": 3}, "s: hyperparameters.k.low must be an integer, got 1.5"),
        ({"type": "int", "low": 1}, "s: hyperparameters.k.high is required but missing"),
        ({"type": "int", "low": 1, "high": 3, "step": 1},
         "s: hyperparameters.k.step is not a known key for type int (allowed: default, high, log, low, type)"),
        ({"type": "int", "low": 1, "high": 3, "default": 5},
         "s: hyperparameters.k.default must be an integer from 1 to 3, got 5"),
        ({"type": "categorical", "choices": [1, 2], "default": 3},
         "s: hyperparameters.k.default must be one of the choices [1, 2], got 3"),
        ({"type": "categorical", "choices": [[1], 2]},
         "s: hyperparameters.k.choices[0] must be a number, string or boolean, got [1]"),
        ({"type": "constant"}, "s: hyperparameters.k.value is required but missing"),
    ],
)
def test_bad_hyperparameter_rejected(definition: dict, message: str) -> None:
    with pytest.raises(SpaceError) as raised:
        space_from_mapping({"hyperparameters": {"k": definition}}, "s")

    assert str(raised.value) == message
