"""Leaderboards: the trials of an experiment, best first, read from trials.parquet."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from tuner.errors import InputError
from tuner.store import ExperimentStore
from tuner.yamlio import parse_yaml


@dataclass(frozen=True)
class Leaderboard:
    """The ranked trials of one experiment."""

    metric: str
    mode: str
    table: pa.Table


def experiment_objective(store: ExperimentStore) -> tuple[str, str]:
    """Read the metric and mode an experiment was run with from its spec.yaml."""
    spec = parse_yaml(store.read_spec(), f"{store.path}/spec.yaml")
    return spec["metric"], spec["mode"]


def rank_trials(table: pa.Table, metric: str, mode: str) -> pa.Table:
    """Sort trials by ``metric`` in the direction of ``mode``; trials without a value come last."""
    if metric not in table.column_names:
        raise InputError(f"cannot sort by {metric!r}: not a column of the trials table")
    order = "descending" if mode == "max" else "ascending"
    return table.sort_by([(metric, order)]) if table.num_rows else table


def leaderboard(store: ExperimentStore, top: int | None = None) -> Leaderboard:
    """Read an experiment's trials, best first by its own metric and mode, keeping the ``top`` first."""
    metric, mode = experiment_objective(store)
    table = rank_trials(store.read_trials(), metric, mode)
    if top is not None:
        table = table.slice(0, top)
    return Leaderboard(metric=metric, mode=mode, table=table)


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, datetime):
        return value.strftime("%H:%M:%S")
    return str(value)


def summary_columns(board: Leaderboard) -> list[str]:
    """Columns shown in the text leaderboard: id, status, metric, epochs, hyperparameters, test metrics, error."""
    names = board.table.column_names
    columns = ["trial_id", "status", board.metric, "n_epochs"]
    columns += [name for name in names if name.startswith("config.")]
    columns += [name for name in names if name.startswith("last.test_")]
    columns += ["duration_s", "error"]
    return [name for name in columns if name in names]


def format_leaderboard(board: Leaderboard, output_format: str) -> str:
    """Render a leaderboard as an aligned text table, CSV or JSON (CSV and JSON carry every column)."""
    if output_format == "json":
        rows = [{key: _plain(value) for key, value in row.items()} for row in board.table.to_pylist()]
        return json.dumps({"metric": board.metric, "mode": board.mode, "trials": rows}, indent=2)
    if output_format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(board.table.column_names)
        for row in board.table.to_pylist():
            writer.writerow(["" if value is None else _plain(value) for value in row.values()])
        return buffer.getvalue()

    columns = summary_columns(board)
    rows = board.table.select(columns).to_pylist()
    headers = [name.removeprefix("config.").removeprefix("last.") for name in columns]
    cells = [[_cell(row[name]) for name in columns] for row in rows]
    if "error" in columns:
        index = columns.index("error")
        for line in cells:
            line[index] = line[index][:60]
    widths = [max([len(header)] + [len(line[position]) for line in cells]) for position, header in enumerate(headers)]
    lines = ["  ".join(header.ljust(width) for header, width in zip(headers, widths, strict=True)).rstrip()]
    for line in cells:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())
    return "\n".join(lines)


def count_by_status(table: pa.Table) -> dict[str, int]:
    """Number of trials in each status."""
    if table.num_rows == 0:
        return {}
    counts = pc.value_counts(table["status"]).to_pylist()
    return {item["values"]: item["counts"] for item in counts}
