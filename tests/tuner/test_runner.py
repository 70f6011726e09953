"""Running experiments on the session's local Ray: recorded tables, failures, early stopping."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tuner.cli import main
from tuner.errors import ExperimentExistsError
from tuner.progress import Progress
from tuner.runner import run_experiment
from tuner.spec import load_experiment
from tuner.yamlio import read_yaml


def test_failing_trials_recorded_as_error_while_others_finish(
    ray_session: Any, make_spec_file: Any, tmp_path: Path
) -> None:
    path = make_spec_file(
        {"name": "flaky", "trainable": {"name": "tests.trainables_for_tests:flaky_branin"}, "trials": 10, "seed": 4}
    )

    summary = run_experiment(load_experiment(path))

    trials = pq.read_table(tmp_path / "results" / "flaky" / "trials.parquet").to_pylist()
    failed = [row for row in trials if row["status"] == "ERROR"]
    finished = [row for row in trials if row["status"] == "TERMINATED"]
    assert len(trials) == 10
    assert summary.n_errors == len(failed)
    assert failed, "seed 4 draws some negative x1"
    assert finished
    for row in failed:
        assert row["config.x1"] < 0
        assert row["error"] == f"ValueError: x1 = {row['config.x1']:.3f} is negative"
        assert row["value"] is None
        # The traceback is in the trial's own stderr, which the service shows as its log.
        stderr = (Path(row["trial_dir"]) / "stderr").read_text(encoding="utf-8")
        assert stderr.rstrip().endswith(f"ValueError: x1 = {row['config.x1']:.3f} is negative")
    for row in finished:
        assert row["config.x1"] >= 0
        assert row["value"] is not None and row["value"] >= 0.397887
        assert row["n_epochs"] == 1
        assert row["error"] is None


def test_trials_table_has_typed_columns(ray_session: Any, make_spec_file: Any, tmp_path: Path) -> None:
    path = make_spec_file(
        {
            "name": "typed",
            "trainable": {"name": "tests.trainables_for_tests:flaky_branin"},
            "space": {
                "hyperparameters": {
                    "x1": {"type": "float", "low": 0.0, "high": 10.0},
                    "x2": {"type": "int", "low": 0, "high": 15},
                    "note": {"type": "categorical", "choices": [1, "two"]},
                    "shape": {"type": "categorical", "choices": ["a", "b"]},
                },
                "conditions": [{"hyperparameter": "shape", "parent": "note", "values": [1]}],
            },
            "trials": 6,
        }
    )

    run_experiment(load_experiment(path))

    schema = pq.read_schema(tmp_path / "results" / "typed" / "trials.parquet")
    assert schema.field("trial_id").type == pa.string()
    assert schema.field("status").type == pa.string()
    assert schema.field("config.x1").type == pa.float64()
    assert schema.field("config.x2").type == pa.int64()
    assert schema.field("config.note").type == pa.string()
    assert schema.field("config.shape").type == pa.string()
    assert schema.field("value").type == pa.float64()
    assert schema.field("n_epochs").type == pa.int64()
    assert schema.field("started_at").type == pa.timestamp("us", tz="UTC")
    rows = pq.read_table(tmp_path / "results" / "typed" / "trials.parquet").to_pylist()
    for row in rows:
        assert (row["config.shape"] is None) == (row["config.note"] == "two")


def test_spec_recorded_with_defaults(ray_session: Any, make_spec_file: Any, tmp_path: Path) -> None:
    path = make_spec_file({"name": "recorded", "seed": 11})

    run_experiment(load_experiment(path))

    recorded = read_yaml(tmp_path / "results" / "recorded" / "spec.yaml")
    assert recorded["searcher"] == {"name": "random", "seed": 11}
    assert recorded["warm_start"] is None
    assert recorded["scheduler"]["name"] == "fifo"
    assert recorded["resources"] == {"cpu": 1.0, "gpu": 0.0}
    assert recorded["max_failures"] == 0
    results = pq.read_table(tmp_path / "results" / "recorded" / "results.parquet")
    assert results.num_rows == 4
    assert set(results.column_names) >= {"trial_id", "training_iteration", "time", "value", "regret"}


def test_asha_stops_poor_trials_early(ray_session: Any, make_spec_file: Any, tmp_path: Path) -> None:
    path = make_spec_file(
        {
            "name": "asha",
            "trainable": {"name": "tests.trainables_for_tests:learning_curve", "args": {"max_epochs": 9}},
            "scheduler": {"name": "asha", "grace_period": 1, "reduction_factor": 3},
            "trials": 9,
            "slots": 2,
        }
    )

    run_experiment(load_experiment(path))

    rows = pq.read_table(tmp_path / "results" / "asha" / "trials.parquet").to_pylist()
    stopped = [row for row in rows if row["status"] == "STOPPED"]
    terminated = [row for row in rows if row["status"] == "TERMINATED"]
    assert stopped
    assert terminated
    assert all(row["n_epochs"] < 9 for row in stopped)
    assert all(row["n_epochs"] == 9 for row in terminated)
    assert len(stopped) + len(terminated) == 9


def test_existing_experiment_not_overwritten(ray_session: Any, make_spec_file: Any, tmp_path: Path) -> None:
    path = make_spec_file({"name": "once", "trials": 2})
    run_experiment(load_experiment(path))
    before = (tmp_path / "results" / "once" / "trials.parquet").read_bytes()

    with pytest.raises(ExperimentExistsError) as raised:
        run_experiment(load_experiment(path))

    assert str(raised.value) == (
        f"experiment 'once' already has results in {tmp_path / 'results' / 'once'}; "
        "choose another name with --name, or continue it with 'tuner resume'"
    )
    assert (tmp_path / "results" / "once" / "trials.parquet").read_bytes() == before


def test_folder_of_run_that_never_started_reused(ray_session: Any, make_spec_file: Any, tmp_path: Path) -> None:
    # A run that failed before Ray Tune started leaves only spec.yaml behind, and no trial.
    path = make_spec_file({"name": "retried", "trials": 2})
    folder = tmp_path / "results" / "retried"
    folder.mkdir(parents=True)
    (folder / "spec.yaml").write_text("name: retried\n", encoding="utf-8")

    summary = run_experiment(load_experiment(path))

    assert summary.n_terminated == 2
    assert pq.read_table(folder / "trials.parquet").num_rows == 2


def test_unwritable_storage_rejected_before_ray(
    make_spec_file: Any, forbid_ray: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    path = make_spec_file({"storage": str(tmp_path / "a-file" / "results")})

    assert main(["run", str(path)]) == 2

    folder = tmp_path / "a-file" / "results" / "branin-check"
    assert capsys.readouterr().err == (
        f"error: {path}: storage: cannot write the experiment to {folder} ([Errno 20] Not a directory: "
        f"'{folder}'); give a folder you can write to, or an s3:// URI of an existing bucket with credentials "
        "that allow writing\n"
    )


def test_cli_run_without_metric_points_to_errors(
    ray_session: Any, make_spec_file: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # flaky_branin fails for every negative x1.
    space = {
        "hyperparameters": {
            "x1": {"type": "float", "low": -5.0, "high": -1.0},
            "x2": {"type": "constant", "value": 1.0},
        }
    }
    trainable = {"name": "tests.trainables_for_tests:flaky_branin"}
    path = make_spec_file({"name": "failing", "trials": 2, "trainable": trainable, "space": space})

    assert main(["run", str(path)]) == 1

    output = capsys.readouterr().out
    assert (
        f"no trial reported value without failing; see the errors with 'tuner leaderboard failing --storage "
        f"{tmp_path / 'results'}'"
        in output
    )


@pytest.mark.parametrize(
    ("resources", "needs"),
    [({"cpu": 64}, "64 CPUs and 0 GPUs"), ({"cpu": 1, "gpu": 1}, "1 CPU and 1 GPU")],
    ids=["cpus", "gpu"],
)
def test_resources_beyond_local_ray_rejected(
    ray_session: Any,
    make_spec_file: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    resources: dict[str, float],
    needs: str,
) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    path = make_spec_file({"name": "too-big", "resources": resources})

    assert main(["run", str(path)]) == 2

    assert capsys.readouterr().err == (
        f"error: {path}: resources: each trial needs {needs} on one node, but the largest node of Ray has "
        "2 CPUs and 0 GPUs; lower resources, or run on a cluster that has such nodes\n"
    )
    assert not (tmp_path / "results" / "too-big").exists()


def test_cli_summary_names_shown_share_of_trials(
    ray_session: Any, make_spec_file: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    many = make_spec_file({"name": "many", "trials": 12})
    assert main(["run", str(many)]) == 0
    many_output = capsys.readouterr().out
    single = make_spec_file({"name": "single", "trials": 1})
    assert main(["run", str(single)]) == 0
    single_output = capsys.readouterr().out

    storage = tmp_path / "results"
    assert f"the best 10 of 12 trials; all of them with 'tuner leaderboard many --storage {storage}'" in many_output
    assert sum(line.endswith("TERMINATED") or " TERMINATED " in line for line in many_output.splitlines()) == 10
    assert "experiment single: 1 trial, 1 finished, 0 stopped early, 0 failed" in single_output
    assert "the best" not in single_output


def test_cli_run_then_leaderboard_csv(
    ray_session: Any, make_spec_file: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = make_spec_file({"name": "cli", "trials": 5})

    assert main(["run", str(path), "--trials", "3"]) == 0
    capsys.readouterr()
    assert main(["leaderboard", "cli", "--storage", str(tmp_path / "results"), "--format", "csv"]) == 0

    lines = capsys.readouterr().out.strip().splitlines()
    header = lines[0].split(",")
    values = [float(line.split(",")[header.index("value")]) for line in lines[1:]]
    assert len(lines) == 4
    assert header[:2] == ["trial_id", "status"]
    assert values == sorted(values)


def test_time_budget_stops_running_trials(ray_session: Any, make_spec_file: Any, tmp_path: Path) -> None:
    path = make_spec_file(
        {
            "name": "budget",
            "trainable": {"name": "tests.trainables_for_tests:slow_curve", "args": {"max_epochs": 100}},
            "trials": 4,
            "slots": 2,
            "time_budget_s": 10,
        }
    )

    reports: list[Progress] = []
    summary = run_experiment(load_experiment(path), emit_progress=reports.append)

    rows = pq.read_table(tmp_path / "results" / "budget" / "trials.parquet").to_pylist()
    started = [row for row in rows if row["started_at"] is not None]
    # The last progress line counts the trials the budget cut off apart from those done.
    assert reports[-1].n_cut == len(started)
    assert reports[-1].n_done == 0
    assert f"0/4 done, 0 running, 0 failed, {len(started)} cut off" in reports[-1].line()
    assert summary.n_terminated == 0
    assert started
    assert all(row["status"] == "STOPPED" for row in started)
    assert all(0 < row["n_epochs"] < 100 for row in started)
