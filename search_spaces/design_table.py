"""Design tables: CSV files with one row per configuration and one column per hyperparameter.

A cell is read in its hyperparameter's type: ``64`` for an integer (``64.0`` is rejected), any
number for a float, and for categorical, ordinal and constant hyperparameters the text of one of
the declared values (``relu``, ``2``, ``True``). An empty cell means the hyperparameter is
inactive in that row. A column named after the experiment's metric, where allowed, contains a known
result; an empty metric cell means the row has not been run.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ConfigSpace.hyperparameters import FloatHyperparameter, IntegerHyperparameter

from search_spaces.model import SearchSpace, to_native
from tuner.errors import InputError


@dataclass(frozen=True)
class DesignRow:
    """One row of a design table: a valid configuration and, when known, its metric."""

    line: int
    config: dict[str, Any]
    value: float | None


def _declared_values(hyperparameter: Any) -> list[Any]:
    for attribute in ("choices", "sequence"):
        values = getattr(hyperparameter, attribute, None)
        if values is not None:
            return [to_native(value) for value in values]
    return [to_native(hyperparameter.value)]


def parse_cell(space: SearchSpace, name: str, text: str) -> Any:
    """Read one cell as a value of hyperparameter ``name``; raise ``ValueError`` with the reason."""
    hyperparameter = space[name]
    if isinstance(hyperparameter, IntegerHyperparameter):
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"must be an integer, got {text!r}") from None
    elif isinstance(hyperparameter, FloatHyperparameter):
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"must be a number, got {text!r}") from None
    else:
        declared = _declared_values(hyperparameter)
        matches = [candidate for candidate in declared if _text_of(candidate) == text or str(candidate) == text]
        if not matches:
            raise ValueError(f"must be one of {[_text_of(candidate) for candidate in declared]}, got {text!r}")
        if len(matches) > 1:
            raise ValueError(f"{text!r} matches several declared values {matches}; rename one of them")
        value = matches[0]
    check = space.check_value(name, value)
    if not check.ok:
        raise ValueError(check.reason)
    return value


def _text_of(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def read_design_table(path: Path, space: SearchSpace, metric: str | None = None) -> list[DesignRow]:
    """Read and check a design table against ``space``.

    ``metric`` names the column that may hold known results; ``None`` rejects such a column.
    Raises :class:`InputError` naming the file, the line and the column of the first problem.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if not header:
        raise InputError(f"{path}: empty design table; expected a header row of hyperparameter names")
    header = [column.strip() for column in header]
    _check_header(path, header, space, metric)

    rows = []
    for line_number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            raise InputError(f"{path}: line {line_number}: has {len(cells)} cells, the header has {len(header)}")
        rows.append(_read_row(path, line_number, dict(zip(header, cells, strict=True)), space, metric))
    if not rows:
        raise InputError(f"{path}: no rows; a design table needs at least one configuration")
    return rows


def _check_header(path: Path, header: list[str], space: SearchSpace, metric: str | None) -> None:
    seen: set[str] = set()
    for column in header:
        if column in seen:
            raise InputError(f"{path}: line 1: column {column!r} appears twice")
        seen.add(column)
        if column not in space.names and column != metric:
            known = ", ".join(space.names + ([metric] if metric else []))
            raise InputError(f"{path}: line 1: column {column!r} is not a hyperparameter of the space (allowed: {known})")
    missing = [name for name in space.names if name not in seen]
    if missing:
        raise InputError(f"{path}: line 1: missing columns for hyperparameters {', '.join(missing)}")


def _read_row(path: Path, line: int, cells: dict[str, str], space: SearchSpace, metric: str | None) -> DesignRow:
    config: dict[str, Any] = {}
    for name in space.names:
        text = cells[name].strip()
        if text == "":
            continue
        try:
            config[name] = parse_cell(space, name, text)
        except ValueError as error:
            raise InputError(f"{path}: line {line}, column {name}: {error}") from None

    value = None
    if metric is not None and cells.get(metric, "").strip():
        try:
            value = float(cells[metric])
        except ValueError:
            raise InputError(f"{path}: line {line}, column {metric}: must be a number, got {cells[metric]!r}") from None
        if not math.isfinite(value):
            raise InputError(f"{path}: line {line}, column {metric}: must be a finite number, got {cells[metric]!r}")

    problems = space.check_configuration(config)
    if problems:
        first = problems[0]
        column, _, reason = first.partition(": ")
        if column in space.names:
            raise InputError(f"{path}: line {line}, column {column}: {reason}")
        raise InputError(f"{path}: line {line}: {first}")
    return DesignRow(line=line, config=config, value=value)
