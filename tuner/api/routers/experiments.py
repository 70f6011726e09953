"""Experiments: the list, one experiment, and its leaderboard."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from tuner.api.dependencies import ReadAccess, Reader, Store
from tuner.api.schemas import ExperimentPublic, LeaderboardPublic
from tuner.queries import LeaderboardQuery
from tuner.store import TRIAL_STATUSES

router = APIRouter(prefix="/api/experiments", tags=["experiments"], dependencies=[ReadAccess])

TrialStatus = Literal[TRIAL_STATUSES]  # type: ignore[valid-type]


@router.get("", response_model=list[ExperimentPublic])
def list_experiments(reader: Reader) -> list[dict]:
    """List every experiment in the storage, by name."""
    return [asdict(summary) for summary in reader.summaries()]


@router.get("/{name}", response_model=ExperimentPublic)
def read_experiment(store: Store, reader: Reader) -> dict:
    """Read one experiment: state, searcher, trial counts and best value."""
    return asdict(reader.summary(store.name))


@router.get("/{name}/leaderboard", response_model=LeaderboardPublic)
def read_leaderboard(
    store: Store,
    reader: Reader,
    sort: Annotated[
        str | None,
        Query(
            description="a column of the trials table, such as val_accuracy, last.test_accuracy, config.filters "
            "or n_epochs; default: the metric"
        ),
    ] = None,
    order: Annotated[
        Literal["asc", "desc"] | None, Query(description="default: best first for the metric, else asc")
    ] = None,
    # FastAPI copies a default for each request, so the shared list is never mutated.
    status: Annotated[
        list[TrialStatus], Query(description="keep only trials with these statuses; repeatable")
    ] = [],  # noqa: B006
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict:
    """Rank trials by any column in either direction, filtered by status, one page at a time."""
    query = LeaderboardQuery(sort=sort, order=order, statuses=tuple(status), limit=limit, offset=offset)
    return asdict(reader.leaderboard(store.name, query))
