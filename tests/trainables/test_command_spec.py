"""The command trainable's arguments in experiment files: values as written, paths, and bad input."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from trainables.command import find_placeholders, format_value, render
from tuner.cli import main
from tuner.spec import load_experiment

REPO_ROOT = Path(__file__).resolve().parents[2]
ALLOWED_KEYS = (
    "command, inputs, templates, pass_hyperparameters, env, time_limit_s, kill_after_s, post_command, "
    "checkpoint_files, seed"
)


@pytest.fixture
def make_command_spec(tmp_path: Path) -> Any:
    """Write train.py, config.ini.in and an experiment running them; ``args`` replace trainable arguments."""
    (tmp_path / "train.py").write_text("print('value=1.0')\n", encoding="utf-8")
    (tmp_path / "config.ini.in").write_text("[run]\nx1 = ${x1}\nx2 = ${x2}\ntrial = ${trial_id}\n", encoding="utf-8")

    def make(args: dict[str, Any] | None = None, **changes: Any) -> Path:
        trainable_args: dict[str, Any] = {
            "command": "python train.py",
            "inputs": ["train.py"],
            "templates": ["config.ini.in"],
        }
        for key, value in (args or {}).items():
            if value is None:
                trainable_args.pop(key, None)
            else:
                trainable_args[key] = value
        spec = {
            "name": "command-check",
            "trainable": {"name": "command", "args": trainable_args},
            "space": "branin",
            "metric": "value",
            "mode": "min",
            "trials": 2,
            "storage": str(tmp_path / "results"),
            **changes,
        }
        path = tmp_path / "experiment.yaml"
        path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
        return path

    return make


def test_values_written_in_their_own_type() -> None:
    assert format_value(64) == "64"
    assert format_value(np.int64(64)) == "64"
    assert format_value(64.0) == "64.0"
    assert format_value(0.001) == "0.001"
    assert format_value(1e-05) == "1.0e-05"
    assert format_value(-2.5e20) == "-2.5e+20"
    assert format_value(0.1 + 0.2) == "0.30000000000000004"
    assert format_value(True) == "true"
    assert format_value(False) == "false"
    assert format_value("relu") == "relu"
    assert format_value(None) == ""


def test_written_floats_read_back_as_floats_in_yaml() -> None:
    for value in (1e-05, 3.0, 0.30000000000000004, 2.5e20):
        assert yaml.safe_load(f"value: {format_value(value)}") == {"value": value}


def test_render_fills_placeholders_and_keeps_dollars() -> None:
    text = "lr=${lr} cost=$$5 home=$HOME end=$ inactive=[${depth}]"

    assert render(text, {"lr": "0.01"}) == "lr=0.01 cost=$5 home=$HOME end=$ inactive=[]"


def test_placeholders_found_with_lines() -> None:
    uses = find_placeholders("a = ${x1}\n$${x9} is literal\nb = ${x2} ${trial_dir}\n${1x}\n")

    assert [(use.name, use.line) for use in uses] == [("x1", 1), ("x2", 3), ("trial_dir", 3), (None, 4)]


def test_arguments_made_absolute_with_defaults(make_command_spec: Any, tmp_path: Path) -> None:
    path = make_command_spec({"env": {"OMP_NUM_THREADS": 1, "MODE": "fast"}, "time_limit_s": 30})

    experiment = load_experiment(path)

    assert experiment.spec.trainable.args == {
        "command": ["python", "train.py"],
        "inputs": [str(tmp_path / "train.py")],
        "templates": [{"source": str(tmp_path / "config.ini.in"), "target": "config.ini.in"}],
        "pass_hyperparameters": "flags",
        "env": {"OMP_NUM_THREADS": "1", "MODE": "fast"},
        "time_limit_s": 30.0,
        "kill_after_s": 5.0,
        "checkpoint_files": [],
    }
    assert yaml.safe_load(experiment.to_yaml())["trainable"]["args"] == experiment.spec.trainable.args


def test_program_path_made_absolute(make_command_spec: Any, tmp_path: Path) -> None:
    script = tmp_path / "bin" / "run.sh"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\necho value=1\n", encoding="utf-8")
    script.chmod(0o755)
    path = make_command_spec({"command": ["bin/run.sh", "--fast"], "post_command": "bin/run.sh"})

    args = load_experiment(path).spec.trainable.args

    assert args["command"] == [str(script), "--fast"]
    assert args["post_command"] == [str(script)]


def test_validate_accepts_command_example(forbid_ray: None, capsys: pytest.CaptureFixture[str]) -> None:
    example = REPO_ROOT / "examples" / "command" / "experiment.yaml"

    status = main(["validate", str(example)])

    assert status == 0
    assert "valid. Experiment digits-command: 4 hyperparameters, searcher random, scheduler asha" in capsys.readouterr().out


# Each case: id, trainable argument changes, the exact message after "error: <file>: trainable.args.".
# "{dir}" stands for the experiment file's folder.
BAD_ARGUMENTS: list[tuple[str, dict[str, Any], str]] = [
    ("missing_command", {"command": None}, "command is required but missing"),
    ("empty_command", {"command": ""}, "command: must name a program to run, got an empty command"),
    (
        "unclosed_quote",
        {"command": "python 'train.py"},
        "command: cannot split \"python 'train.py\" into words: No closing quotation",
    ),
    (
        "program_not_on_path",
        {"command": "no-such-program-4711 --fast"},
        "command: program 'no-such-program-4711' not found on PATH; give its path or install it",
    ),
    (
        "program_path_not_found",
        {"command": "./missing.sh"},
        "command: program ./missing.sh not found (looked for {dir}/missing.sh)",
    ),
    (
        "program_is_placeholder",
        {"command": "${x1} train.py"},
        "command: the program must be written out, not a placeholder, got '${x1}'",
    ),
    (
        "post_command_not_found",
        {"post_command": "no-such-program-4711"},
        "post_command: program 'no-such-program-4711' not found on PATH; give its path or install it",
    ),
    (
        "placeholder_in_command_without_value",
        {"command": "python train.py --out ${outdir}"},
        "command[3]: placeholder ${outdir} has no value: outdir is not a hyperparameter of the space (x1, x2) "
        "or a built-in (trial_id, trial_dir, seed)",
    ),
    ("input_not_found", {"inputs": ["data.csv"]}, "inputs[0]: data.csv not found (looked for {dir}/data.csv)"),
    (
        "template_not_found",
        {"templates": ["absent.in"]},
        "templates[0].source: absent.in not found (looked for {dir}/absent.in)",
    ),
    ("time_limit_zero", {"time_limit_s": 0}, "time_limit_s must be > 0, got 0"),
    ("time_limit_negative", {"time_limit_s": -5}, "time_limit_s must be > 0, got -5"),
    ("kill_after_zero", {"kill_after_s": 0}, "kill_after_s must be > 0, got 0"),
    ("unknown_key", {"timeout": 5}, f"timeout is not a known key (allowed: {ALLOWED_KEYS})"),
    (
        "pass_hyperparameters_unknown",
        {"pass_hyperparameters": "args"},
        "pass_hyperparameters must be one of 'flags', 'env' or 'none', got 'args'",
    ),
    (
        "env_name_invalid",
        {"env": {"MY-VAR": "1"}},
        "env: 'MY-VAR' is not a valid environment variable name (letters, digits and '_')",
    ),
    (
        "env_name_is_hyperparameter",
        {"env": {"x1": "1"}, "pass_hyperparameters": "env"},
        "env: x1 is also a hyperparameter, which pass_hyperparameters: env sets; rename one",
    ),
    (
        "env_value_placeholder_without_value",
        {"env": {"DEPTH": "${depth}"}},
        "env.DEPTH: placeholder ${depth} has no value: depth is not a hyperparameter of the space (x1, x2) "
        "or a built-in (trial_id, trial_dir, seed)",
    ),
    (
        "template_target_outside",
        {"templates": [{"source": "config.ini.in", "target": "../config.ini"}]},
        "templates[0].target: must be a relative path inside the trial folder, got '../config.ini'",
    ),
    (
        "template_target_taken_by_input",
        {"templates": [{"source": "config.ini.in", "target": "train.py"}]},
        "templates[0].target: 'train.py' is also the name of inputs[0] in the trial folder; give each file its "
        "own name",
    ),
    (
        "template_target_reserved",
        {"templates": [{"source": "config.ini.in", "target": "params.json"}]},
        "templates[0].target: 'params.json' is a name that the tuner or Ray Tune writes in the trial folder; "
        "rename the file",
    ),
]


@pytest.mark.parametrize(
    ("args", "message"), [case[1:] for case in BAD_ARGUMENTS], ids=[case[0] for case in BAD_ARGUMENTS]
)
def test_validate_rejects_bad_command_arguments(
    make_command_spec: Any,
    forbid_ray: None,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    args: dict[str, Any],
    message: str,
) -> None:
    path = make_command_spec(args)

    status = main(["validate", str(path)])

    assert status == 2
    assert capsys.readouterr().err.strip() == f"error: {path}: trainable.args.{message.replace('{dir}', str(tmp_path))}"


def test_validate_rejects_program_not_executable(
    make_command_spec: Any, forbid_ray: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "run.sh").write_text("echo value=1\n", encoding="utf-8")
    path = make_command_spec({"command": "./run.sh"})

    status = main(["validate", str(path)])

    assert status == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {path}: trainable.args.command: program {tmp_path / 'run.sh'} is not executable; make it "
        "executable (chmod +x) or run it through its interpreter, such as bash ./run.sh"
    )


def test_validate_names_template_line_of_unknown_placeholder(
    make_command_spec: Any, forbid_ray: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    template = tmp_path / "model.yaml.in"
    template.write_text("# $${lr} is written literally\nx1: ${x1}\nlearning_rate: ${lr}\n", encoding="utf-8")
    path = make_command_spec({"templates": ["config.ini.in", "model.yaml.in"]})

    status = main(["validate", str(path)])

    assert status == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {path}: trainable.args.templates[1]: {template}:3: placeholder ${{lr}} has no value: lr is not "
        "a hyperparameter of the space (x1, x2) or a built-in (trial_id, trial_dir, seed)"
    )


def test_validate_names_template_line_of_invalid_placeholder(
    make_command_spec: Any, forbid_ray: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    template = tmp_path / "config.ini.in"
    template.write_text("[run]\nx1 = ${x1\n", encoding="utf-8")
    path = make_command_spec()

    status = main(["validate", str(path)])

    assert status == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {path}: trainable.args.templates[0]: {template}:2: invalid placeholder '${{x1'; write ${{name}} "
        "with a hyperparameter or built-in name, or $$ for a literal $"
    )


def test_validate_rejects_template_that_is_not_text(
    make_command_spec: Any, forbid_ray: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "weights.bin").write_bytes(bytes([0xFF, 0xFE, 0x00, 0x80]))
    path = make_command_spec({"templates": ["weights.bin"]})

    status = main(["validate", str(path)])

    assert status == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {path}: trainable.args.templates[0].source: {tmp_path / 'weights.bin'} is not UTF-8 text"
    )


def test_run_rejects_bad_command_without_writing(
    make_command_spec: Any, forbid_ray: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = make_command_spec({"command": "no-such-program-4711"})

    status = main(["run", str(path)])

    assert status == 2
    assert "program 'no-such-program-4711' not found on PATH" in capsys.readouterr().err
    assert not (tmp_path / "results").exists()


def test_validate_leaves_templates_unchanged(make_command_spec: Any, forbid_ray: None, tmp_path: Path) -> None:
    path = make_command_spec()
    before = {item.name: item.stat().st_mtime_ns for item in tmp_path.iterdir()}

    assert main(["validate", str(path)]) == 0

    assert {item.name: item.stat().st_mtime_ns for item in tmp_path.iterdir()} == before
    assert not os.path.exists(tmp_path / "config.ini")
