"""Server-rendered results pages: the experiments, one experiment, one trial, and signing in with the token.

Signing in stores the token in an HttpOnly, SameSite=Strict cookie, which the pages' own requests
(charts, logs, the stop button) then carry. Browsers do not send a SameSite=Strict cookie with a
request that another site starts, so another site cannot stop a trial through a signed-in browser.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette import status

from tuner.api.dependencies import ReadAccess, Reader, Settings, Store, TrialId
from tuner.api.rendering import format_cell, render_page
from tuner.api.security import TOKEN_COOKIE, token_matches
from tuner.errors import NotFoundError
from tuner.queries import LeaderboardPage, LeaderboardQuery
from tuner.stop_requests import ACTIVE_STATUSES
from tuner.store import TRIAL_STATUSES
from tuner.trial_logs import LOG_FILES

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50


@router.get("/", dependencies=[ReadAccess])
def experiments_page(request: Request, reader: Reader) -> Response:
    """Show the experiments in the storage."""
    return render_page(request, "experiments.html", {"experiments": reader.summaries(), "storage": reader.storage})


@router.get("/experiments/{name}", dependencies=[ReadAccess])
def experiment_page(
    request: Request,
    store: Store,
    reader: Reader,
    sort: str | None = None,
    order: str | None = None,
    status_filter: Annotated[str | None, Query(alias="status")] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """Show one experiment: its summary, the sortable leaderboard, the charts and the downloads."""
    summary = reader.summary(store.name)
    statuses = (status_filter,) if status_filter else ()
    page = reader.leaderboard(
        store.name, LeaderboardQuery(sort=sort, order=order, statuses=statuses, limit=PAGE_SIZE, offset=offset)
    )
    try:
        best = reader.best_checkpoint(store)
    except NotFoundError:
        best = None
    context = {
        "summary": summary,
        "table": _leaderboard_table(page, reader.trials(store).column_names, status_filter),
        "page": page,
        "statuses": TRIAL_STATUSES,
        "status_filter": status_filter or "",
        "best_checkpoint": best,
        "previous_offset": max(0, offset - PAGE_SIZE) if offset > 0 else None,
        "next_offset": offset + PAGE_SIZE if offset + PAGE_SIZE < page.n_matched else None,
        "query": {"sort": page.sort, "order": page.order, "status": status_filter or ""},
    }
    return render_page(request, "experiment.html", context)


def _leaderboard_table(page: LeaderboardPage, column_names: list[str], status_filter: str | None) -> dict[str, Any]:
    """Header links and formatted cells of the leaderboard on the experiment page."""
    columns: list[tuple[str, str]] = [("trial", "trial_id"), ("status", "status"), (page.metric, page.metric)]
    columns += [("epochs", "n_epochs"), ("duration (s)", "duration_s")]
    columns += [(name.removeprefix("config."), name) for name in column_names if name.startswith("config.")]
    columns += [(name.removeprefix("last."), name) for name in column_names if name.startswith("last.test_")]

    headers = []
    for label, key in columns:
        next_order = "asc" if page.sort == key and page.order == "desc" else "desc"
        query = {"sort": key, "order": next_order, **({"status": status_filter} if status_filter else {})}
        arrow = ""
        if page.sort == key:
            arrow = "▼" if page.order == "desc" else "▲"
        headers.append({"label": label, "href": "?" + urlencode(query), "arrow": arrow})

    rows = []
    for trial in page.trials:
        values = {
            "trial_id": trial["trial_id"],
            "status": trial["status"],
            page.metric: trial["best_value"],
            "n_epochs": trial["n_epochs"],
            "duration_s": trial["duration_s"],
        }
        values.update({f"config.{key}": value for key, value in trial["hyperparameters"].items()})
        values.update({f"last.{key}": value for key, value in trial["metrics"].items()})
        rows.append({"trial": trial, "cells": [format_cell(values.get(key)) for _, key in columns[2:]]})
    return {"headers": headers, "rows": rows}


@router.get("/experiments/{name}/trials/{trial_id}", dependencies=[ReadAccess])
def trial_page(request: Request, store: Store, trial_id: TrialId, reader: Reader) -> Response:
    """Show one trial: status, configuration, metrics per epoch, its live log and the stop button."""
    trial = reader.trial(store.name, trial_id)
    summary = reader.summary(store.name)
    history = trial["history"]
    metric_names = [key for key in (history[0] if history else {}) if key not in ("training_iteration", "time")]
    context = {
        "summary": summary,
        "trial": trial,
        "metric_names": metric_names,
        "log_files": LOG_FILES,
        "stoppable": summary.state == "running" and trial["status"] in ACTIVE_STATUSES,
    }
    return render_page(request, "trial.html", context)


def _local_path(candidate: str | None) -> str:
    """``candidate`` when it is a path on this site, else '/', so signing in never redirects elsewhere."""
    if candidate and candidate.startswith("/") and not candidate.startswith("//") and "\\" not in candidate:
        return candidate
    return "/"


@router.get("/login")
def login_page(request: Request, next_path: Annotated[str | None, Query(alias="next")] = None) -> Response:
    """Show the sign-in form, where the user pastes the token that `tuner serve` printed."""
    return render_page(request, "login.html", {"next_path": _local_path(next_path), "failed": False})


@router.post("/login")
def login(
    request: Request,
    settings: Settings,
    token: Annotated[str, Form()],
    next_path: Annotated[str, Form(alias="next")] = "/",
) -> Response:
    """Check the token and keep it in a cookie for the pages' requests; 401 with the form again when it is wrong."""
    if not token_matches(settings.token, token.strip()):
        return render_page(
            request,
            "login.html",
            {"next_path": _local_path(next_path), "failed": True},
            status_code=status.HTTP_401_UNAUTHORIZED,
        )
    response = RedirectResponse(_local_path(next_path), status_code=status.HTTP_303_SEE_OTHER)
    response.set_cookie(
        TOKEN_COOKIE,
        token.strip(),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/logout")
def logout() -> Response:
    """Forget the token cookie."""
    response = RedirectResponse("/", status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(TOKEN_COOKIE, path="/")
    return response
