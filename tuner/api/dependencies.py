"""Checks shared by the routes, written once: the token, the experiment, the trial id.

A name or id that does not match its pattern gets the same 404 as a missing one, so no
request can reach a path outside the storage through an experiment name or a trial id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request

from tuner.api.errors import AuthenticationError
from tuner.api.security import presented_token, token_matches
from tuner.errors import NotFoundError
from tuner.queries import ExperimentReader
from tuner.spec import NAME_PATTERN
from tuner.store import ExperimentStore

# Ray Tune 2.60 gives a trial found by a searcher 8 hex digits, and a trial of its own variant
# generator 5 hex digits, '_' and a counter of at least 5 digits.
TRIAL_ID_PATTERN = re.compile(r"[0-9a-f]{8}|[0-9a-f]{5}_[0-9]{5,9}")


@dataclass(frozen=True)
class ServiceSettings:
    """The service's configuration: the storage root, the token, and whether reads need the token."""

    storage: str
    token: str
    reads_need_token: bool


def get_settings(request: Request) -> ServiceSettings:
    """Return the settings the app was created with."""
    return request.app.state.settings


def get_reader(request: Request) -> ExperimentReader:
    """Return the app's reader, whose table cache all requests share."""
    return request.app.state.reader


Settings = Annotated[ServiceSettings, Depends(get_settings)]
Reader = Annotated[ExperimentReader, Depends(get_reader)]


def require_token(request: Request, settings: Settings) -> None:
    """Raise :class:`AuthenticationError` unless the request carries the service's token."""
    presented = presented_token(request)
    if not presented:
        raise AuthenticationError(
            "this request needs the service's token: send the header 'Authorization: Bearer <token>', "
            "or sign in on the results page"
        )
    if not token_matches(settings.token, presented):
        raise AuthenticationError("invalid token")


def require_read_access(request: Request, settings: Settings) -> None:
    """Let reads through on a loopback-only service; elsewhere they need the token too."""
    if settings.reads_need_token:
        require_token(request, settings)


def experiment_store(
    name: Annotated[str, Path(description="experiment name: 1 to 100 letters, digits, '_', '.' or '-'")],
    reader: Reader,
) -> ExperimentStore:
    """Return the experiment that the path names; 404 when the name is invalid or nothing is recorded under it."""
    if not NAME_PATTERN.fullmatch(name):
        raise NotFoundError(
            f"experiment {name!r} not found: names are 1 to 100 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return reader.store(name)


def valid_trial_id(
    trial_id: Annotated[str, Path(description="Ray Tune trial id, such as 3f2a9c1e")],
) -> str:
    """Return the trial id that the path names; 404 when it is not shaped like a Ray Tune trial id."""
    if not TRIAL_ID_PATTERN.fullmatch(trial_id):
        raise NotFoundError(f"trial {trial_id!r} not found: trial ids look like 3f2a9c1e or 3f2a9_00001")
    return trial_id


Store = Annotated[ExperimentStore, Depends(experiment_store)]
TrialId = Annotated[str, Depends(valid_trial_id)]
ReadAccess = Depends(require_read_access)
TokenRequired = Depends(require_token)
