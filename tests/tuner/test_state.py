"""state.json: whether an experiment is running, finished, or was interrupted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tuner.state import STALE_AFTER_S, ExperimentState, read_experiment_state, write_experiment_state
from tuner.store import ExperimentStore

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> ExperimentStore:
    return ExperimentStore(str(tmp_path), "exp")


def test_fresh_heartbeat_reads_running(store: ExperimentStore) -> None:
    write_experiment_state(store, ExperimentState("running", NOW - timedelta(minutes=1), NOW - timedelta(seconds=2)))

    state = read_experiment_state(store, now=NOW)

    assert state.state == "running"
    assert state.started_at == NOW - timedelta(minutes=1)


def test_stale_heartbeat_reads_interrupted(store: ExperimentStore) -> None:
    updated_at = NOW - timedelta(seconds=STALE_AFTER_S + 1)
    write_experiment_state(store, ExperimentState("running", NOW - timedelta(hours=1), updated_at))

    state = read_experiment_state(store, now=NOW)

    assert state.state == "interrupted"
    assert state.updated_at == updated_at


def test_finished_stays_finished_however_old(store: ExperimentStore) -> None:
    long_ago = NOW - timedelta(days=30)
    write_experiment_state(store, ExperimentState("finished", long_ago, long_ago, long_ago))

    assert read_experiment_state(store, now=NOW).state == "finished"


@pytest.mark.parametrize("content", [None, b"not json", b"[1, 2]", b'{"state": "exploded"}'])
def test_missing_or_unreadable_state_reads_unknown(store: ExperimentStore, content: bytes | None) -> None:
    if content is not None:
        store.write_bytes("state.json", content)

    assert read_experiment_state(store, now=NOW).state == "unknown"
