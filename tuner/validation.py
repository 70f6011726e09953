"""Turn pydantic validation errors into one message that names the file, the field and the value."""

from __future__ import annotations

from typing import Any

import pydantic

_KIND_WORDS = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "string_type": "a string",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
    "tuple_type": "a list",
}


def field_path(loc: tuple[Any, ...]) -> str:
    """Join a pydantic location into ``a.b[2].c``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def _allowed_keys(model: type[pydantic.BaseModel], loc: tuple[Any, ...]) -> list[str] | None:
    """Walk ``model`` along ``loc`` (without its last part) and list the fields found there."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int) or not (isinstance(current, type) and issubclass(current, pydantic.BaseModel)):
            return None
        field = current.model_fields.get(part)
        if field is None:
            return None
        current = _model_in_annotation(field.annotation)
        if current is None:
            return None
    if isinstance(current, type) and issubclass(current, pydantic.BaseModel):
        return [field.alias or name for name, field in current.model_fields.items()]
    return None


def _model_in_annotation(annotation: Any) -> type[pydantic.BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return annotation
    for argument in getattr(annotation, "__args__", ()) or ():
        found = _model_in_annotation(argument)
        if found is not None:
            return found
    return None


def describe_error(error: dict[str, Any], model: type[pydantic.BaseModel] | None = None) -> str:
    """Describe one pydantic error as ``field: what is wrong, got value``."""
    loc = tuple(error["loc"])
    kind = error["type"]
    value = error.get("input")
    path = field_path(loc)
    context = error.get("ctx") or {}

    if kind == "missing":
        return f"{path} is required but missing"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, loc) if model is not None else None
        known = f" (allowed: {', '.join(allowed)})" if allowed else ""
        return f"{path} is not a known key{known}"
    if kind in _KIND_WORDS:
        return f"{path} must be {_KIND_WORDS[kind]}, got {value!r}"
    if kind == "string_too_short" and context.get("min_length") == 1:
        return f"{path} must not be empty, got {value!r}"
    if kind == "union_type":
        return f"{path} must be {' or '.join(context['words'])}, got {value!r}"
    if kind == "literal_error":
        return f"{path} must be one of {context.get('expected')}, got {value!r}"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        sign = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}[kind]
        bound = next(iter(context.values()), "?")
        if isinstance(bound, float) and bound.is_integer():
            bound = int(bound)
        return f"{path} must be {sign} {bound}, got {value!r}"
    if kind == "value_error":
        message = str(context.get("error") or error.get("msg"))
        return f"{path}: {message}" if loc else message
    return f"{path}: {error.get('msg')}, got {value!r}"


def format_validation_error(
    error: pydantic.ValidationError, source: str, model: type[pydantic.BaseModel] | None = None
) -> str:
    """Format every error of ``error`` on its own line, each prefixed by ``source``.

    A value that matches no member of a union, such as ``space: 42`` for ``str | dict``, gives
    one line naming every allowed type.
    """
    lines = [f"{source}: {describe_error(item, model)}" for item in _merge_union_errors(error.errors())]
    return "\n".join(lines)


_BASIC_TYPE_NAMES = frozenset({"str", "int", "float", "bool", "none"})


def _is_union_member(loc: tuple[Any, ...]) -> bool:
    """Return whether ``loc`` ends in the name pydantic gives a union member, such as ``dict[str,any]``.

    Field names here are lowercase words, while members are type names, generic types or models.
    """
    if len(loc) < 2 or not isinstance(loc[-1], str):
        return False
    part = loc[-1]
    return part in _BASIC_TYPE_NAMES or "[" in part or part[:1].isupper()


def _merge_union_errors(errors: list[Any]) -> list[Any]:
    """Replace the type errors of one value against each union member by one error naming all types.

    Pydantic reports such a value once per member, at ``loc`` plus the member's name.
    """
    merged: list[Any] = []
    for error in errors:
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and error["type"] in _KIND_WORDS
            and _is_union_member(error["loc"])
            and (
                previous["type"] == "union_type"
                or (previous["type"] in _KIND_WORDS and _is_union_member(previous["loc"]))
            )
            and tuple(previous["loc"][: len(error["loc"]) - 1]) == tuple(error["loc"][:-1])
            and previous.get("input") is error.get("input")
        ):
            words = previous.get("ctx", {}).get("words") or [_KIND_WORDS[previous["type"]]]
            if _KIND_WORDS[error["type"]] not in words:
                words = [*words, _KIND_WORDS[error["type"]]]
            merged[-1] = {
                "type": "union_type",
                "loc": tuple(error["loc"][:-1]),
                "input": error.get("input"),
                "ctx": {"words": words},
            }
        else:
            merged.append(error)
    return merged
