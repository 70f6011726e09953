"""Search spaces: the model, its file formats and the shipped spaces."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from search_spaces.model import SearchSpace, same_value, to_native
from search_spaces.yaml_format import space_from_mapping
from tuner.errors import SpaceError
from tuner.yamlio import read_yaml

SHIPPED_DIR = Path(__file__).resolve().parent

__all__ = ["SearchSpace", "load_space", "same_value", "shipped_space_names", "to_native"]


def shipped_space_names() -> list[str]:
    """Names of the spaces shipped with the package, usable as ``space: NAME`` in an experiment."""
    return sorted(path.stem for path in SHIPPED_DIR.glob("*.yaml"))


def load_space(reference: str | dict[str, Any], base_dir: Path, source: str = "space") -> SearchSpace:
    """Load a search space from an inline mapping, a file path or the name of a shipped space.

    A relative path is resolved against ``base_dir`` (the folder of the experiment file). Files
    ending in ``.yaml`` or ``.yml`` are read as this project's YAML format and ``.json`` as
    ConfigSpace JSON.
    """
    if isinstance(reference, dict):
        return space_from_mapping(reference, source)
    if not isinstance(reference, str) or not reference:
        raise SpaceError(f"{source} must be a file path, a shipped space name or a mapping, got {reference!r}")

    if reference in shipped_space_names():
        path = SHIPPED_DIR / f"{reference}.yaml"
    else:
        path = Path(reference).expanduser()
        if not path.is_absolute():
            path = base_dir / path
        if not path.exists():
            shipped = ", ".join(shipped_space_names())
            raise SpaceError(f"{source}: file {path} not found, and {reference!r} is not a shipped space ({shipped})")
    return load_space_file(path)


def load_space_file(path: Path) -> SearchSpace:
    """Read a search-space file, choosing the format by its suffix."""
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return space_from_mapping(read_yaml(path), str(path))
    if suffix == ".pcs":
        from search_spaces.pcs_format import space_from_pcs

        return space_from_pcs(path)
    if suffix == ".json":
        from search_spaces.json_format import space_from_json

        return space_from_json(path)
    raise SpaceError(f"{path}: unknown search-space format {suffix!r}; use .yaml, .yml, .pcs or .json")
