"""Downloads: the best trial's weights, a trial's files, the whole experiment, and its tables.

Every body is streamed in chunks of at most 1 MiB, so memory stays flat whatever the size. Files
from trial folders are always sent as attachments of type application/octet-stream, so a file
that a trial wrote can never run as a page of this service.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse

from tuner.api.dependencies import ReadAccess, Reader, Store, TrialId
from tuner.api.schemas import TrialFilePublic
from tuner.errors import NotFoundError
from tuner.exports import archive_entries, open_file, stream_zip, table_csv_chunks
from tuner.queries import ExperimentReader
from tuner.store import RESULTS_FILE, TRIALS_FILE, ExperimentStore, trial_folder

router = APIRouter(prefix="/api/experiments/{name}", tags=["downloads"], dependencies=[ReadAccess])

# One file name, no folders: letters, digits, '_', '.' and '-', not starting with a dot.
FILE_NAME_PATTERN = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,254}")
BINARY = "application/octet-stream"


def _attachment(filename: str) -> dict[str, str]:
    # Callers pass names built from checked experiment names, trial ids and file names.
    return {"Content-Disposition": f'attachment; filename="{filename}"', "X-Content-Type-Options": "nosniff"}


def _send_file(store: ExperimentStore, relative: str, filename: str, media_type: str = BINARY) -> Response:
    """Stream one file of the experiment folder; 404 when it is missing or resolves outside the folder."""
    stored = store.file_info(relative)
    if stored is None:
        raise NotFoundError(f"file {relative!r} not found in experiment {store.name!r}")
    try:
        opened = open_file(store, stored.path)
    except FileNotFoundError:
        raise NotFoundError(f"file {relative!r} not found in experiment {store.name!r}") from None
    headers = {**_attachment(filename), "Content-Length": str(opened.size)}
    return StreamingResponse(opened.chunks, media_type=media_type, headers=headers)


def _send_zip(store: ExperimentStore, entries: list, filename: str) -> Response:
    return StreamingResponse(stream_zip(store, entries), media_type="application/zip", headers=_attachment(filename))


def _trial_files(store: ExperimentStore, reader: ExperimentReader, trial_id: str) -> list:
    reader.trial_row(store, trial_id)
    return store.list_files(trial_folder(trial_id))


@router.get("/best/weights", response_class=StreamingResponse, responses={200: {"content": {"application/zip": {}}}})
def download_best_weights(store: Store, reader: Reader) -> Response:
    """Send the best trial's checkpoint (model.keras, model.weights.h5, model.json for the Keras CNN) as one zip.

    The trial's id is in the ``X-Trial-Id`` header.
    """
    best = reader.best_checkpoint(store)
    files = store.list_files(best.folder)
    if not files:
        raise NotFoundError(f"the checkpoint of trial {best.trial_id} has no files")
    entries = list(archive_entries(files, "best-weights", strip=f"{best.folder}/"))
    response = _send_zip(store, entries, f"{store.name}-best-weights.zip")
    response.headers["X-Trial-Id"] = best.trial_id
    return response


@router.get("/best/weights/{filename}", response_class=StreamingResponse, responses={200: {"content": {BINARY: {}}}})
def download_best_weights_file(
    store: Store,
    reader: Reader,
    filename: Annotated[
        str, Path(description="a file of the checkpoint, such as model.keras, model.weights.h5 or model.json")
    ],
) -> Response:
    """Send one file of the best trial's checkpoint; the trial's id is in the ``X-Trial-Id`` header."""
    if not FILE_NAME_PATTERN.fullmatch(filename):
        raise NotFoundError(f"file {filename!r} not found in the best checkpoint")
    best = reader.best_checkpoint(store)
    response = _send_file(store, f"{best.folder}/{filename}", filename)
    response.headers["X-Trial-Id"] = best.trial_id
    return response


@router.get("/trials/{trial_id}/files", response_model=list[TrialFilePublic])
def list_trial_files(store: Store, trial_id: TrialId, reader: Reader) -> list[dict]:
    """List the files in a trial's folder in the storage, with their sizes in bytes."""
    prefix = f"{trial_folder(trial_id)}/"
    files = _trial_files(store, reader, trial_id)
    return [{"path": stored.relative_path.removeprefix(prefix), "size": stored.size} for stored in files]


@router.get(
    "/trials/{trial_id}/files/{path:path}", response_class=StreamingResponse, responses={200: {"content": {BINARY: {}}}}
)
def download_trial_file(store: Store, trial_id: TrialId, reader: Reader, path: str) -> Response:
    """Send one file of a trial's folder.

    Paths with '..', absolute paths and links that leave the experiment folder give 404.
    """
    reader.trial_row(store, trial_id)
    basename = path.rsplit("/", 1)[-1]
    filename = basename if FILE_NAME_PATTERN.fullmatch(basename) else "file"
    return _send_file(store, f"{trial_folder(trial_id)}/{path}", filename)


@router.get(
    "/trials/{trial_id}/archive.zip",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/zip": {}}}},
)
def download_trial_archive(store: Store, trial_id: TrialId, reader: Reader) -> Response:
    """Send every file of a trial's folder as one zip."""
    files = _trial_files(store, reader, trial_id)
    return _send_zip(store, list(archive_entries(files, store.name)), f"{store.name}-{trial_id}.zip")


@router.get("/archive.zip", response_class=StreamingResponse, responses={200: {"content": {"application/zip": {}}}})
async def download_experiment_archive(store: Store) -> Response:
    """Send the whole experiment folder as one zip: spec, tables, trial folders, checkpoints and Ray Tune's state."""
    files = await run_in_threadpool(store.list_files)
    return _send_zip(store, list(archive_entries(files, store.name)), f"{store.name}.zip")


@router.get("/results.parquet", response_class=StreamingResponse, responses={200: {"content": {BINARY: {}}}})
def download_results_parquet(store: Store) -> Response:
    """Send the results table, one row per reported result, as the Parquet file itself."""
    return _send_file(store, RESULTS_FILE, f"{store.name}-results.parquet")


@router.get("/trials.parquet", response_class=StreamingResponse, responses={200: {"content": {BINARY: {}}}})
def download_trials_parquet(store: Store) -> Response:
    """Send the trials table, one row per trial, as the Parquet file itself."""
    return _send_file(store, TRIALS_FILE, f"{store.name}-trials.parquet")


@router.get("/results.csv", response_class=StreamingResponse, responses={200: {"content": {"text/csv": {}}}})
def download_results_csv(store: Store, reader: Reader) -> Response:
    """Send the results table as CSV."""
    if store.file_info(RESULTS_FILE) is None:
        raise NotFoundError(f"experiment {store.name!r} has no results yet")
    return StreamingResponse(
        table_csv_chunks(reader.results(store)), media_type="text/csv", headers=_attachment(f"{store.name}-results.csv")
    )


@router.get("/trials.csv", response_class=StreamingResponse, responses={200: {"content": {"text/csv": {}}}})
def download_trials_csv(store: Store, reader: Reader) -> Response:
    """Send the trials table as CSV."""
    if store.file_info(TRIALS_FILE) is None:
        raise NotFoundError(f"experiment {store.name!r} has no trials yet")
    return StreamingResponse(
        table_csv_chunks(reader.trials(store)), media_type="text/csv", headers=_attachment(f"{store.name}-trials.csv")
    )
