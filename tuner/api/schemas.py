"""Response models of the JSON API; their field descriptions become the OpenAPI text at /docs."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ExperimentPublic(BaseModel):
    """One experiment at a glance."""

    name: str
    state: str = Field(description="running, finished, failed, interrupted (its process stopped writing), or unknown")
    searcher: str | None
    scheduler: str | None
    metric: str
    mode: str
    n_trials: int | None = Field(description="trials the experiment file asks for")
    n_recorded: int = Field(description="trials recorded so far")
    n_done: int = Field(description="trials that ended as TERMINATED or STOPPED")
    n_running: int
    n_pending: int
    n_failed: int = Field(description="trials that ended as ERROR")
    best_value: float | None
    best_trial_id: str | None
    started_at: str | None
    ended_at: str | None


class TrialPublic(BaseModel):
    """One trial as the leaderboard shows it."""

    trial_id: str
    status: str
    best_value: float | None = Field(description="the best value of the experiment's metric that the trial reported")
    best_epoch: int | None
    n_epochs: int | None
    started_at: str | None
    ended_at: str | None
    duration_s: float | None
    hyperparameters: dict[str, Any] = Field(
        description="config.<name> columns; null where a condition made one inactive"
    )
    metrics: dict[str, float | None] = Field(
        description="the last value of every reported metric, test metrics included"
    )
    error: str | None
    has_checkpoint: bool


class TrialDetailPublic(TrialPublic):
    """One trial with its metric history."""

    stop_requested: bool
    history: list[dict[str, Any]] = Field(description="one entry per reported result, by training_iteration")


class LeaderboardPublic(BaseModel):
    """A page of ranked trials."""

    experiment: str
    metric: str
    mode: str
    sort: str
    order: str
    statuses: list[str]
    n_matched: int = Field(description="trials that passed the status filter, on every page")
    limit: int
    offset: int
    trials: list[TrialPublic]


class StopRequestPublic(BaseModel):
    """A stop request that the running experiment will act on."""

    experiment: str
    trial_id: str
    detail: str


class TrialFilePublic(BaseModel):
    """A file in a trial's folder."""

    path: str = Field(description="path inside the trial's folder")
    size: int
