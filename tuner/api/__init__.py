"""The HTTP service: a JSON API under /api, OpenAPI at /docs and results pages at /."""

from tuner.api.app import create_app

__all__ = ["create_app"]
