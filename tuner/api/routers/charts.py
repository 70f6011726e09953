"""Charts as PNG: the metric over trials with the best so far, against each hyperparameter, and learning curves.

A chart is drawn again only when the table it shows has changed. Until then the cached PNG is sent.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from tuner.api.charts import hyperparameter_chart, learning_curves_chart, progress_chart
from tuner.api.dependencies import ReadAccess, Reader, Store
from tuner.queries import empty_results, empty_trials
from tuner.store import RESULTS_FILE, TRIALS_FILE

router = APIRouter(prefix="/api/experiments/{name}/charts", tags=["charts"], dependencies=[ReadAccess])

PNG_RESPONSE = {200: {"content": {"image/png": {}}, "description": "a PNG image"}}


def _png(content: bytes) -> Response:
    return Response(content, media_type="image/png", headers={"Cache-Control": "no-store"})


@router.get("/progress.png", response_class=Response, responses=PNG_RESPONSE)
def chart_progress(store: Store, reader: Reader) -> Response:
    """Draw the metric of every trial in the order trials started, coloured by status, with the best value so far."""
    metric, mode = reader.objective(store)
    content = reader.derived(
        store, TRIALS_FILE, ("chart", "progress"), lambda trials: progress_chart(trials, metric, mode), empty_trials
    )
    return _png(content)


@router.get("/hyperparameters.png", response_class=Response, responses=PNG_RESPONSE)
def chart_hyperparameters(store: Store, reader: Reader) -> Response:
    """Draw the metric against each hyperparameter, one small chart per hyperparameter."""
    metric, _ = reader.objective(store)
    content = reader.derived(
        store,
        TRIALS_FILE,
        ("chart", "hyperparameters"),
        lambda trials: hyperparameter_chart(trials, metric),
        empty_trials,
    )
    return _png(content)


@router.get("/learning-curves.png", response_class=Response, responses=PNG_RESPONSE)
def chart_learning_curves(
    store: Store,
    reader: Reader,
    top: Annotated[int, Query(ge=1, le=20, description="how many of the best trials to draw")] = 5,
) -> Response:
    """Draw the metric per epoch of the best trials."""
    metric, mode = reader.objective(store)
    trials = reader.trials(store)

    # Drawn again when the results change. Between two results only trial statuses change,
    # which this chart does not show.
    def draw(results: Any) -> bytes:
        return learning_curves_chart(trials, results, metric, mode, top)

    return _png(reader.derived(store, RESULTS_FILE, ("chart", "learning-curves", str(top)), draw, empty_results))
