"""Stop requests from the service: checked against the experiment's state, then written under control/stop/."""

from __future__ import annotations

import logging

import pyarrow.compute as pc

from tuner.errors import ConflictError, NotFoundError
from tuner.state import read_experiment_state
from tuner.store import ExperimentStore

logger = logging.getLogger(__name__)

# Trials that a stop request can still reach.
ACTIVE_STATUSES = ("PENDING", "RUNNING")


def request_trial_stop(store: ExperimentStore, trial_id: str) -> None:
    """Write a stop request for a pending or running trial of a running experiment.

    Raises :class:`NotFoundError` when the experiment has no such trial, and
    :class:`ConflictError` when the experiment is not running or the trial has ended. Requesting
    the stop of a trial again is allowed and changes nothing.
    """
    state = read_experiment_state(store)
    try:
        trials = store.read_trials()
    except NotFoundError:
        trials = None
    matches = [] if trials is None else trials.filter(pc.equal(trials["trial_id"], trial_id)).to_pylist()
    if not matches:
        raise NotFoundError(f"trial {trial_id!r} not found in experiment {store.name!r}")

    status = matches[0]["status"]
    if state.state != "running":
        raise ConflictError(
            f"experiment {store.name!r} is not running ({state.state}), so trial {trial_id} cannot be stopped"
        )
    if status not in ACTIVE_STATUSES:
        raise ConflictError(f"trial {trial_id} has already ended with status {status}")
    store.request_stop(trial_id)
    logger.info("experiment %s: stop of trial %s requested", store.name, trial_id)
