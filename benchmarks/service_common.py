"""Shared parts of the service benchmarks: a large synthetic experiment and `tuner serve` in a child process.

The server listens on 127.0.0.1 only, on a free port, and is stopped by the benchmark that started it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pyarrow as pa
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from tuner.state import ExperimentState, write_experiment_state  # noqa: E402
from tuner.store import RESULTS_FILE, TRIALS_FILE, ExperimentStore  # noqa: E402

TOKEN = "benchmark-token-0123456789"
STATUSES = ("TERMINATED", "STOPPED", "ERROR", "RUNNING", "PENDING")
STATUS_SHARES = (0.60, 0.30, 0.05, 0.03, 0.02)
METRIC = "val_accuracy"


def trials_table(n_trials: int, n_hyperparameters: int, seed: int = 0) -> pa.Table:
    """Build a trials table with the recorder's columns: a third each of float, integer and categorical hyperparameters."""
    generator = np.random.default_rng(seed)
    started = datetime(2026, 1, 1, tzinfo=UTC)

    start_s = np.sort(generator.uniform(0, 86_400, n_trials))
    duration_s = generator.uniform(5, 600, n_trials)
    columns: dict[str, pa.Array] = {
        "trial_id": pa.array([f"{number:08x}" for number in range(n_trials)], pa.string()),
        "status": pa.array(generator.choice(STATUSES, size=n_trials, p=STATUS_SHARES), pa.string()),
    }
    for index in range(n_hyperparameters):
        if index % 3 == 0:
            columns[f"config.float_{index}"] = pa.array(generator.uniform(0, 1, n_trials), pa.float64())
        elif index % 3 == 1:
            columns[f"config.int_{index}"] = pa.array(generator.integers(1, 512, n_trials), pa.int64())
        else:
            choices = generator.choice(["relu", "tanh", "gelu", "elu"], n_trials)
            columns[f"config.choice_{index}"] = pa.array(choices, pa.string())

    values = generator.uniform(0.1, 0.99, n_trials)
    values[generator.uniform(size=n_trials) < 0.05] = np.nan
    columns[METRIC] = pa.array(values, pa.float64(), from_pandas=True)
    columns["best_epoch"] = pa.array(generator.integers(1, 13, n_trials), pa.int64())
    columns["n_epochs"] = pa.array(generator.integers(1, 13, n_trials), pa.int64())
    columns["started_at"] = pa.array(
        [started + timedelta(seconds=float(value)) for value in start_s], pa.timestamp("us", tz="UTC")
    )
    columns["ended_at"] = pa.array(
        [started + timedelta(seconds=float(value + length)) for value, length in zip(start_s, duration_s, strict=True)],
        pa.timestamp("us", tz="UTC"),
    )
    columns["duration_s"] = pa.array(duration_s, pa.float64())
    for name in ("val_accuracy", "val_loss", "accuracy", "loss", "test_accuracy"):
        columns[f"last.{name}"] = pa.array(generator.uniform(0, 1, n_trials), pa.float64())
    columns["error"] = pa.array([None] * n_trials, pa.string())
    columns["checkpoint"] = pa.array(
        [f"/storage/bench/trial_{number:08x}/checkpoint_000001" for number in range(n_trials)], pa.string()
    )
    columns["trial_dir"] = pa.array([f"/storage/bench/trial_{number:08x}" for number in range(n_trials)], pa.string())
    columns["working_dir"] = pa.array([None] * n_trials, pa.string())
    return pa.table(columns)


def results_table(n_trials: int, n_epochs: int, seed: int = 0) -> pa.Table:
    """Build a results table with ``n_epochs`` results per trial."""
    generator = np.random.default_rng(seed)
    n_rows = n_trials * n_epochs
    return pa.table(
        {
            "trial_id": pa.array([f"{number // n_epochs:08x}" for number in range(n_rows)], pa.string()),
            "training_iteration": pa.array(np.tile(np.arange(1, n_epochs + 1), n_trials), pa.int64()),
            "time": pa.array([datetime(2026, 1, 1, tzinfo=UTC)] * n_rows, pa.timestamp("us", tz="UTC")),
            "time_total_s": pa.array(generator.uniform(0, 600, n_rows), pa.float64()),
            METRIC: pa.array(generator.uniform(0, 1, n_rows), pa.float64()),
        }
    )


def write_experiment(storage: Path, name: str, trials: pa.Table, results: pa.Table | None = None) -> ExperimentStore:
    """Write spec.yaml, the tables and a running state.json for a synthetic experiment."""
    store = ExperimentStore(str(storage), name)
    spec = {"name": name, "metric": METRIC, "mode": "max", "searcher": {"name": "random"}, "trials": trials.num_rows}
    store.write_spec(yaml.safe_dump(spec))
    store.write_table(TRIALS_FILE, trials)
    if results is not None:
        store.write_table(RESULTS_FILE, results)
    now = datetime.now(UTC)
    write_experiment_state(store, ExperimentState("running", now, now))
    return store


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """`tuner serve` over ``storage`` as a child process on 127.0.0.1."""

    def __init__(self, storage: Path, work_dir: Path) -> None:
        token_file = work_dir / "token"
        token_file.write_text(TOKEN, encoding="utf-8")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = work_dir / "serve.log"
        pythonpath = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
        environment = {**os.environ, "PYTHONPATH": pythonpath}
        command = [
            sys.executable, "-m", "tuner", "serve",
            "--storage", str(storage), "--port", str(self.port), "--token-file", str(token_file),
        ]
        self._log = self.log_path.open("wb")
        # uvicorn logs every request at info level; the benchmark keeps that in serve.log.
        self.process = subprocess.Popen(command, env=environment, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/api/experiments", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"tuner serve did not start; see {self.log_path}")

    def stop(self) -> None:
        """Stop the server and wait for it to exit."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(30)
        self._log.close()


def percentile(values: list[float], share: float) -> float:
    """Return the value below which ``share`` of ``values`` lie, by linear interpolation."""
    return float(np.percentile(np.array(values), share * 100))
