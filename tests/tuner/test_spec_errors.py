"""Bad experiment files: exit status 2, one message naming the file, the field and the value, nothing started."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tuner.cli import main
from tuner.spec import load_experiment

SPACE_RANGE = {"hyperparameters": {"x1": {"type": "float", "low": 3.0, "high": 1.0}}}

# Each case: id, changes to the Branin base spec, the exact message after "error: <file>: ".
BAD_SPECS: list[tuple[str, dict[str, Any], str]] = [
    (
        "unknown_key",
        {"colour": "red"},
        "colour is not a known key (allowed: name, trainable, space, metric, mode, searcher, trials, slots, "
        "resources, scheduler, time_budget_s, storage, seed, max_failures, warm_start)",
    ),
    ("missing_metric", {"metric": None}, "metric is required but missing"),
    ("missing_trainable", {"trainable": None}, "trainable is required but missing"),
    ("trials_wrong_type", {"trials": "ten"}, "trials must be an integer, got 'ten'"),
    ("trials_float", {"trials": 2.5}, "trials must be an integer, got 2.5"),
    ("slots_zero", {"slots": 0}, "slots must be >= 1, got 0"),
    ("negative_cpu", {"resources": {"cpu": -1}}, "resources.cpu must be >= 0, got -1"),
    ("negative_gpu", {"resources": {"gpu": -0.5}}, "resources.gpu must be >= 0, got -0.5"),
    (
        "gpu_above_one_fraction",
        {"resources": {"gpu": 1.5}},
        "resources.gpu must be a fraction up to 1 or a whole number of GPUs, got 1.5",
    ),
    ("mode_not_allowed", {"mode": "maximize"}, "mode must be one of 'min' or 'max', got 'maximize'"),
    (
        "metric_not_reported",
        {"metric": "accuracy"},
        "metric must be one that branin reports (value, regret), got 'accuracy'",
    ),
    (
        "test_metric",
        {"metric": "test_accuracy", "trainable": {"name": "keras_cnn"}, "space": "keras_cnn", "mode": "max"},
        "metric 'test_accuracy' is not allowed: test metrics are reported once at the end and must not steer "
        "the search; use a validation metric such as val_accuracy",
    ),
    ("unknown_searcher", {"searcher": "bayes"}, "searcher.name must be one of random, design, optuna, smac, got 'bayes'"),
    (
        "unknown_scheduler",
        {"scheduler": "pbt"},
        "scheduler.name must be one of fifo, asha, hyperband, median, got 'pbt'",
    ),
    (
        "unknown_trainable",
        {"trainable": {"name": "resnet"}},
        "trainable.name must be a registered trainable (branin, command, hartmann6, keras_cnn) or module:function, "
        "got 'resnet'",
    ),
    (
        "unknown_trainable_argument",
        {"trainable": {"name": "keras_cnn", "args": {"epochs": 3}}, "space": "keras_cnn",
         "metric": "val_accuracy", "mode": "max"},
        "trainable.args.epochs is not an argument of keras_cnn (allowed: dataset, data_path, max_epochs, "
        "batch_size, validation_fraction, test_fraction, seed)",
    ),
    (
        "trainable_argument_wrong_type",
        {"trainable": {"name": "keras_cnn", "args": {"max_epochs": "many"}}, "space": "keras_cnn",
         "metric": "val_accuracy", "mode": "max"},
        "trainable.args.max_epochs must be an integer, got 'many'",
    ),
    (
        "zero_max_epochs",
        {"trainable": {"name": "keras_cnn", "args": {"max_epochs": 0}}, "space": "keras_cnn",
         "metric": "val_accuracy", "mode": "max"},
        "trainable.args.max_epochs must be >= 1, got 0",
    ),
    (
        "no_training_data_left",
        {"trainable": {"name": "keras_cnn", "args": {"validation_fraction": 0.5, "test_fraction": 0.5}},
         "space": "keras_cnn", "metric": "val_accuracy", "mode": "max"},
        "trainable.args: validation_fraction + test_fraction must be below 1 to leave data to train on, "
        "got 0.5 + 0.5",
    ),
    (
        "mnist_without_data_path",
        {"trainable": {"name": "keras_cnn", "args": {"dataset": "mnist"}}, "space": "keras_cnn",
         "metric": "val_accuracy", "mode": "max"},
        "trainable.args.data_path is required for dataset mnist: the path of a local .npz file in Keras's "
        "mnist.npz layout",
    ),
    (
        "grace_period_zero",
        {"trainable": {"name": "keras_cnn", "args": {"max_epochs": 15}}, "space": "keras_cnn",
         "metric": "val_accuracy", "mode": "max", "scheduler": {"name": "asha", "grace_period": 0}},
        "scheduler.grace_period must be an integer from 1 to max_epochs (15), got 0",
    ),
    (
        "scheduler_epochs_beyond_trainable",
        {"trainable": {"name": "keras_cnn", "args": {"max_epochs": 12}}, "space": "keras_cnn",
         "metric": "val_accuracy", "mode": "max", "scheduler": {"name": "median", "max_epochs": 50}},
        "scheduler.max_epochs must be at most the trainable's max_epochs (12), because its trials end there; got 50",
    ),
    (
        "asha_without_max_epochs",
        {"scheduler": "asha"},
        "scheduler.max_epochs is required for asha because the trainable branin has no max_epochs argument",
    ),
    ("time_budget_zero", {"time_budget_s": 0}, "time_budget_s must be > 0, got 0"),
    ("space_number", {"space": 42}, "space must be a string or a mapping, got 42"),
    ("empty_storage", {"storage": ""}, "storage must not be empty, got ''"),
    ("negative_seed", {"seed": -1}, "seed must be >= 0, got -1"),
    ("seed_above_numpy_range", {"seed": 2**32}, "seed must be <= 4294967295, got 4294967296"),
    ("negative_searcher_seed", {"searcher": {"name": "optuna", "seed": -3}}, "searcher.seed must be >= 0, got -3"),
    (
        "invalid_name",
        {"name": "../escape"},
        "name: must be 1 to 100 letters, digits, '_', '.' or '-', starting with a letter or digit, got '../escape'",
    ),
    (
        "space_low_above_high",
        {"space": SPACE_RANGE},
        "space: hyperparameters.x1: low must be <= high, got low=3.0 and high=1.0",
    ),
    (
        "space_log_nonpositive_low",
        {"space": {"hyperparameters": {"rate": {"type": "float", "low": 0.0, "high": 1.0, "log": True}}}},
        "space: hyperparameters.rate: a log scale needs low > 0, got low=0.0",
    ),
    (
        "space_empty_choices",
        {"space": {"hyperparameters": {"act": {"type": "categorical", "choices": []}}}},
        "space: hyperparameters.act.choices must be a non-empty list, got []",
    ),
    (
        "space_unknown_type",
        {"space": {"hyperparameters": {"act": {"type": "choice", "choices": [1]}}}},
        "space: hyperparameters.act.type must be one of int, float, categorical, ordinal, constant, got 'choice'",
    ),
    (
        "space_equal_choices",
        {"space": {"hyperparameters": {"act": {"type": "categorical", "choices": [1, 1.0]}}}},
        "space: hyperparameters.act.choices: 1 and 1.0 are the same value to Python; each choice must be distinct",
    ),
    (
        "condition_unknown_parent",
        {"space": {"hyperparameters": {"x1": {"type": "float", "low": 0.0, "high": 1.0}},
                   "conditions": [{"hyperparameter": "x1", "parent": "x9", "values": [1]}]}},
        "space: conditions[0].parent: 'x9' is not a hyperparameter of this space",
    ),
    (
        "condition_impossible_value",
        {"space": {"hyperparameters": {"x1": {"type": "float", "low": 0.0, "high": 1.0},
                                       "pool": {"type": "categorical", "choices": ["max", "avg"]}},
                   "conditions": [{"hyperparameter": "x1", "parent": "pool", "values": ["min"]}]}},
        "space: conditions[0].values: pool cannot take 'min'; it must be one of ['max', 'avg']",
    ),
    (
        "forbidden_everything",
        {"space": {"hyperparameters": {"pool": {"type": "categorical", "choices": ["max", "avg"]}},
                   "forbidden": [{"pool": ["max", "avg"]}]}},
        "space: the forbidden combinations exclude every configuration; relax at least one of them",
    ),
]


@pytest.mark.parametrize(("changes", "message"), [case[1:] for case in BAD_SPECS], ids=[case[0] for case in BAD_SPECS])
def test_validate_rejects_bad_spec(
    make_spec_file: Any, forbid_ray: None, capsys: pytest.CaptureFixture[str], changes: dict[str, Any], message: str
) -> None:
    path = make_spec_file(changes)

    status = main(["validate", str(path)])

    error = capsys.readouterr().err.strip()
    assert status == 2
    assert error == f"error: {path}: {message}"


def test_run_rejects_bad_spec_without_writing(
    make_spec_file: Any, forbid_ray: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = make_spec_file({"slots": 0})

    status = main(["run", str(path)])

    assert status == 2
    assert capsys.readouterr().err.strip() == f"error: {path}: slots must be >= 1, got 0"
    assert not (tmp_path / "results").exists()


def test_validate_reports_yaml_syntax_error_line(
    make_spec_file: Any, forbid_ray: None, capsys: pytest.CaptureFixture[str]
) -> None:
    path = make_spec_file(text="name: broken\nmetric: value\nmode: [min\ntrials: 3\n")

    status = main(["validate", str(path)])

    assert status == 2
    assert capsys.readouterr().err.strip() == f"error: {path}:4: invalid YAML: expected ',' or ']', but got ':'"


def test_validate_reports_duplicate_key_line(
    make_spec_file: Any, forbid_ray: None, capsys: pytest.CaptureFixture[str]
) -> None:
    path = make_spec_file(text="name: a\nmetric: value\nmetric: regret\n")

    status = main(["validate", str(path)])

    assert status == 2
    assert capsys.readouterr().err.strip() == f"error: {path}:3: invalid YAML: duplicate key 'metric'"


def test_validate_reports_missing_spec_file(
    forbid_ray: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "absent.yaml"

    status = main(["validate", str(path)])

    assert status == 2
    assert capsys.readouterr().err.strip() == f"error: {path}: file not found"


def test_validate_reports_missing_space_file(
    make_spec_file: Any, forbid_ray: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = make_spec_file({"space": "spaces/absent.yaml"})

    status = main(["validate", str(path)])

    assert status == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {path}: space: file {tmp_path / 'spaces' / 'absent.yaml'} not found, and 'spaces/absent.yaml' "
        "is not a shipped space (branin, hartmann6, keras_cnn)"
    )


def test_validate_accepts_shipped_example(forbid_ray: None, capsys: pytest.CaptureFixture[str]) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "digits_cnn.yaml"

    status = main(["validate", str(example)])

    assert status == 0
    assert "valid. Experiment digits-cnn: 6 hyperparameters, searcher random, scheduler asha" in capsys.readouterr().out


def test_validate_rejects_space_missing_trainable_inputs(
    make_spec_file: Any, forbid_ray: None, capsys: pytest.CaptureFixture[str]
) -> None:
    path = make_spec_file({"space": "keras_cnn"})

    status = main(["validate", str(path)])

    assert status == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {path}: space: branin needs the hyperparameters x1, x2; the space has no x1, x2"
    )


def test_validate_rejects_hyperparameter_trainable_ignores(
    make_spec_file: Any, forbid_ray: None, capsys: pytest.CaptureFixture[str]
) -> None:
    space = {"hyperparameters": {"filters": {"type": "int", "low": 8, "high": 16},
                                 "momentum": {"type": "float", "low": 0.1, "high": 0.9}}}
    path = make_spec_file({"trainable": {"name": "keras_cnn"}, "space": space, "metric": "val_accuracy", "mode": "max"})

    status = main(["validate", str(path)])

    assert status == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {path}: space: keras_cnn does not use the hyperparameter 'momentum' (it reads filters, "
        "kernel_size, dropout, pool_size, learning_rate, dense_units)"
    )


def test_missing_mnist_file_rejected_with_path(
    make_spec_file: Any, forbid_ray: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    args = {"dataset": "mnist", "data_path": "data/mnist.npz"}
    path = make_spec_file(
        {"trainable": {"name": "keras_cnn", "args": args}, "space": "keras_cnn", "metric": "val_accuracy", "mode": "max"}
    )

    assert main(["validate", str(path)]) == 2

    assert capsys.readouterr().err == (
        f"error: {path}: trainable.args.data_path: file {path.parent / 'data' / 'mnist.npz'} not found; "
        "dataset mnist reads a local .npz file\n"
    )


def test_mnist_path_resolved_against_experiment_folder(make_spec_file: Any, forbid_ray: None, tmp_path: Path) -> None:
    args = {"dataset": "mnist", "data_path": "data/mnist.npz"}
    path = make_spec_file(
        {"trainable": {"name": "keras_cnn", "args": args}, "space": "keras_cnn", "metric": "val_accuracy", "mode": "max"}
    )
    (path.parent / "data").mkdir()
    (path.parent / "data" / "mnist.npz").write_bytes(b"")

    experiment = load_experiment(path)

    assert experiment.spec.trainable.args["data_path"] == str((path.parent / "data" / "mnist.npz").resolve())
