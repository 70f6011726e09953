"""Command-line trials on the session's local Ray: metrics, templates, failures and ending processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml

from tests.trainables.processes import running, wait_until_gone
from tests.tuner.test_resume import interrupt_when
from tuner.cli import main
from tuner.errors import SpecError
from tuner.runner import run_experiment
from tuner.spec import load_experiment

REPO_ROOT = Path(__file__).resolve().parents[2]
X1_SPACE = {"hyperparameters": {"x1": {"type": "float", "low": 0.0, "high": 1.0}}}

# Reads --x1 as the flags that pass_hyperparameters: flags appends.
READ_X1 = """
import argparse
parser = argparse.ArgumentParser()
parser.add_argument("--x1", type=float)
x1 = parser.parse_args().x1
"""

# Starts a child that would outlive the script, and records both process ids in pids.txt.
START_CHILD = """
import os, subprocess
child = subprocess.Popen(["sleep", "1000"])
with open("pids.txt", "w") as handle:
    handle.write(f"{os.getpid()} {child.pid}")
"""


@pytest.fixture
def make_command_experiment(tmp_path: Path) -> Any:
    """Write ``script`` as <name>.py and an experiment that runs it once per trial with ``python``."""

    def make(name: str, script: str, args: dict[str, Any] | None = None, **changes: Any) -> Path:
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(script), encoding="utf-8")
        spec = {
            "name": name,
            "trainable": {
                "name": "command",
                "args": {"command": f"python {name}.py", "inputs": [f"{name}.py"], **(args or {})},
            },
            "space": X1_SPACE,
            "metric": "value",
            "mode": "min",
            "trials": 2,
            "slots": 2,
            "storage": str(tmp_path / "results"),
            **changes,
        }
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
        return path

    return make


def read_trials(tmp_path: Path, name: str) -> list[dict[str, Any]]:
    return pq.read_table(tmp_path / "results" / name / "trials.parquet").to_pylist()


def read_results(tmp_path: Path, name: str) -> list[dict[str, Any]]:
    return pq.read_table(tmp_path / "results" / name / "results.parquet").to_pylist()


def recorded_pids(trial: dict[str, Any]) -> list[int]:
    return [int(pid) for pid in (Path(trial["trial_dir"]) / "pids.txt").read_text().split()]


def test_progress_lines_reported_each_epoch(ray_session: Any, make_command_experiment: Any, tmp_path: Path) -> None:
    path = make_command_experiment(
        "epochs",
        READ_X1 + """
for epoch in range(1, 4):
    print(f"epoch={epoch} value={x1 + 10 / epoch} size: 7")
""",
    )

    run_experiment(load_experiment(path))

    trials = read_trials(tmp_path, "epochs")
    results = read_results(tmp_path, "epochs")
    assert [trial["status"] for trial in trials] == ["TERMINATED", "TERMINATED"]
    for trial in trials:
        rows = [row for row in results if row["trial_id"] == trial["trial_id"]]
        assert [row["training_iteration"] for row in rows] == [1, 2, 3]
        assert [row["epoch"] for row in rows] == [1.0, 2.0, 3.0]
        assert [row["value"] for row in rows] == [trial["config.x1"] + 10 / epoch for epoch in (1, 2, 3)]
        assert trial["n_epochs"] == 3
        assert trial["value"] == trial["config.x1"] + 10 / 3
        assert trial["last.size"] == 7.0


def test_colon_and_space_lines_give_final_result(
    ray_session: Any, make_command_experiment: Any, tmp_path: Path
) -> None:
    path = make_command_experiment(
        "final",
        READ_X1 + """
print("computing")
print("accuracy=95%")
print(f"value: {x1 * 2}")
print("regret 0.5")
""",
    )

    run_experiment(load_experiment(path))

    trials = read_trials(tmp_path, "final")
    results = read_results(tmp_path, "final")
    assert len(results) == 2
    for trial in trials:
        assert trial["status"] == "TERMINATED"
        assert trial["value"] == trial["config.x1"] * 2
        assert trial["last.regret"] == 0.5
        assert trial["n_epochs"] == 1
        log = (Path(trial["trial_dir"]) / "process_output.log").read_text().splitlines()
        assert log.count("accuracy=95%") == 1
        assert log.count(
            "[tuner] warning: output line 2 looks like metrics but does not parse (accuracy: '95%' is not a "
            "number), so it is ignored: 'accuracy=95%'"
        ) == 1


def test_smac_result_line_reports_quality(ray_session: Any, make_command_experiment: Any, tmp_path: Path) -> None:
    path = make_command_experiment(
        "smac",
        READ_X1 + """
print(f"Result of this algorithm run: SAT, 0.25, 3, {x1 + 1}, 0")
""",
    )

    run_experiment(load_experiment(path))

    for trial in read_trials(tmp_path, "smac"):
        assert trial["status"] == "TERMINATED"
        assert trial["value"] == trial["config.x1"] + 1
        assert trial["last.quality"] == trial["config.x1"] + 1
        assert trial["last.runtime"] == 0.25
        assert trial["last.runlength"] == 3.0


def test_smac_unsat_fails_trial_with_log(ray_session: Any, make_command_experiment: Any, tmp_path: Path) -> None:
    path = make_command_experiment(
        "unsat",
        """
print("trying")
print("Result of this algorithm run: UNSAT, 0.1, 0, 0, 0")
""",
    )

    summary = run_experiment(load_experiment(path))

    assert summary.n_errors == 2
    for trial in read_trials(tmp_path, "unsat"):
        assert trial["status"] == "ERROR"
        assert trial["value"] is None
        assert trial["error"] == (
            "TrainableError: the command reported SMAC status UNSAT: the configuration is infeasible; last lines "
            f"of {trial['trial_dir']}/process_output.log:\ntrying\nResult of this algorithm run: UNSAT, 0.1, 0, 0, 0"
        )


def test_post_command_metrics_reported(ray_session: Any, make_command_experiment: Any, tmp_path: Path) -> None:
    (tmp_path / "collect.py").write_text(
        "from pathlib import Path\nprint('value', float(Path('score.txt').read_text()) / 2)\n", encoding="utf-8"
    )
    path = make_command_experiment(
        "post",
        READ_X1 + """
from pathlib import Path
Path("score.txt").write_text(str(x1))
print("wrote score.txt")
""",
        args={"post_command": "python collect.py", "inputs": ["post.py", "collect.py"]},
    )

    run_experiment(load_experiment(path))

    for trial in read_trials(tmp_path, "post"):
        assert trial["status"] == "TERMINATED"
        assert trial["value"] == trial["config.x1"] / 2
        log = (Path(trial["trial_dir"]) / "process_output.log").read_text()
        assert "wrote score.txt\n" in log
        assert f"value {trial['config.x1'] / 2}\n" in log


def test_templates_written_with_every_value_type(
    ray_session: Any, make_command_experiment: Any, tmp_path: Path
) -> None:
    template = tmp_path / "values.txt.in"
    template_text = (
        "n_units=${n_units}\nrate=${rate}\nratio=${ratio}\nflag=${flag}\nact=${act}\norder=${order}\n"
        "trial=${trial_id}\ndir=${trial_dir}\nseed=${seed}\nprice=$$5 home=$HOME\n"
    )
    template.write_text(template_text, encoding="utf-8")
    space = {
        "hyperparameters": {
            "n_units": {"type": "int", "low": 16, "high": 256, "log": True},
            "rate": {"type": "float", "low": 1e-06, "high": 1e-04, "log": True},
            "ratio": {"type": "float", "low": 0.0, "high": 1.0},
            "flag": {"type": "categorical", "choices": [True, False]},
            "act": {"type": "categorical", "choices": ["relu", "tanh"]},
            "order": {"type": "ordinal", "choices": [1, 2, 4]},
        }
    }
    path = make_command_experiment(
        "typed",
        """
import os
names = ["n_units", "rate", "ratio", "flag", "act", "order"]
with open("env.txt", "w") as handle:
    handle.write("".join(f"{name}={os.environ[name]}\\n" for name in names))
print("value 0")
""",
        args={"templates": [{"source": "values.txt.in", "target": "values.txt"}], "pass_hyperparameters": "env"},
        space=space,
        trials=4,
        seed=11,
    )

    run_experiment(load_experiment(path))

    assert template.read_text(encoding="utf-8") == template_text
    for trial in read_trials(tmp_path, "typed"):
        assert trial["status"] == "TERMINATED"
        folder = Path(trial["trial_dir"])
        written = dict(line.split("=", 1) for line in (folder / "values.txt").read_text().splitlines())
        assert written["n_units"] == str(trial["config.n_units"])
        assert written["n_units"].isdigit()
        assert float(written["rate"]) == trial["config.rate"]
        assert "." in written["rate"]
        assert float(written["ratio"]) == trial["config.ratio"]
        assert written["flag"] == ("true" if trial["config.flag"] else "false")
        assert written["act"] == trial["config.act"]
        assert written["order"] == str(trial["config.order"])
        assert written["trial"] == trial["trial_id"]
        assert written["dir"] == str(folder)
        assert written["seed"] == "11"
        assert written["price"] == "$5 home=$HOME"
        environment = dict(line.split("=", 1) for line in (folder / "env.txt").read_text().splitlines())
        assert environment == {name: written[name] for name in ("n_units", "rate", "ratio", "flag", "act", "order")}


def test_nonzero_exit_fails_trial_with_log_tail(
    ray_session: Any, make_command_experiment: Any, tmp_path: Path
) -> None:
    path = make_command_experiment(
        "exit3",
        """
import sys
for index in range(1, 26):
    print(f"line {index}")
sys.exit(3)
""",
        trials=1,
    )

    run_experiment(load_experiment(path))

    (trial,) = read_trials(tmp_path, "exit3")
    tail = "\n".join(f"line {index}" for index in range(6, 26))
    assert trial["status"] == "ERROR"
    assert trial["error"] == (
        f"TrainableError: the command exited with status 3; last lines of {trial['trial_dir']}/process_output.log:"
        f"\n{tail}"
    )


def test_silent_script_fails_trial(ray_session: Any, make_command_experiment: Any, tmp_path: Path) -> None:
    path = make_command_experiment("silent", "pass\n", trials=1)

    run_experiment(load_experiment(path))

    (trial,) = read_trials(tmp_path, "silent")
    assert trial["status"] == "ERROR"
    assert trial["error"] == (
        "TrainableError: the command printed no value of the metric value; print a line such as 'value=0.93' or "
        "'epoch=1 value=0.93'; it printed nothing"
    )


def test_hanging_script_killed_at_time_limit(ray_session: Any, make_command_experiment: Any, tmp_path: Path) -> None:
    path = make_command_experiment(
        "hang",
        START_CHILD + """
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("started")
time.sleep(1000)
""",
        args={"time_limit_s": 2, "kill_after_s": 0.5},
        trials=1,
    )

    run_experiment(load_experiment(path))

    (trial,) = read_trials(tmp_path, "hang")
    assert trial["status"] == "ERROR"
    assert trial["error"] == (
        f"TrainableError: the command timed out after 2 s and was ended; last lines of {trial['trial_dir']}"
        "/process_output.log:\nstarted"
    )
    assert running(recorded_pids(trial)) == []


def test_stop_request_ends_program_and_child(ray_session: Any, make_command_experiment: Any, tmp_path: Path) -> None:
    # The script files its own stop request once it runs, as the HTTP API would.
    path = make_command_experiment(
        "requested",
        START_CHILD + """
import time
from pathlib import Path
request = Path(os.environ["TUNER_TRIAL_DIR"]).parent / "control" / "stop" / os.environ["TUNER_TRIAL_ID"]
request.parent.mkdir(parents=True, exist_ok=True)
print("epoch=1 value=5.0")
request.write_text("stop")
time.sleep(1000)
""",
    )

    run_experiment(load_experiment(path))

    for trial in read_trials(tmp_path, "requested"):
        assert trial["status"] == "STOPPED"
        assert trial["n_epochs"] == 1
        assert trial["value"] == 5.0
        assert trial["error"] is None
        # Either the trial reads the request and ends its processes itself, or the driver's stopper
        # reads it first and Ray ends the actor, so the watchdog ends them moments later.
        assert wait_until_gone(recorded_pids(trial)) == []


def test_scheduler_stop_ends_program_and_child(
    ray_session: Any, make_command_experiment: Any, tmp_path: Path
) -> None:
    path = make_command_experiment(
        "asha",
        READ_X1 + START_CHILD + """
import time
for epoch in range(1, 5):
    print(f"epoch={epoch} value={x1 + 10 / epoch}")
time.sleep(1000)
""",
        scheduler={"name": "asha", "max_epochs": 4, "grace_period": 1, "reduction_factor": 2},
        trials=4,
    )

    run_experiment(load_experiment(path))

    trials = read_trials(tmp_path, "asha")
    pids = [pid for trial in trials for pid in recorded_pids(trial)]
    assert {trial["status"] for trial in trials} <= {"STOPPED", "TERMINATED"}
    assert any(trial["status"] == "STOPPED" for trial in trials)
    assert len(pids) == 8
    # Ray Tune ends the trial's function from its own thread while the actor shuts down, so the
    # processes may end moments after the experiment returns.
    assert wait_until_gone(pids) == []


def test_driver_interrupt_ends_program_and_child(make_command_experiment: Any, tmp_path: Path) -> None:
    # The experiment runs in its own driver process, with its own local Ray, which the test
    # interrupts the way Ctrl-C does once the program has started.
    path = make_command_experiment(
        "interrupted",
        START_CHILD + """
import time
print("epoch=1 value=1.0")
time.sleep(1000)
""",
        trials=1,
    )
    pythonpath = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    driver = subprocess.Popen(
        [sys.executable, "-m", "tuner", "run", str(path)],
        env={**os.environ, "PYTHONPATH": pythonpath},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        pids_files = wait_for_files(tmp_path / "results" / "interrupted", "trial_*/pids.txt", driver)
        pids = [int(pid) for pid in pids_files[0].read_text().split()]
        assert running(pids) == pids

        driver.send_signal(signal.SIGINT)
        driver.wait(timeout=120)
    finally:
        if driver.poll() is None:
            driver.terminate()
            driver.wait(timeout=60)

    assert wait_until_gone(pids) == []
    (trial,) = read_trials(tmp_path, "interrupted")
    # An interrupted run records its cut-off trials as PENDING, for tuner resume to run again.
    assert trial["status"] == "PENDING"


def wait_for_files(folder: Path, pattern: str, driver: subprocess.Popen[bytes], timeout_s: float = 120.0) -> list[Path]:
    """Wait until files matching ``pattern`` exist under ``folder``, failing if ``driver`` exits first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = sorted(folder.glob(pattern))
        if found:
            return found
        assert driver.poll() is None, f"the driver exited with status {driver.returncode} before the trial started"
        time.sleep(0.2)
    raise AssertionError(f"no {pattern} under {folder} after {timeout_s:g} s")


def test_checkpoint_files_saved_with_improving_results(
    ray_session: Any, make_command_experiment: Any, tmp_path: Path
) -> None:
    # The script saves weights.bin when value improves, before printing the epoch's line.
    path = make_command_experiment(
        "saving",
        READ_X1 + """
import time
values = [x1 + 3, x1 + 1, x1 + 2]
best = None
for epoch, value in enumerate(values, start=1):
    # Epochs take time, as in training, so each line is read before the next file is written.
    time.sleep(0.3)
    if best is None or value < best:
        best = value
        with open("weights.bin", "w") as handle:
            handle.write(f"epoch {epoch}")
    print(f"epoch={epoch} value={value}", flush=True)
""",
        args={"checkpoint_files": ["weights.bin", "missing.txt"]},
    )

    run_experiment(load_experiment(path))

    for trial in read_trials(tmp_path, "saving"):
        checkpoint = Path(trial["checkpoint"])
        assert trial["status"] == "TERMINATED"
        assert trial["value"] == trial["config.x1"] + 1
        assert sorted(item.name for item in checkpoint.iterdir()) == [".tuner-results-count", "weights.bin"]
        assert (checkpoint / "weights.bin").read_text(encoding="utf-8") == "epoch 2"
        assert (checkpoint / ".tuner-results-count").read_text(encoding="utf-8") == "2"


def test_checkpoint_file_pattern_rejected(make_command_experiment: Any, forbid_ray: None) -> None:
    path = make_command_experiment("pattern", "pass\n", args={"checkpoint_files": ["*.keras"]})

    with pytest.raises(SpecError) as raised:
        load_experiment(path)

    assert str(raised.value) == (
        f"{path}: trainable.args.checkpoint_files[0]: '*.keras' must name a file; patterns are not expanded"
    )


def test_checkpoint_file_outside_trial_folder_rejected(make_command_experiment: Any, forbid_ray: None) -> None:
    path = make_command_experiment("outside", "pass\n", args={"checkpoint_files": ["../model.keras"]})

    with pytest.raises(SpecError) as raised:
        load_experiment(path)

    assert str(raised.value) == (
        f"{path}: trainable.args.checkpoint_files[0]: '../model.keras' must be a path inside the trial folder, "
        "relative and without '..'"
    )


def test_resumed_command_trial_repeats_no_recorded_epoch(
    ray_session: Any, make_command_experiment: Any, tmp_path: Path
) -> None:
    # The program cannot continue from a checkpoint, so a resumed trial runs it from epoch 1 again.
    path = make_command_experiment(
        "resumed",
        """
import time
for epoch in range(1, 7):
    time.sleep(0.5)
    with open("weights.bin", "w") as handle:
        handle.write(f"epoch {epoch}")
    print(f"epoch={epoch} value={10 - epoch}", flush=True)
""",
        args={"checkpoint_files": ["weights.bin"], "pass_hyperparameters": "none"},
    )
    results = tmp_path / "results" / "resumed" / "results.parquet"

    def three_epochs_recorded() -> bool:
        try:
            return pq.read_table(results).num_rows >= 3
        except (OSError, ValueError):
            return False

    assert interrupt_when(["run", str(path)], three_epochs_recorded) == 1
    assert main(["resume", "resumed", "--storage", str(tmp_path / "results")]) == 0

    rows = read_results(tmp_path, "resumed")
    for trial in read_trials(tmp_path, "resumed"):
        epochs = [(row["training_iteration"], row["epoch"]) for row in rows if row["trial_id"] == trial["trial_id"]]
        assert sorted(epochs) == [(epoch, float(epoch)) for epoch in range(1, 7)]
        assert trial["n_epochs"] == 6
        assert trial["status"] == "TERMINATED"
        assert (Path(trial["checkpoint"]) / "weights.bin").read_text(encoding="utf-8") == "epoch 6"


def test_run_where_every_trial_failed_exits_1(
    ray_session: Any, make_command_experiment: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Each trial reports a value and then fails, so no trial may be named the best.
    path = make_command_experiment("failing", "import sys\nprint('epoch=1 value=0.5', flush=True)\nsys.exit(3)\n")

    assert main(["run", str(path)]) == 1

    output = capsys.readouterr().out
    assert "experiment failing: 2 trials, 0 finished, 0 stopped early, 2 failed" in output
    assert "best trial" not in output
    assert "no trial reported value without failing" in output
