"""Whether an experiment is running: state.json, written by the running experiment, read by the service.

The runner, through :class:`tuner.run_control.ExperimentHeartbeat`, writes ``running`` when it
starts, refreshes ``updated_at`` every ``HEARTBEAT_INTERVAL_S`` while Ray Tune's loop runs, and
writes ``finished``, ``failed`` or ``interrupted`` when it ends. A process killed without a chance
to write its end leaves ``running`` behind, so a reader treats a ``running`` file whose heartbeat
is older than ``STALE_AFTER_S`` as ``interrupted``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tuner.errors import NotFoundError
from tuner.store import ExperimentStore

STATE_FILE = "state.json"
EXPERIMENT_STATES = ("running", "finished", "failed", "interrupted", "unknown")
HEARTBEAT_INTERVAL_S = 5.0
STALE_AFTER_S = 30.0


@dataclass(frozen=True)
class ExperimentState:
    """The content of state.json: the state and when the experiment started, last wrote and ended."""

    state: str
    started_at: datetime | None = None
    updated_at: datetime | None = None
    ended_at: datetime | None = None

    def to_json(self) -> str:
        """Render the state as the JSON text of state.json."""
        fields = {
            key: value.isoformat() if isinstance(value, datetime) else value for key, value in asdict(self).items()
        }
        return json.dumps(fields)


def _now() -> datetime:
    return datetime.now(UTC)


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def write_experiment_state(store: ExperimentStore, state: ExperimentState) -> None:
    """Replace state.json atomically."""
    store.write_bytes(STATE_FILE, state.to_json().encode("utf-8"))


def read_experiment_state(store: ExperimentStore, now: datetime | None = None) -> ExperimentState:
    """Read state.json; a stale ``running`` heartbeat reads as ``interrupted``.

    An experiment without a readable state.json, such as one recorded before the file existed,
    reads as ``unknown``.
    """
    try:
        data = json.loads(store.read_bytes(STATE_FILE))
    except (NotFoundError, ValueError):
        return ExperimentState("unknown")
    if not isinstance(data, dict) or data.get("state") not in EXPERIMENT_STATES:
        return ExperimentState("unknown")

    state = ExperimentState(
        state=data["state"],
        started_at=_parse_time(data.get("started_at")),
        updated_at=_parse_time(data.get("updated_at")),
        ended_at=_parse_time(data.get("ended_at")),
    )
    if state.state == "running":
        heartbeat = state.updated_at or state.started_at
        if heartbeat is None or (now or _now()) - heartbeat > timedelta(seconds=STALE_AFTER_S):
            return ExperimentState("interrupted", state.started_at, state.updated_at, state.ended_at)
    return state
