"""Trials: one trial, its log (the last lines or followed live), and stopping it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse, Response, StreamingResponse
from starlette import status

from tuner.api.dependencies import ReadAccess, Reader, Store, TokenRequired, TrialId
from tuner.api.schemas import StopRequestPublic, TrialDetailPublic
from tuner.queries import ExperimentReader
from tuner.stop_requests import request_trial_stop
from tuner.store import ExperimentStore
from tuner.trial_logs import LOG_FILES, LogFile, LogFollower, locate_log, tail_log

router = APIRouter(prefix="/api/experiments/{name}/trials", tags=["trials"])

LogName = Literal[LOG_FILES]  # type: ignore[valid-type]
FOLLOW_POLL_INTERVAL_S = 0.5
# How often a follower checks whether the trial is still running, which reads the trials table.
FOLLOW_STATUS_INTERVAL_S = 2.0


@router.get("/{trial_id}", response_model=TrialDetailPublic, dependencies=[ReadAccess])
def read_trial(store: Store, trial_id: TrialId, reader: Reader) -> dict:
    """Read one trial: configuration, status, error, last metrics and the metric history."""
    return reader.trial(store.name, trial_id)


@router.get(
    "/{trial_id}/log",
    response_class=PlainTextResponse,
    dependencies=[ReadAccess],
    responses={200: {"content": {"text/plain": {}}, "description": "the log's last lines, then new lines if followed"}},
)
async def read_trial_log(
    request: Request,
    store: Store,
    trial_id: TrialId,
    reader: Reader,
    lines: Annotated[int, Query(ge=1, le=10_000, description="how many of the last lines to send first")] = 100,
    follow: Annotated[
        bool, Query(description="keep the response open and send new lines as the trial writes them")
    ] = False,
    file: Annotated[
        LogName | None, Query(description="default: the first non-empty of process_output.log, stdout and stderr")
    ] = None,
) -> Response:
    """Send the trial's log as text: its last lines, then, with ``follow=true``, new lines until the trial ends.

    The name of the file sent is in the ``X-Log-File`` header.
    """
    row = await run_in_threadpool(reader.trial_row, store, trial_id)
    log = await run_in_threadpool(locate_log, store, row, file)
    tail = await run_in_threadpool(tail_log, log, lines, not follow)
    headers = {"X-Log-File": log.name, "Cache-Control": "no-store"}
    text = "".join(f"{line}\n" for line in tail.lines)
    if not follow:
        return PlainTextResponse(text, headers=headers)
    stream = _follow(request, reader, store, trial_id, log, tail.next_offset, text)
    return StreamingResponse(stream, media_type="text/plain; charset=utf-8", headers=headers)


async def _follow(
    request: Request,
    reader: ExperimentReader,
    store: ExperimentStore,
    trial_id: str,
    log: LogFile,
    offset: int,
    first: str,
) -> AsyncIterator[str]:
    """Yield ``first``, then new lines every FOLLOW_POLL_INTERVAL_S until the trial ends or the client leaves."""
    yield first
    follower = LogFollower(log, offset)
    loop = asyncio.get_running_loop()
    checked_at = loop.time()
    while not await request.is_disconnected():
        text = await run_in_threadpool(follower.read_new)
        if text:
            yield text
        if loop.time() - checked_at >= FOLLOW_STATUS_INTERVAL_S:
            checked_at = loop.time()
            if not await run_in_threadpool(reader.trial_is_active, store, trial_id):
                # The trial may have written its last lines after the read above.
                yield await run_in_threadpool(follower.read_new, True)
                return
        await asyncio.sleep(FOLLOW_POLL_INTERVAL_S)


@router.post(
    "/{trial_id}/stop",
    response_model=StopRequestPublic,
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[TokenRequired],
)
def stop_trial(store: Store, trial_id: TrialId) -> dict:
    """Ask the running experiment to stop a pending or running trial; it ends as STOPPED at its next report.

    Needs the service's token. 409 when the experiment is not running or the trial has ended.
    """
    request_trial_stop(store, trial_id)
    return {
        "experiment": store.name,
        "trial_id": trial_id,
        "detail": f"stop requested; trial {trial_id} ends as STOPPED when it next reports a result",
    }
