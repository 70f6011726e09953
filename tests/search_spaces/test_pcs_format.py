"""SMAC's PCS format: both syntaxes, typed values, and errors that name the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from search_spaces import load_space
from search_spaces.pcs_format import space_from_pcs_text
from search_spaces.yaml_format import space_from_mapping
from tuner.errors import SpaceError


def test_shipped_pcs_equals_yaml_space() -> None:
    from_yaml = load_space("keras_cnn", Path("."))
    from_pcs = load_space(str(Path(__file__).resolve().parents[2] / "search_spaces" / "keras_cnn.pcs"), Path("."))

    assert from_pcs == from_yaml


def test_classic_syntax_with_condition_and_forbidden() -> None:
    space = space_from_pcs_text(
        "pool {max, none} [max]\n"
        "size [2, 4] [2]i\n"
        "rate [1e-4, 1e-1] [1e-3]l   # log-scaled float\n"
        "size | pool in {max}\n"
        "{pool=none, rate=0.1}\n",
        "s.pcs",
    )

    expected = space_from_mapping(
        {
            "hyperparameters": {
                "pool": {"type": "categorical", "choices": ["max", "none"], "default": "max"},
                "size": {"type": "int", "low": 2, "high": 4, "default": 2},
                "rate": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True, "default": 1e-3},
            },
            "conditions": [{"hyperparameter": "size", "parent": "pool", "values": ["max"]}],
            "forbidden": [{"pool": "none", "rate": 0.1}],
        },
        "s.yaml",
    )
    assert space == expected


def test_new_syntax_reads_types() -> None:
    space = space_from_pcs_text(
        "units integer [8, 64] [16] log\n"
        "drop real [0, 1] [0.5]\n"
        "kernel ordinal {1, 3, 5} [3]\n"
        "act categorical {relu, tanh} [relu]\n"
        "kernel | act == relu && drop in {0.5}\n",
        "n.pcs",
    )

    assert space["units"].log is True
    assert space["drop"].lower == 0.0
    assert list(space["kernel"].sequence) == [1, 3, 5]
    assert list(space["act"].choices) == ["relu", "tanh"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x [0, 1] [0.5]\ny [oops]\n",
         "bad.pcs:2: cannot read 'y [oops]'; expected a range 'name [low, high] [default]' with optional i/l "
         "flags, choices 'name {a, b} [default]', a condition 'child | parent in {a, b}' or a forbidden clause "
         "'{a=1, b=2}'"),
        ("x [0, 1] [0.5]\nx [0, 2] [1]\n", "bad.pcs:2: x is declared twice (first on line 1)"),
        ("x [5, 1] [2]i\n", "bad.pcs:1: x: low must be <= high, got low=5 and high=1"),
        ("x [0, 1] [0.5]l\n", "bad.pcs:1: x: a log scale needs low > 0, got low=0.0"),
        ("x [a, 1] [0]\n", "bad.pcs:1: x: low must be a number, got 'a'"),
        ("x {a, b} [a]\ny [0, 1] [0]\ny | x in {c}\n",
         "bad.pcs:3: conditions[0].values: x cannot take 'c'; it must be one of ['a', 'b']"),
        ("x {a, b} [a]\n{x=a, y}\n", "bad.pcs:2: cannot read 'y' in a forbidden clause; expected name=value"),
        ("# only a comment\n", "bad.pcs: no hyperparameters declared"),
        (
            "x1 [0, 1] [0.5]\nx2 {a, b} [a]\nx2 | x3 in {a}\n",
            "bad.pcs:3: conditions[0].parent: 'x3' is not a hyperparameter of this space",
        ),
    ],
)
def test_malformed_pcs_names_line(text: str, message: str) -> None:
    with pytest.raises(SpaceError) as raised:
        space_from_pcs_text(text, "bad.pcs")

    assert str(raised.value) == message


def test_pcs_file_not_utf8_rejected(tmp_path: Path) -> None:
    path = tmp_path / "space.pcs"
    path.write_bytes(b"\xff\xfex [0, 1] [0.5]\n")

    with pytest.raises(SpaceError) as raised:
        load_space(str(path), tmp_path)

    assert str(raised.value) == f"{path}: not UTF-8 text"
