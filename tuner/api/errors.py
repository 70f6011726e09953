"""HTTP status codes for the tuner's errors, mapped in one place, and the handlers that apply them."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette import status

from tuner.api.rendering import render_page
from tuner.errors import ConflictError, InputError, NotFoundError, TunerError

logger = logging.getLogger(__name__)


class AuthenticationError(TunerError):
    """A request that needs the service's token and came without it, or with a wrong one."""


# The first class that matches decides; more specific classes come first.
STATUS_BY_ERROR: tuple[tuple[type[TunerError], int], ...] = (
    (AuthenticationError, status.HTTP_401_UNAUTHORIZED),
    (NotFoundError, status.HTTP_404_NOT_FOUND),
    (ConflictError, status.HTTP_409_CONFLICT),
    (InputError, status.HTTP_400_BAD_REQUEST),
)


def status_code_for(error: TunerError) -> int:
    """Return the HTTP status code of a tuner error; 500 for one that no entry of STATUS_BY_ERROR matches."""
    for error_class, status_code in STATUS_BY_ERROR:
        if isinstance(error, error_class):
            return status_code
    return status.HTTP_500_INTERNAL_SERVER_ERROR


def _wants_page(request: Request) -> bool:
    return not request.url.path.startswith("/api/")


def _error_response(request: Request, status_code: int, detail: str) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if status_code == status.HTTP_401_UNAUTHORIZED else None
    if _wants_page(request):
        return render_page(
            request,
            "error.html",
            {"status_code": status_code, "detail": detail, "next_path": request.url.path},
            status_code=status_code,
            headers=headers,
        )
    return JSONResponse({"detail": detail}, status_code=status_code, headers=headers)


async def handle_tuner_error(request: Request, error: TunerError) -> Response:
    """Respond to a :class:`TunerError` with its status code and its message as ``detail``."""
    status_code = status_code_for(error)
    if status_code >= status.HTTP_500_INTERNAL_SERVER_ERROR:
        logger.error("%s %s failed: %s", request.method, request.url.path, error)
    return _error_response(request, status_code, str(error))


async def handle_validation_error(request: Request, error: RequestValidationError) -> Response:
    """Respond to invalid parameters with 422 and one short sentence naming the first invalid one."""
    first = error.errors()[0]
    location = [str(part) for part in first.get("loc", ())]
    kind = {"query": "query parameter", "path": "path parameter", "body": "body field"}.get(location[0], "parameter")
    # List parameters add the index of the invalid item, which would only confuse the message.
    name = ".".join(part for part in location[1:] if not part.isdigit()) or location[0]
    detail = f"{kind} {name!r} is invalid: {first.get('msg', 'invalid value')}"
    if "input" in first and first["input"] is not None:
        detail += f", got {first['input']!r}"
    return _error_response(request, status.HTTP_422_UNPROCESSABLE_CONTENT, detail)


async def handle_unexpected_error(request: Request, error: Exception) -> Response:
    """Respond to any other exception with 500 and no traceback; the traceback goes to the log."""
    logger.error("%s %s failed", request.method, request.url.path, exc_info=error)
    return _error_response(
        request, status.HTTP_500_INTERNAL_SERVER_ERROR, "internal error; the service's log has the details"
    )


def register_error_handlers(app: FastAPI) -> None:
    """Install the handlers above on ``app``."""
    app.add_exception_handler(TunerError, handle_tuner_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, handle_validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, handle_unexpected_error)
