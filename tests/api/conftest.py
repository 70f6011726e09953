"""Fixtures of the service tests: experiments recorded by the real ResultsRecorder from stand-in trials.

The stand-ins carry only what the recorder reads from Ray Tune's trials, so the tables have the
exact columns and types of a real run without starting Ray.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from search_spaces import load_space
from tuner.api import create_app
from tuner.recorder import ResultsRecorder
from tuner.state import ExperimentState, write_experiment_state
from tuner.store import ExperimentStore

TOKEN = "test-token-0123456789abcdef"
AUTHORIZATION = {"Authorization": f"Bearer {TOKEN}"}

SPACE = {
    "hyperparameters": {
        "filters": {"type": "int", "low": 8, "high": 64},
        "dropout": {"type": "float", "low": 0.0, "high": 0.5},
        "pool": {"type": "categorical", "choices": ["max", "none"]},
    }
}
CHECKPOINT_FILES = {
    "model.keras": b"keras archive bytes",
    "model.weights.h5": b"h5 weights bytes",
    "model.json": b'{"hyperparameters": {}}',
}


@dataclass(frozen=True)
class RecordedExperiment:
    """An experiment folder written by the fixture, and where its pieces are."""

    store: ExperimentStore
    folder: Path
    working_dirs: Path
    best_trial_id: str
    running_trial_id: str
    stopped_trial_id: str
    failed_trial_id: str
    pending_trial_id: str


def _trial(folder: Path, working_dirs: Path, trial_id: str, config: dict[str, Any]) -> SimpleNamespace:
    return SimpleNamespace(
        trial_id=trial_id,
        config=config,
        path=str(folder / f"trial_{trial_id}"),
        local_path=str(folder / f"trial_{trial_id}"),
        storage=SimpleNamespace(trial_working_directory=str(working_dirs / f"trial_{trial_id}")),
        last_result={},
    )


def _report(
    recorder: ResultsRecorder, trial: SimpleNamespace, epoch: int, metrics: dict[str, float], done: bool = False
) -> None:
    result = {"training_iteration": epoch, "time_total_s": float(epoch), **metrics}
    if done:
        result["done"] = True
    recorder.on_trial_result(0, [], trial, result)
    trial.last_result = result


def _checkpoint(recorder: ResultsRecorder, trial: SimpleNamespace, index: int) -> Path:
    folder = Path(trial.path) / f"checkpoint_{index:06d}"
    folder.mkdir(parents=True)
    for name, content in CHECKPOINT_FILES.items():
        (folder / name).write_bytes(content)
    recorder.on_checkpoint(0, [], trial, SimpleNamespace(path=str(folder)))
    return folder


def record_experiment(storage: Path, name: str = "cnn", state: str = "running") -> RecordedExperiment:
    """Write an experiment with one trial in each status through the real recorder.

    Trial a0000001 finished 4 epochs with the best val_accuracy (0.9) and a checkpoint.
    Trial a0000002 was stopped after 2 epochs, and a0000003 failed. Trial a0000004 is running,
    with a live stdout in its working directory, and a0000005 is pending.
    """
    store = ExperimentStore(str(storage), name)
    folder = storage / name
    working_dirs = storage.parent / "ray-session" / "artifacts" / "2026-01-01_00-00-00" / name / "working_dirs"
    spec = {
        "name": name,
        "metric": "val_accuracy",
        "mode": "max",
        "searcher": {"name": "random", "seed": 0},
        "scheduler": {"name": "asha"},
        "trials": 6,
    }
    store.write_spec(yaml.safe_dump(spec))
    recorder = ResultsRecorder(store, load_space(SPACE, Path(".")), "val_accuracy", "max", max_epochs=4)

    best = _trial(folder, working_dirs, "a0000001", {"filters": 32, "dropout": 0.1, "pool": "max"})
    recorder.on_trial_start(0, [], best)
    for epoch, accuracy in enumerate([0.5, 0.7, 0.8, 0.9], start=1):
        extra = {"test_accuracy": 0.88} if epoch == 4 else {}
        _report(recorder, best, epoch, {"val_accuracy": accuracy, "val_loss": 1.0 - accuracy, **extra})
        if epoch in (1, 4):
            _checkpoint(recorder, best, 1 if epoch == 1 else 3)
    best.last_result["done"] = True
    recorder.on_trial_complete(0, [], best)
    (Path(best.path) / "stdout").write_text("".join(f"epoch {epoch}\n" for epoch in range(1, 5)), encoding="utf-8")

    stopped = _trial(folder, working_dirs, "a0000002", {"filters": 8, "dropout": 0.4, "pool": "none"})
    recorder.on_trial_start(0, [], stopped)
    _report(recorder, stopped, 1, {"val_accuracy": 0.4, "val_loss": 0.9})
    _checkpoint(recorder, stopped, 1)
    _report(recorder, stopped, 2, {"val_accuracy": 0.6, "val_loss": float("nan")}, done=True)
    recorder.on_trial_complete(0, [], stopped)

    failed = _trial(folder, working_dirs, "a0000003", {"filters": 64, "dropout": 0.0, "pool": "max"})
    recorder.on_trial_start(0, [], failed)
    Path(failed.path).mkdir(parents=True)
    (Path(failed.path) / "error.txt").write_text("Traceback ...\nValueError: kernel too large\n", encoding="utf-8")
    recorder.on_trial_error(0, [], failed)

    running = _trial(folder, working_dirs, "a0000004", {"filters": 16, "dropout": 0.2, "pool": "none"})
    recorder.on_trial_start(0, [], running)
    _report(recorder, running, 1, {"val_accuracy": 0.3, "val_loss": 0.95})
    working_dir = Path(running.storage.trial_working_directory)
    working_dir.mkdir(parents=True)
    (working_dir / "stdout").write_text("".join(f"line {number}\n" for number in range(1, 301)), encoding="utf-8")
    (working_dir / "stderr").write_text("a warning\n", encoding="utf-8")

    pending = _trial(folder, working_dirs, "a0000005", {"filters": 24, "dropout": 0.3, "pool": "max"})
    recorder.on_step_end(0, [pending])
    recorder.flush()

    now = datetime.now(UTC)
    ended_at = None if state == "running" else now
    write_experiment_state(store, ExperimentState(state, now - timedelta(minutes=5), now, ended_at))
    return RecordedExperiment(
        store=store,
        folder=folder,
        working_dirs=working_dirs,
        best_trial_id=best.trial_id,
        running_trial_id=running.trial_id,
        stopped_trial_id=stopped.trial_id,
        failed_trial_id=failed.trial_id,
        pending_trial_id=pending.trial_id,
    )


@pytest.fixture
def storage(tmp_path: Path) -> Path:
    """An empty storage root."""
    root = tmp_path / "storage"
    root.mkdir()
    return root


@pytest.fixture
def experiment(storage: Path) -> RecordedExperiment:
    """A running experiment named 'cnn' with one trial in each status."""
    return record_experiment(storage)


@pytest.fixture
def client(storage: Path) -> TestClient:
    """A client of the service as `tuner serve` runs it on 127.0.0.1: reads open, changes need the token."""
    with TestClient(create_app(str(storage), TOKEN)) as test_client:
        yield test_client


@pytest.fixture
def exposed_client(storage: Path) -> TestClient:
    """A client of the service as it runs on a non-loopback address: reads need the token too."""
    with TestClient(create_app(str(storage), TOKEN, reads_need_token=True)) as test_client:
        yield test_client


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside the storage with a secret file, the target of links that must not be followed."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_text("outside content", encoding="utf-8")
    return folder


def link(path: Path, target: Path) -> None:
    """Create a symbolic link ``path`` pointing at ``target``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, path)


@dataclass
class LiveServer:
    """A uvicorn server on 127.0.0.1 in a thread of the test process."""

    url: str
    server: Any
    thread: threading.Thread


@pytest.fixture
def live_server(storage: Path) -> LiveServer:
    """The service on a free port of 127.0.0.1, stopped when the test ends."""
    import uvicorn

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(create_app(str(storage), TOKEN), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    if not server.started:
        raise RuntimeError(f"the test server did not start on 127.0.0.1:{port}")
    yield LiveServer(f"http://127.0.0.1:{port}", server, thread)
    server.should_exit = True
    thread.join(30)
