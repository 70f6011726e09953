"""`tuner run` with an ``s3://`` storage root, on a local S3 server (moto) on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs
import yaml

from tests.conftest import REPO_ROOT
from tests.s3_server import make_bucket, s3_environment
from tuner.store import ExperimentStore

BUCKET = "runs"
STORAGE = f"s3://{BUCKET}/results"

# Prints three epochs of a curve whose floor is x1, as a training script would.
SCRIPT = """
import argparse
parser = argparse.ArgumentParser()
parser.add_argument("--x1", type=float)
x1 = parser.parse_args().x1
for epoch in range(1, 4):
    print(f"epoch={epoch} value={x1 + 1 / epoch}")
"""


def run_tuner(arguments: list[str], s3_endpoint: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``python -m tuner ARGUMENTS`` with its own local Ray, whose workers inherit the S3 variables."""
    environment = {**os.environ, **s3_environment(s3_endpoint)}
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    environment.pop("RAY_ADDRESS", None)
    return subprocess.run(
        [sys.executable, "-m", "tuner", *arguments],
        cwd=cwd, env=environment, capture_output=True, text=True, timeout=300, check=False,
    )


def test_command_run_records_in_bucket(s3_endpoint: str, tmp_path: Path, monkeypatch: Any) -> None:
    # Tables, Ray Tune's state and the trial folders the command trainable uploads all land in the bucket.
    s3 = make_bucket(s3_endpoint, BUCKET)
    (tmp_path / "train.py").write_text(textwrap.dedent(SCRIPT), encoding="utf-8")
    spec = {
        "name": "curve",
        "trainable": {
            "name": "command",
            "args": {"command": "python train.py", "inputs": ["train.py"], "pass_hyperparameters": "flags"},
        },
        "space": {"hyperparameters": {"x1": {"type": "float", "low": 0.0, "high": 1.0}}},
        "metric": "value",
        "mode": "min",
        "trials": 3,
        "slots": 2,
        "storage": STORAGE,
    }
    (tmp_path / "curve.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")

    completed = run_tuner(["run", "curve.yaml"], s3_endpoint, tmp_path)

    assert completed.returncode == 0, completed.stderr
    assert f"results: {STORAGE}/curve" in completed.stdout
    for variable, value in s3_environment(s3_endpoint).items():
        monkeypatch.setenv(variable, value)
    store = ExperimentStore(STORAGE, "curve")
    trials = store.read_trials().to_pylist()
    assert [trial["status"] for trial in trials] == ["TERMINATED"] * 3
    for trial in trials:
        assert trial["n_epochs"] == 3
        assert trial["value"] == trial["config.x1"] + 1 / 3
        log = s3.open_input_stream(f"{BUCKET}/results/curve/trial_{trial['trial_id']}/process_output.log").read()
        assert f"epoch=3 value={trial['value']}".encode() in log
    assert len(store.read_results()) == 9
    assert s3.get_file_info(f"{BUCKET}/results/curve/state.json").type == pafs.FileType.File
    s3.delete_dir(BUCKET)


def test_run_into_missing_bucket_rejected(s3_endpoint: str, make_spec_file: Any, tmp_path: Path) -> None:
    path = make_spec_file({"storage": "s3://no-such-bucket/results"})

    completed = run_tuner(["run", str(path)], s3_endpoint, tmp_path)

    assert completed.returncode == 2
    assert completed.stderr.startswith(
        f"error: {path}: storage: cannot write the experiment to s3://no-such-bucket/results/branin-check ("
    )
    assert "The specified bucket does not exist" in completed.stderr
    assert completed.stderr.rstrip().endswith(
        "give a folder you can write to, or an s3:// URI of an existing bucket with credentials that allow writing"
    )
    assert "Traceback" not in completed.stderr
