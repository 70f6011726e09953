"""Read SMAC's parameter configuration space (PCS) files, in the classic and the newer syntax.

Classic syntax, one declaration per line::

    filters [16, 256] [32]il          # range, default in brackets; i: integer, l: log scale
    dropout [0.0, 0.5] [0.25]
    pool {max, average} [max]         # categorical with its default
    pool_size | pool in {max}         # condition: pool_size is active only when pool is max
    {pool=average, dropout=0.5}       # forbidden combination

Newer syntax: ``name integer [16, 256] [32] log``, ``name real [0, 1] [0.5]``,
``name categorical {a, b} [a]``, ``name ordinal {1, 2, 3} [1]`` and conditions such as
``child | parent == value``; several conditions joined by ``&&`` must all hold.

Values are typed as in the YAML format: ``2`` is an integer, ``0.5`` and ``1e-3`` are floats and
anything else is a string, so a PCS file and a YAML file describing the same space load to the
same model. ``#`` starts a comment.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from search_spaces.model import SearchSpace
from search_spaces.yaml_format import space_from_mapping
from tuner.errors import SpaceError

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_CLASSIC_RANGE = re.compile(
    rf"^(?P<name>{_NAME})\s*\[(?P<low>[^,\]]+),(?P<high>[^\]]+)\]\s*\[(?P<default>[^\]]+)\]\s*(?P<flags>[il]*)$"
)
_NEW_RANGE = re.compile(
    rf"^(?P<name>{_NAME})\s+(?P<kind>integer|real)\s*\[(?P<low>[^,\]]+),(?P<high>[^\]]+)\]"
    rf"\s*(?:\[(?P<default>[^\]]+)\])?\s*(?P<log>log)?$"
)
_CHOICES = re.compile(
    rf"^(?P<name>{_NAME})\s+(?:(?P<kind>categorical|ordinal)\s*)?\{{(?P<values>[^}}]*)\}}\s*(?:\[(?P<default>[^\]]+)\])?$"
)
_CLASSIC_CHOICES = re.compile(rf"^(?P<name>{_NAME})\s*\{{(?P<values>[^}}]*)\}}\s*(?:\[(?P<default>[^\]]+)\])?$")
_CONDITION = re.compile(rf"^(?P<child>{_NAME})\s*\|\s*(?P<clauses>.+)$")
_CLAUSE_IN = re.compile(rf"^(?P<parent>{_NAME})\s+in\s+\{{(?P<values>[^}}]*)\}}$")
_CLAUSE_EQUALS = re.compile(rf"^(?P<parent>{_NAME})\s*==\s*(?P<value>.+)$")
_FORBIDDEN = re.compile(r"^\{(?P<pairs>[^}]*)\}$")
_INTEGER = re.compile(r"^[-+]?\d+$")
_FLOAT = re.compile(r"^[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?$")


def parse_value(token: str) -> Any:
    """Type a PCS value: integer, float, or string (quotes removed)."""
    token = token.strip()
    if len(token) >= 2 and token[0] == token[-1] and token[0] in "'\"":
        return token[1:-1]
    if _INTEGER.match(token):
        return int(token)
    if _FLOAT.match(token):
        return float(token)
    return token


def _split_values(text: str) -> list[Any]:
    return [parse_value(item) for item in text.split(",") if item.strip()]


def space_from_pcs(path: Path) -> SearchSpace:
    """Load a PCS file into a :class:`SearchSpace`; errors name the file and the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpaceError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise SpaceError(f"{path}: not UTF-8 text") from None
    return space_from_pcs_text(text, str(path))


def space_from_pcs_text(text: str, source: str) -> SearchSpace:
    """Parse PCS text; ``source`` names it in error messages."""
    hyperparameters: dict[str, dict[str, Any]] = {}
    conditions: list[dict[str, Any]] = []
    forbidden: list[dict[str, Any]] = []
    lines: dict[str, int] = {}

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        where = f"{source}:{number}"
        if line.startswith("{"):
            forbidden.append(_forbidden(line, where))
            lines[f"forbidden[{len(forbidden) - 1}]"] = number
        elif "|" in line:
            for condition in _conditions(line, where):
                lines[f"conditions[{len(conditions)}]"] = number
                conditions.append(condition)
        else:
            name, definition = _hyperparameter(line, where)
            if name in hyperparameters:
                raise SpaceError(f"{where}: {name} is declared twice (first on line {lines[name]})")
            hyperparameters[name] = definition
            lines[name] = number

    if not hyperparameters:
        raise SpaceError(f"{source}: no hyperparameters declared")
    try:
        return space_from_mapping(
            {"hyperparameters": hyperparameters, "conditions": conditions, "forbidden": forbidden}, source
        )
    except SpaceError as error:
        raise SpaceError(_with_line(str(error), source, lines)) from None


def _with_line(message: str, source: str, lines: dict[str, int]) -> str:
    """Point a model error (``source: hyperparameters.x...``) at the line that declared ``x``."""
    match = re.match(rf"^{re.escape(source)}: (?:hyperparameters\.)?(?P<key>{_NAME}(?:\[\d+\])?)", message)
    if match and match.group("key") in lines:
        return f"{source}:{lines[match.group('key')]}: {match.group('key')}{message[match.end():]}"
    return message


def _hyperparameter(line: str, where: str) -> tuple[str, dict[str, Any]]:
    for pattern in (_NEW_RANGE, _CLASSIC_RANGE):
        match = pattern.match(line)
        if match:
            return match.group("name"), _range(match, where)
    match = _CHOICES.match(line) or _CLASSIC_CHOICES.match(line)
    if match:
        values = _split_values(match.group("values"))
        if not values:
            raise SpaceError(f"{where}: {match.group('name')} has no values between the braces")
        kind = "ordinal" if match.groupdict().get("kind") == "ordinal" else "categorical"
        definition: dict[str, Any] = {"type": kind, "choices": values}
        if match.group("default") is not None:
            definition["default"] = parse_value(match.group("default"))
        return match.group("name"), definition
    raise SpaceError(
        f"{where}: cannot read {line!r}; expected a range 'name [low, high] [default]' with optional i/l flags, "
        "choices 'name {a, b} [default]', a condition 'child | parent in {a, b}' or a forbidden clause '{a=1, b=2}'"
    )


def _range(match: re.Match[str], where: str) -> dict[str, Any]:
    groups = match.groupdict()
    integer = groups.get("kind") == "integer" or "i" in (groups.get("flags") or "")
    log = bool(groups.get("log")) or "l" in (groups.get("flags") or "")
    bounds = []
    for key in ("low", "high"):
        value = parse_value(groups[key])
        if isinstance(value, str):
            raise SpaceError(f"{where}: {groups['name']}: {key} must be a number, got {groups[key].strip()!r}")
        bounds.append(value)
    definition: dict[str, Any] = {"type": "int" if integer else "float", "low": bounds[0], "high": bounds[1], "log": log}
    if groups.get("default") is not None:
        definition["default"] = parse_value(groups["default"])
    if integer:
        for key in ("low", "high", "default"):
            value = definition.get(key)
            if isinstance(value, float) and value.is_integer():
                definition[key] = int(value)
    else:
        for key in ("low", "high", "default"):
            if isinstance(definition.get(key), int):
                definition[key] = float(definition[key])
    return definition


def _conditions(line: str, where: str) -> list[dict[str, Any]]:
    match = _CONDITION.match(line)
    if not match:
        raise SpaceError(f"{where}: cannot read condition {line!r}; expected 'child | parent in {{a, b}}'")
    if "||" in match.group("clauses"):
        raise SpaceError(f"{where}: '||' in conditions is not supported; only '&&' (all must hold)")
    result = []
    for clause in match.group("clauses").split("&&"):
        clause = clause.strip()
        in_match = _CLAUSE_IN.match(clause)
        equals_match = _CLAUSE_EQUALS.match(clause)
        if in_match:
            parent, values = in_match.group("parent"), _split_values(in_match.group("values"))
        elif equals_match:
            parent, values = equals_match.group("parent"), [parse_value(equals_match.group("value"))]
        else:
            raise SpaceError(f"{where}: cannot read condition clause {clause!r}; expected 'parent in {{a, b}}' or 'parent == a'")
        result.append({"hyperparameter": match.group("child"), "parent": parent, "values": values})
    return result


def _forbidden(line: str, where: str) -> dict[str, Any]:
    match = _FORBIDDEN.match(line)
    if not match:
        raise SpaceError(f"{where}: cannot read forbidden clause {line!r}; expected '{{name=value, name=value}}'")
    combination: dict[str, Any] = {}
    for pair in match.group("pairs").split(","):
        name, separator, value = pair.partition("=")
        if not separator or not name.strip() or not value.strip():
            raise SpaceError(f"{where}: cannot read {pair.strip()!r} in a forbidden clause; expected name=value")
        combination[name.strip()] = parse_value(value)
    return combination
