"""Metrics from what a command-line trainable prints: the line formats and how lines become results.

Standard output is read line by line. A line is a metric line in one of three forms:

- ``name value``: exactly two words, the second a number (``val_accuracy 0.95``);
- ``name=value`` or ``name: value`` items separated by spaces or commas
  (``epoch=3 val_accuracy=0.95``, ``epoch: 3, loss: 0.21``);
- the line SMAC wrappers print,
  ``Result of this algorithm run: <status>, <runtime>, <runlength>, <quality>, <seed>``.

Names are Python identifiers. A value is a number as Python's ``float`` reads it (``0.95``,
``1e-3``, ``nan``); a value written as an integer stays an integer. Any other line is ignored,
except that a line made only of ``name=value`` or ``name: value`` items whose value is not a number,
or a malformed SMAC line, is logged once as a warning and ignored.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

# A line carrying one of these names is an intermediate result, reported as soon as it is read.
PROGRESS_NAMES = ("epoch", "step", "training_iteration")

# SMAC statuses: SAT (or SUCCESS) is a successful run, UNSAT an infeasible configuration, and
# the others are failed runs.
SUCCESS_STATUSES = ("SAT", "SUCCESS")
FAILURE_STATUSES = ("UNSAT", "TIMEOUT", "CRASHED", "ABORT", "MEMOUT")

_NAME = r"[^\W\d]\w*"
_ITEM = rf"({_NAME})(?:\s*=\s*|:\s+)([^\s,]+)"
_ITEMS_LINE = re.compile(rf"{_ITEM}(?:[\s,]+{_ITEM})*[\s,]*")
_ITEM_PATTERN = re.compile(_ITEM)
_NAME_VALUE_LINE = re.compile(rf"({_NAME})\s+(\S+)")
_SMAC_PREFIX = re.compile(r"Result of this algorithm run:\s*", re.IGNORECASE)
_INTEGER = re.compile(r"[-+]?\d+")
_MAX_WARNINGS = 10


class MetricLineError(ValueError):
    """A line that looks like metrics but cannot be read as them."""


@dataclass(frozen=True)
class MetricLine:
    """Metrics read from one line; ``is_progress`` when it carries epoch, step or training_iteration."""

    metrics: dict[str, int | float]

    @property
    def is_progress(self) -> bool:
        """Whether the line is an intermediate result."""
        return any(name in self.metrics for name in PROGRESS_NAMES)


@dataclass(frozen=True)
class SmacResult:
    """The fields of a SMAC wrapper's result line."""

    status: str
    runtime: float
    runlength: float
    quality: float
    seed: int


def parse_number(text: str) -> int | float:
    """Read an integer or a float; raise :class:`ValueError` for anything else."""
    if _INTEGER.fullmatch(text):
        return int(text)
    return float(text)


def parse_output_line(line: str) -> MetricLine | SmacResult | None:
    """Read one line of output; ``None`` for a line that is not a metric line.

    Raises :class:`MetricLineError` for a line shaped like metrics whose values do not parse.
    """
    text = line.strip()
    smac_prefix = _SMAC_PREFIX.match(text)
    if smac_prefix:
        return _parse_smac_fields(text[smac_prefix.end():])

    if _ITEMS_LINE.fullmatch(text):
        metrics: dict[str, int | float] = {}
        for name, value in _ITEM_PATTERN.findall(text):
            try:
                metrics[name] = parse_number(value)
            except ValueError:
                raise MetricLineError(f"{name}: {value!r} is not a number") from None
        return MetricLine(metrics)

    name_value = _NAME_VALUE_LINE.fullmatch(text)
    if name_value:
        try:
            return MetricLine({name_value.group(1): parse_number(name_value.group(2))})
        except ValueError:
            # Two words of prose, such as "Training started".
            return None
    return None


def _parse_smac_fields(text: str) -> SmacResult:
    fields = [part.strip() for part in text.split(",")]
    if len(fields) < 5:
        raise MetricLineError(
            f"a SMAC result needs 5 comma-separated fields (status, runtime, runlength, quality, seed), got {len(fields)}"
        )
    status = fields[0].upper()
    if status not in SUCCESS_STATUSES + FAILURE_STATUSES:
        allowed = ", ".join(SUCCESS_STATUSES + FAILURE_STATUSES)
        raise MetricLineError(f"SMAC status must be one of {allowed}, got {fields[0]!r}")
    try:
        runtime, runlength, quality = (float(value) for value in fields[1:4])
        seed = int(fields[4])
    except ValueError as error:
        raise MetricLineError(f"SMAC fields must be numbers: {error}") from None
    return SmacResult(status, runtime, runlength, quality, seed)


@dataclass
class MetricCollector:
    """Turn output lines into results for Ray Tune.

    A line that carries epoch, step or training_iteration is an intermediate result. Together
    with the metrics printed since the previous result, :meth:`add_line` returns it to be
    reported at once. Every result contains the experiment's ``metric``, so a progress line that
    would give a result without it is kept for the next result instead, with one warning.
    Metrics printed after the last progress line form the final result (:meth:`final_result`).
    A SAT line from a SMAC wrapper gives ``metric`` the run's quality. Warnings go to this module's
    logger and, when given, to ``on_warning`` as well.
    """

    metric: str
    on_warning: Callable[[str], None] | None = None
    pending: dict[str, int | float] = field(default_factory=dict)
    n_results: int = 0
    last_metric_value: int | float | None = None
    smac_status: str | None = None
    n_lines: int = 0
    _warned_lines: set[str] = field(default_factory=set)
    _warned_progress_without_metric: bool = False

    def add_line(self, line: str) -> dict[str, int | float] | None:
        """Read one line of standard output; return a result to report now, or ``None``."""
        self.n_lines += 1
        try:
            parsed = parse_output_line(line)
        except MetricLineError as error:
            self._warn_unparsed(line, str(error))
            return None
        if parsed is None:
            return None
        if isinstance(parsed, SmacResult):
            self._add_smac_result(parsed)
            return None

        self.pending.update(parsed.metrics)
        if not parsed.is_progress:
            return None
        if self.metric not in self.pending:
            self._warn_progress_without_metric(line)
            return None
        return self._take_result()

    def add_final_lines(self, lines: list[str]) -> None:
        """Read lines whose metrics belong to the final result, such as a post-processing command's output."""
        for line in lines:
            try:
                parsed = parse_output_line(line)
            except MetricLineError as error:
                self._warn_unparsed(line, str(error))
                continue
            if isinstance(parsed, SmacResult):
                self._add_smac_result(parsed)
            elif parsed is not None:
                self.pending.update(parsed.metrics)

    def final_result(self) -> dict[str, int | float] | None:
        """Return the metrics printed after the last reported result, or ``None`` when there are none.

        Ray Tune needs the experiment's metric in every result, so the last reported value of
        ``metric`` is added when these lines lack it. Without any value of it, ``None``.
        """
        if not self.pending:
            return None
        if self.metric not in self.pending:
            if self.last_metric_value is None:
                return None
            self.pending[self.metric] = self.last_metric_value
        return self._take_result()

    def _take_result(self) -> dict[str, int | float]:
        # Ray Tune counts training_iteration itself, one per reported result.
        result = {name: value for name, value in self.pending.items() if name != "training_iteration"}
        self.pending.clear()
        self.n_results += 1
        self.last_metric_value = result[self.metric]
        return result

    def _add_smac_result(self, result: SmacResult) -> None:
        self.smac_status = result.status
        if result.status in SUCCESS_STATUSES:
            self.pending.update(
                {self.metric: result.quality, "quality": result.quality, "runtime": result.runtime,
                 "runlength": result.runlength}
            )

    def _warn_unparsed(self, line: str, reason: str) -> None:
        text = line.rstrip("\r\n")
        if text in self._warned_lines or len(self._warned_lines) > _MAX_WARNINGS:
            return
        self._warned_lines.add(text)
        if len(self._warned_lines) > _MAX_WARNINGS:
            self._warn("more output lines look like metrics but do not parse; further ones are not logged")
            return
        self._warn(f"output line {self.n_lines} looks like metrics but does not parse ({reason}), so it is ignored: {text!r}")

    def _warn_progress_without_metric(self, line: str) -> None:
        if self._warned_progress_without_metric:
            return
        self._warned_progress_without_metric = True
        text = line.rstrip("\r\n")
        self._warn(
            f"output line {self.n_lines} carries epoch, step or training_iteration but no {self.metric}, so it is "
            f"not reported as a result on its own; print the experiment's metric on the same line, or before it: {text!r}"
        )

    def _warn(self, message: str) -> None:
        logger.warning("%s", message)
        if self.on_warning is not None:
            self.on_warning(message)

