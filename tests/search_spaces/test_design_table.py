"""Design tables: typed cells, inactive hyperparameters and errors naming file, line and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from search_spaces.design_table import read_design_table
from search_spaces.yaml_format import space_from_mapping
from tuner.errors import InputError

SPACE = space_from_mapping(
    {
        "hyperparameters": {
            "units": {"type": "int", "low": 8, "high": 64},
            "rate": {"type": "float", "low": 0.001, "high": 0.1},
            "pool": {"type": "categorical", "choices": ["max", "none", 2]},
            "size": {"type": "int", "low": 2, "high": 3},
        },
        "conditions": [{"hyperparameter": "size", "parent": "pool", "values": ["max"]}],
        "forbidden": [{"pool": "none", "units": 8}],
    },
    "s",
)


def write_table(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "design.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_rows_read_in_declared_types(tmp_path: Path) -> None:
    path = write_table(tmp_path, "units,rate,pool,size\n16,0.01,max,3\n32,0.05,none,\n64,0.1,2,\n")

    rows = read_design_table(path, SPACE)

    assert [row.config for row in rows] == [
        {"units": 16, "rate": 0.01, "pool": "max", "size": 3},
        {"units": 32, "rate": 0.05, "pool": "none"},
        {"units": 64, "rate": 0.1, "pool": 2},
    ]
    assert [row.line for row in rows] == [2, 3, 4]
    assert type(rows[2].config["pool"]) is int


def test_metric_column_holds_known_results(tmp_path: Path) -> None:
    path = write_table(tmp_path, "units,rate,pool,size,loss\n16,0.01,max,3,0.5\n32,0.05,none,,\n")

    rows = read_design_table(path, SPACE, metric="loss")

    assert [row.value for row in rows] == [0.5, None]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("units,rate,pool,size,colour\n16,0.01,max,3,red\n",
         "line 1: column 'colour' is not a hyperparameter of the space (allowed: pool, rate, units, size)"),
        ("units,rate,pool\n16,0.01,max\n", "line 1: missing columns for hyperparameters size"),
        ("units,rate,pool,size\n16.0,0.01,max,3\n", "line 2, column units: must be an integer, got '16.0'"),
        ("units,rate,pool,size\n16,0.01,max,3\n99,0.01,max,3\n", "line 3, column units: must be from 8 to 64, got 99"),
        ("units,rate,pool,size\n16,fast,max,3\n", "line 2, column rate: must be a number, got 'fast'"),
        ("units,rate,pool,size\n16,0.01,avg,3\n",
         "line 2, column pool: must be one of ['max', 'none', '2'], got 'avg'"),
        ("units,rate,pool,size\n16,0.01,none,3\n",
         "line 2, column size: given, but a condition makes it inactive in this configuration"),
        ("units,rate,pool,size\n16,0.01,max,\n", "line 2, column size: missing, and it is active in this configuration"),
        ("units,rate,pool,size\n8,0.01,none,\n",
         "line 2: forbidden combination: (Forbidden: pool == 'none' && Forbidden: units == 8)"),
        ("units,rate,pool,size\n16,0.01\n", "line 2: has 2 cells, the header has 4"),
        ("units,rate,pool,size\n", "no rows; a design table needs at least one configuration"),
    ],
)
def test_bad_table_names_line_and_column(tmp_path: Path, text: str, message: str) -> None:
    path = write_table(tmp_path, text)

    with pytest.raises(InputError) as raised:
        read_design_table(path, SPACE)

    assert str(raised.value) == f"{path}: {message}"
