"""The service's token: loading or generating it, finding it in a request, and comparing it in constant time."""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from pathlib import Path

from fastapi import Request

from tuner.errors import InputError

TOKEN_COOKIE = "tuner_token"
MIN_TOKEN_LENGTH = 16


def generate_token() -> str:
    """Generate a new random token: 32 random bytes, URL-safe base64."""
    return secrets.token_urlsafe(32)


def load_token(path: Path) -> str:
    """Read the token from ``path``; surrounding whitespace is ignored.

    Raises :class:`InputError` when the file cannot be read or contains fewer than
    MIN_TOKEN_LENGTH characters.
    """
    try:
        token = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"--token-file {path}: cannot read the token: {error}") from None
    if len(token) < MIN_TOKEN_LENGTH:
        raise InputError(
            f"--token-file {path}: the token must be at least {MIN_TOKEN_LENGTH} characters, got {len(token)}"
        )
    return token


def is_loopback(host: str) -> bool:
    """Tell whether ``host`` is a loopback address or ``localhost``; any other name counts as reachable from outside."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def presented_token(request: Request) -> str | None:
    """Return the token a request carries: an ``Authorization: Bearer`` header, else the results pages' cookie."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        return value.strip() if scheme.lower() == "bearer" else None
    return request.cookies.get(TOKEN_COOKIE)


def token_matches(expected: str, presented: str) -> bool:
    """Compare two tokens in constant time, so response times do not reveal how much of a guess was right."""
    return hmac.compare_digest(expected.encode("utf-8"), presented.encode("utf-8"))
