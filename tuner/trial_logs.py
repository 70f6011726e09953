"""A trial's output: where its log files are, their last lines, and new lines as they are written.

With ``log_to_file=True``, Ray Tune 2.60 writes a trial's ``stdout`` and ``stderr`` into the trial's
working directory, a local folder under Ray's session directory
(``.../<experiment>/working_dirs/trial_<id>``) on the node that runs the trial. The recorder
stores that folder in the ``working_dir`` column. When the trial ends, the runner's artifact
sync copies the files into the trial folder in the storage. Command-line trainables also write
``process_output.log``. A log is read from the working directory when it is on this machine,
else from the trial folder in the storage.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs

from tuner.errors import InputError, NotFoundError
from tuner.store import ExperimentStore, trial_folder

# Log files in the order a request without a file name looks for them.
LOG_FILES = ("process_output.log", "stdout", "stderr")
_BLOCK_BYTES = 64 * 1024


@dataclass(frozen=True)
class LogFile:
    """One log file of a trial, the filesystem it is read from, and its size in bytes when found."""

    name: str
    path: str
    filesystem: pafs.FileSystem
    size: int = 0


def locate_log(store: ExperimentStore, row: dict[str, Any], name: str | None = None) -> LogFile:
    """Find the log ``name`` of the trial in ``row``, a trials-table row.

    Without a name, returns the first file of LOG_FILES with output besides Ray's marker line,
    else the first one present, because a trainable that writes only to stderr leaves stdout
    without output. Raises
    :class:`InputError` for a name outside LOG_FILES and :class:`NotFoundError` when the trial has
    no such log yet.
    """
    if name is not None and name not in LOG_FILES:
        raise InputError(f"log file must be one of {', '.join(LOG_FILES)}, got {name!r}")
    trial_id = row["trial_id"]
    present = []
    for candidate in [name] if name else LOG_FILES:
        found = _in_working_directory(store, trial_id, row.get("working_dir"), candidate)
        if found is None:
            found = _in_trial_folder(store, trial_id, candidate)
        if found is not None and _has_output(found):
            return found
        if found is not None:
            present.append(found)
    if present:
        return present[0]
    looked_for = name or ", ".join(LOG_FILES)
    raise NotFoundError(f"trial {trial_id} of experiment {store.name!r} has no log yet (looked for {looked_for})")


# Ray writes a line such as ":actor_name:keras_cnn" at the start of a worker's stdout and stderr.
_RAY_MARKER = re.compile(rb"^:(actor_name|task_name):")
_MARKER_CHECK_BYTES = 4096


def _has_output(log: LogFile) -> bool:
    """Return whether a log has lines besides Ray's marker lines."""
    if log.size == 0:
        return False
    if log.size > _MARKER_CHECK_BYTES:
        return True
    with log.filesystem.open_input_file(log.path) as handle:
        lines = handle.read().splitlines()
    return any(line.strip() and not _RAY_MARKER.match(line) for line in lines)


def _in_working_directory(store: ExperimentStore, trial_id: str, working_dir: Any, name: str) -> LogFile | None:
    """Return the log in the trial's working directory, if that folder is on this machine and looks like Ray's.

    The folder comes from the trials table, not from a request. It is accepted only when it is
    absolute and ends with ``<experiment>/working_dirs/trial_<id>``, and the file must resolve inside it.
    """
    if not isinstance(working_dir, str) or not os.path.isabs(working_dir):
        return None
    folder = Path(working_dir)
    if folder.parts[-3:] != (store.name, "working_dirs", trial_folder(trial_id)):
        return None
    real_folder = os.path.realpath(folder)
    real_path = os.path.realpath(folder / name)
    if not real_path.startswith(real_folder + os.sep) or not os.path.isfile(real_path):
        return None
    return LogFile(name, real_path, pafs.LocalFileSystem(), os.path.getsize(real_path))


def _in_trial_folder(store: ExperimentStore, trial_id: str, name: str) -> LogFile | None:
    stored = store.file_info(f"{trial_folder(trial_id)}/{name}")
    if stored is None:
        return None
    return LogFile(name, stored.path, store.filesystem()[0], stored.size)


@dataclass(frozen=True)
class LogTail:
    """The last lines of a log and the byte offset where following it should continue."""

    lines: list[str]
    next_offset: int


def tail_log(log: LogFile, n_lines: int, include_partial: bool = True) -> LogTail:
    """Read the last ``n_lines`` lines of ``log`` backwards in blocks, so a large log costs little.

    A last line without a newline is included when ``include_partial`` is true. ``next_offset``
    always points after the last complete line, so a follower prints that line once it ends.
    """
    with log.filesystem.open_input_file(log.path) as handle:
        size = handle.size()
        data = b""
        position = size
        while position > 0 and data.count(b"\n") <= n_lines:
            start = max(0, position - _BLOCK_BYTES)
            handle.seek(start)
            data = handle.read(position - start) + data
            position = start

    complete_end = data.rfind(b"\n") + 1
    partial = data[complete_end:]
    lines = data[:complete_end].decode("utf-8", errors="replace").splitlines()
    if include_partial and partial:
        lines.append(partial.decode("utf-8", errors="replace"))
    next_offset = size - len(partial)
    return LogTail(lines[-n_lines:] if n_lines else [], next_offset)


class LogFollower:
    """Reads the complete lines appended to a log since the last read.

    A log that shrinks, because it was truncated or replaced, is read again from its start. A
    line longer than ``max_read_bytes`` is returned in pieces, so one read never keeps more in memory.
    """

    def __init__(self, log: LogFile, offset: int, max_read_bytes: int = 1 << 20) -> None:
        self.log = log
        self.offset = offset
        self.max_read_bytes = max_read_bytes

    def read_new(self, include_partial: bool = False) -> str:
        """Read the complete new lines, each ending with a newline; empty when nothing new was written.

        With ``include_partial``, a last line without a newline is returned too, which suits the
        final read after the trial has ended.
        """
        try:
            with self.log.filesystem.open_input_file(self.log.path) as handle:
                size = handle.size()
                if size < self.offset:
                    self.offset = 0
                if size == self.offset:
                    return ""
                handle.seek(self.offset)
                data = handle.read(min(size - self.offset, self.max_read_bytes))
        except FileNotFoundError:
            return ""

        end = data.rfind(b"\n") + 1
        if include_partial or len(data) == self.max_read_bytes and end == 0:
            end = len(data)
        if end == 0:
            return ""
        chunk = data[:end]
        self.offset += len(chunk)
        return chunk.decode("utf-8", errors="replace")
