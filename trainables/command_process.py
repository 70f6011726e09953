"""Run a program in a process group of its own, log its output live and end the whole group.

The program starts a new session, so it and every process it starts share one process group
that can be signalled at once. Ending the group sends SIGTERM, waits up to ``kill_after_s``
seconds for every member to exit, then sends SIGKILL. A watchdog process (see
``command_watchdog.py``) ends the group too if the trial process dies before it could.
:func:`run_until_done` waits for a program while watching the time limit and stop requests.
Sessions, process groups and ``fork`` make this POSIX only (Linux and macOS).
"""

from __future__ import annotations

import collections
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Protocol

import psutil

logger = logging.getLogger(__name__)

WATCHDOG_SCRIPT = Path(__file__).resolve().with_name("command_watchdog.py")
# Byte written to the watchdog once the group has been ended, so that it exits without signalling.
WATCHDOG_RELEASE = b"d"
GROUP_POLL_S = 0.05
# Seconds to wait for members to exit after SIGKILL, which cannot be caught. Only a process in
# uninterruptible sleep takes longer.
KILLED_WAIT_S = 2.0
READER_JOIN_S = 2.0
# Seconds between checks for a stop request while a program runs.
STOP_POLL_S = 0.5


class OutputLog:
    """The log of a trial's programs: standard output and error, written line by line as they come.

    Each line is flushed when written, so the file can be followed while the program runs. The
    last ``n_tail_lines`` lines are kept for error messages.
    """

    def __init__(self, path: Path, n_tail_lines: int = 20) -> None:
        self.path = path
        self._file = path.open("ab", buffering=0)
        self._lock = threading.Lock()
        self._tail: collections.deque[str] = collections.deque(maxlen=n_tail_lines)

    def write_line(self, data: bytes) -> None:
        """Append one line as the program wrote it."""
        with self._lock:
            if self._file.closed:
                return
            self._file.write(data if data.endswith(b"\n") else data + b"\n")
            self._tail.append(data.decode("utf-8", errors="replace").rstrip("\r\n"))

    def write_note(self, text: str) -> None:
        """Append a line of the tuner's own, marked ``[tuner]`` and left out of :meth:`tail`."""
        with self._lock:
            if not self._file.closed:
                self._file.write(f"[tuner] {text}\n".encode())

    def tail(self) -> str:
        """Return the last lines written, oldest first."""
        with self._lock:
            return "\n".join(self._tail)

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._file.close()


class GroupProcess:
    """A running program, the leader of its own process group.

    Lines of standard output are queued for :meth:`read_line`; both streams go to ``log``.
    """

    def __init__(
        self, argv: Sequence[str], cwd: Path, env: dict[str, str], log: OutputLog, kill_after_s: float
    ) -> None:
        self.argv = list(argv)
        self.kill_after_s = kill_after_s
        self._log = log
        self._lines: queue.Queue[bytes | None] = queue.Queue()
        self.stdout_closed = False
        self.process = subprocess.Popen(
            self.argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.pgid = self.process.pid
        self._watchdog_pipe = self._start_watchdog()
        self._readers = [
            threading.Thread(target=self._read_stdout, name=f"stdout-{self.pgid}", daemon=True),
            threading.Thread(target=self._read_stderr, name=f"stderr-{self.pgid}", daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _start_watchdog(self) -> IO[bytes] | None:
        read_end, write_end = os.pipe()
        try:
            starter = subprocess.Popen(
                [sys.executable, "-I", str(WATCHDOG_SCRIPT), str(self.pgid), str(self.kill_after_s)],
                stdin=read_end,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            # The watchdog forks and its first process exits at once; reap that one.
            starter.wait()
        except OSError as error:
            os.close(write_end)
            logger.warning(
                "could not start the watchdog of process group %d (%s); if this trial process dies, "
                "the program's processes may outlive it",
                self.pgid, error,
            )
            return None
        finally:
            os.close(read_end)
        return os.fdopen(write_end, "wb", buffering=0)

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        for data in iter(self.process.stdout.readline, b""):
            self._log.write_line(data)
            self._lines.put(data)
        self._lines.put(None)

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for data in iter(self.process.stderr.readline, b""):
            self._log.write_line(data)

    def read_line(self, timeout_s: float) -> str | None:
        """Return the next line of standard output, or ``None`` when none came within ``timeout_s``.

        After the last line, :attr:`stdout_closed` is true and this returns ``None`` at once.
        """
        if self.stdout_closed:
            return None
        try:
            data = self._lines.get(timeout=timeout_s)
        except queue.Empty:
            return None
        if data is None:
            self.stdout_closed = True
            return None
        return data.decode("utf-8", errors="replace")

    def has_exited(self) -> bool:
        """Return whether the program itself has exited, even if processes it started still run."""
        return self.process.poll() is not None

    @property
    def returncode(self) -> int | None:
        """The program's exit status, negative for a signal, ``None`` while it runs."""
        return self.process.returncode

    def end(self) -> None:
        """End every process of the group: SIGTERM, then SIGKILL after ``kill_after_s`` seconds.

        Then reap the program, wait for the output readers and release the watchdog. Safe to
        call more than once.
        """
        if self._group_is_alive():
            self._signal_group(signal.SIGTERM)
            if not self._wait_group_gone(self.kill_after_s):
                logger.info("process group %d still runs %g s after SIGTERM; sending SIGKILL", self.pgid, self.kill_after_s)
                self._signal_group(signal.SIGKILL)
                if not self._wait_group_gone(KILLED_WAIT_S):
                    logger.warning("process group %d still has processes after SIGKILL", self.pgid)
        self.process.wait()
        for reader in self._readers:
            reader.join(READER_JOIN_S)
        self._release_watchdog()

    def _release_watchdog(self) -> None:
        if self._watchdog_pipe is None:
            return
        try:
            self._watchdog_pipe.write(WATCHDOG_RELEASE)
        except BrokenPipeError:
            logger.debug("the watchdog of process group %d had already exited", self.pgid)
        finally:
            self._watchdog_pipe.close()
            self._watchdog_pipe = None

    def _signal_group(self, signal_number: int) -> None:
        try:
            os.killpg(self.pgid, signal_number)
        except ProcessLookupError:
            pass

    def _wait_group_gone(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while self._group_is_alive():
            if time.monotonic() >= deadline:
                return False
            time.sleep(GROUP_POLL_S)
        return True

    def _group_is_alive(self) -> bool:
        """Return whether any process of the group runs; zombies waiting to be reaped do not count."""
        # Reaping the program first keeps it from counting as a member. Its group id stays
        # reserved while any other member lives, so no other group can take the id meanwhile.
        self.process.poll()
        return bool(live_group_members(self.pgid))


class StopRequests(Protocol):
    """Where a running trial looks for a request to stop it."""

    def stop_requested(self) -> bool:
        """Return whether a stop of the trial has been requested."""


class Ending:
    """Why the tuner stopped waiting for a program."""

    EXITED = "exited"
    TIMED_OUT = "timed out"
    STOP_REQUESTED = "stop requested"


def run_until_done(
    process: GroupProcess, on_line: Callable[[str], None], deadline: float | None, stop_requests: StopRequests
) -> str:
    """Feed every line of standard output to ``on_line`` until the program and its output end.

    Returns an :class:`Ending`. On the time limit or a stop request the process group is ended.
    """
    next_stop_check = time.monotonic() + STOP_POLL_S
    while True:
        line = process.read_line(STOP_POLL_S)
        if line is not None:
            on_line(line)
        elif process.stdout_closed:
            process.end()
            return Ending.EXITED
        elif process.has_exited():
            # The program is gone but processes it started still hold its standard output.
            process.end()

        now = time.monotonic()
        if deadline is not None and now >= deadline:
            process.end()
            return Ending.TIMED_OUT
        if now >= next_stop_check:
            next_stop_check = now + STOP_POLL_S
            if stop_requests.stop_requested():
                process.end()
                return Ending.STOP_REQUESTED


def live_group_members(pgid: int) -> list[int]:
    """Return the ids of the processes of group ``pgid`` that have not exited."""
    members = []
    for process in psutil.process_iter(["status"]):
        try:
            if os.getpgid(process.pid) == pgid and process.info["status"] != psutil.STATUS_ZOMBIE:
                members.append(process.pid)
        except (ProcessLookupError, PermissionError):
            continue
    return members
