"""Searchers inside real runs: Optuna and SMAC on Ray Tune, design tables, starting points, warm starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from tuner.cli import main
from tuner.errors import SpecError
from tuner.runner import run_experiment
from tuner.spec import load_experiment


def read_rows(tmp_path: Path, name: str) -> list[dict[str, Any]]:
    return pq.read_table(tmp_path / "results" / name / "trials.parquet").to_pylist()


@pytest.mark.parametrize("searcher", ["optuna", "smac"])
def test_model_searcher_survives_failing_trials(
    ray_session: Any, make_spec_file: Any, tmp_path: Path, searcher: str
) -> None:
    path = make_spec_file(
        {
            "name": f"flaky-{searcher}",
            "trainable": {"name": "tests.trainables_for_tests:flaky_branin"},
            "searcher": {"name": searcher, "seed": 1},
            "trials": 12,
            "slots": 2,
        }
    )

    summary = run_experiment(load_experiment(path))

    rows = read_rows(tmp_path, f"flaky-{searcher}")
    assert len(rows) == 12
    assert summary.n_errors == sum(row["status"] == "ERROR" for row in rows)
    assert summary.n_terminated + summary.n_errors == 12
    assert summary.best_value is not None


def test_design_table_runs_rows_in_order(ray_session: Any, make_spec_file: Any, tmp_path: Path) -> None:
    table = tmp_path / "design.csv"
    table.write_text("x1,x2\n-3.0,12.0\n3.14,2.27\n9.42,2.47\n", encoding="utf-8")
    path = make_spec_file({"name": "design", "searcher": {"name": "design", "table": "design.csv"}, "slots": 1})

    summary = run_experiment(load_experiment(path))

    rows = sorted(read_rows(tmp_path, "design"), key=lambda row: row["started_at"])
    assert summary.n_trials == 3
    assert [(row["config.x1"], row["config.x2"]) for row in rows] == [(-3.0, 12.0), (3.14, 2.27), (9.42, 2.47)]


def test_validate_notes_design_table_shorter_than_trials(
    make_spec_file: Any, forbid_ray: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "design.csv").write_text("x1,x2\n3.14,2.27\n", encoding="utf-8")
    path = make_spec_file({"searcher": {"name": "design", "table": "design.csv"}, "trials": 2})

    assert main(["validate", str(path)]) == 0

    output = capsys.readouterr().out
    assert "searcher design, scheduler fifo, 1 trial, 2 slots" in output
    assert "note: trials is 2, but the design table has only 1 row, so 1 trial will run" in output


def test_points_run_first_and_known_results_told(ray_session: Any, make_spec_file: Any, tmp_path: Path) -> None:
    points = tmp_path / "points.csv"
    points.write_text("x1,x2,value\n3.14,2.27,\n0.0,0.0,55.6\n", encoding="utf-8")
    path = make_spec_file(
        {"name": "points", "searcher": {"name": "optuna", "points": "points.csv"}, "slots": 1, "trials": 3}
    )

    run_experiment(load_experiment(path))

    rows = sorted(read_rows(tmp_path, "points"), key=lambda row: row["started_at"])
    assert (rows[0]["config.x1"], rows[0]["config.x2"]) == (3.14, 2.27)
    assert len(rows) == 3


def test_warm_start_accepts_matching_space(ray_session: Any, make_spec_file: Any, tmp_path: Path) -> None:
    first = make_spec_file({"name": "earlier", "trials": 4}, name="earlier.yaml")
    run_experiment(load_experiment(first))
    second = make_spec_file({"name": "later", "warm_start": "earlier", "searcher": "optuna"}, name="later.yaml")

    experiment = load_experiment(second)

    assert len(experiment.warm_start) == 4
    assert all(value is not None for _, value in experiment.warm_start)
    assert all(set(config) == {"x1", "x2"} for config, _ in experiment.warm_start)


def test_warm_start_rejects_different_space(ray_session: Any, make_spec_file: Any, tmp_path: Path) -> None:
    first = make_spec_file({"name": "old", "trials": 2}, name="old.yaml")
    run_experiment(load_experiment(first))
    narrower = {
        "hyperparameters": {
            "x1": {"type": "float", "low": 0.0, "high": 10.0},
            "x2": {"type": "float", "low": 0.0, "high": 15.0},
        }
    }
    second = make_spec_file({"name": "new", "warm_start": "old", "space": narrower}, name="new.yaml")

    with pytest.raises(SpecError) as raised:
        load_experiment(second)

    assert str(raised.value) == (
        f"{second}: warm_start: experiment 'old' has a different search space: x1 differs "
        '(earlier {"log": false, "lower": -5.0, "type": "uniform_float", "upper": 10.0}, '
        'now {"log": false, "lower": 0.0, "type": "uniform_float", "upper": 10.0})'
    )


def test_warm_start_missing_experiment_rejected(
    make_spec_file: Any, forbid_ray: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = make_spec_file({"warm_start": "never-ran"})

    status = main(["validate", str(path)])

    assert status == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {path}: warm_start: experiment 'never-ran' cannot be read from {tmp_path / 'results'}: "
        f"{tmp_path / 'results' / 'never-ran'}/spec.yaml not found"
    )


@pytest.mark.parametrize(
    ("searcher", "message"),
    [
        ({"name": "design"}, "searcher.table is required but missing"),
        ({"name": "design", "table": "absent.csv"}, "searcher.table: file {tmp}/absent.csv not found"),
        ({"name": "optuna", "sampler": "anneal"},
         "searcher.sampler must be one of 'tpe', 'cmaes', 'gp', 'qmc' or 'random', got 'anneal'"),
        ({"name": "optuna", "n_startup_trials": -1}, "searcher.n_startup_trials must be >= 0, got -1"),
        ({"name": "smac", "facade": "bohb"}, "searcher.facade must be one of 'hpo', 'blackbox' or 'random', got 'bohb'"),
        ({"name": "smac", "sampler": "tpe"},
         "searcher.sampler is not a setting of the smac searcher (allowed: name, seed, facade, n_initial_configs, "
         "n_trials, points)"),
        ({"name": "random", "table": "x.csv"}, "searcher.table is not a setting of the random searcher (allowed: name, seed)"),
    ],
)
def test_bad_searcher_settings_rejected(
    make_spec_file: Any, forbid_ray: None, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    searcher: dict, message: str,
) -> None:
    path = make_spec_file({"searcher": searcher})

    status = main(["validate", str(path)])

    assert status == 2
    assert capsys.readouterr().err.strip() == f"error: {path}: {message.format(tmp=tmp_path)}"


def test_bad_design_row_rejected_before_start(
    make_spec_file: Any, forbid_ray: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "design.csv").write_text("x1,x2\n1.0,2.0\n20.0,2.0\n", encoding="utf-8")
    path = make_spec_file({"searcher": {"name": "design", "table": "design.csv"}})

    status = main(["validate", str(path)])

    assert status == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {tmp_path / 'design.csv'}: line 3, column x1: must be from -5.0 to 10.0, got 20.0"
    )
