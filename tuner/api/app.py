"""The FastAPI application: routers, error handlers and the settings every request reads."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from tuner.api import pages
from tuner.api.dependencies import ServiceSettings
from tuner.api.errors import register_error_handlers
from tuner.api.routers import charts, downloads, experiments, trials
from tuner.queries import ExperimentReader

DESCRIPTION = """Leaderboards, live trial logs, stopping a trial, best weights, downloads and charts
of the experiments under one storage root. Reads need no token when the service listens on a
loopback address only; every change needs the service's token as `Authorization: Bearer <token>`."""


DOCS_ASSETS_URL = "/docs-assets"


def create_app(storage: str, token: str, reads_need_token: bool = False) -> FastAPI:
    """Create the service for ``storage``, a local folder or a URI such as ``s3://bucket/path``.

    ``token`` is required for every change, and also for reads when ``reads_need_token`` is true,
    which `tuner serve` sets whenever it listens on an address other than loopback.
    """
    # Swagger UI's script and style come from the fastapi-offline package, so /docs works without
    # internet access.
    app = FastAPIOffline(
        title="tuner",
        description=DESCRIPTION,
        version="0.1.0",
        docs_url="/docs",
        redoc_url=None,
        static_url=DOCS_ASSETS_URL,
    )
    app.state.settings = ServiceSettings(storage=storage, token=token, reads_need_token=reads_need_token)
    app.state.reader = ExperimentReader(storage)
    register_error_handlers(app)
    for router in (experiments.router, trials.router, downloads.router, charts.router, pages.router):
        app.include_router(router)
    return app
