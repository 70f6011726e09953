"""Read search spaces saved as ConfigSpace JSON."""

from __future__ import annotations

import json
from pathlib import Path

from search_spaces.model import SearchSpace, configspace_from_json
from tuner.errors import SpaceError


def space_from_json(path: Path) -> SearchSpace:
    """Load a ConfigSpace JSON file, raising :class:`SpaceError` on unreadable or invalid content."""
    try:
        text = path.read_text(encoding="utf-8")
        json.loads(text)
    except FileNotFoundError:
        raise SpaceError(f"{path}: file not found") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SpaceError(f"{path}: invalid JSON: {error}") from None
    try:
        configspace = configspace_from_json(text)
    except (KeyError, ValueError, TypeError) as error:
        raise SpaceError(f"{path}: not a ConfigSpace JSON space: {error}") from None
    return SearchSpace(configspace, str(path))
