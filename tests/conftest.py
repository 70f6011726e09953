"""Shared fixtures: one local Ray for the whole session and factories for experiment files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.s3_server import local_s3_server

REPO_ROOT = Path(__file__).resolve().parent.parent

# Quiet Ray's output in tests the way the command line does.
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
os.environ.setdefault("TUNE_PRINT_ALL_TRIAL_ERRORS", "0")


@pytest.fixture(scope="session")
def ray_session() -> Any:
    """One local Ray with 2 CPUs for every test that runs trials."""
    import ray

    # Workers import test trainables from tests/, so the repository root goes on their path.
    pythonpath = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    os.environ["PYTHONPATH"] = pythonpath
    ray.init(num_cpus=2, num_gpus=0, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session")
def s3_endpoint() -> Any:
    """The endpoint URL of one local S3 server on 127.0.0.1 for the whole session."""
    with local_s3_server() as endpoint:
        yield endpoint


@pytest.fixture
def forbid_ray(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything starts or connects to Ray."""
    import ray

    def reject_start(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("Ray must not be started here")

    monkeypatch.setattr(ray, "init", reject_start)


def base_spec(storage: Path) -> dict[str, Any]:
    """A small valid experiment on the Branin function."""
    return {
        "name": "branin-check",
        "trainable": {"name": "branin"},
        "space": "branin",
        "metric": "value",
        "mode": "min",
        "trials": 4,
        "slots": 2,
        "storage": str(storage),
    }


@pytest.fixture
def make_spec_file(tmp_path: Path) -> Any:
    """Write an experiment file from the Branin base spec with ``changes`` applied; ``None`` removes a key."""

    def make(changes: dict[str, Any] | None = None, text: str | None = None, name: str = "experiment.yaml") -> Path:
        path = tmp_path / name
        if text is not None:
            path.write_text(text, encoding="utf-8")
            return path
        data = base_spec(tmp_path / "results")
        for key, value in (changes or {}).items():
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return path

    return make
