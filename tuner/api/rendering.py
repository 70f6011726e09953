"""Jinja2 templates of the results pages, with HTML escaping on for every value."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from tuner.api.security import TOKEN_COOKIE
from tuner.queries import plain_value

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def format_cell(value: Any) -> str:
    """Format a table cell: floats to 4 significant digits, timestamps as their time of day, nothing as '-'."""
    value = plain_value(value)
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, str) and len(value) >= 19 and value[10] == "T":
        return value[11:19]
    return str(value)


TEMPLATES.env.filters["cell"] = format_cell


def render_page(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Render ``template`` with ``context`` and whether the request carries a token cookie."""
    full_context = {"signed_in": TOKEN_COOKIE in request.cookies, **context}
    return TEMPLATES.TemplateResponse(request, template, full_context, status_code=status_code, headers=headers)
