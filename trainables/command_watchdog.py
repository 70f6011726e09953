"""End a trial's process group if the trial process dies first.

Usage: ``python command_watchdog.py PGID KILL_AFTER_S`` with standard input connected to a pipe
whose write end only the trial process has open. The trial process writes ``d`` once it has
ended the group itself, and the watchdog exits. End of input without ``d`` means that the trial
process died: Ray ended the worker, or the driver ended and took Ray with it. The watchdog then
sends SIGTERM to the group, waits up to KILL_AFTER_S seconds for it to empty, and sends SIGKILL.

This file runs as a script with only the standard library, so it starts fast and imports
nothing of the project.
"""

from __future__ import annotations

import os
import signal
import sys
import time

RELEASE = b"d"
POLL_S = 0.1


def group_exists(pgid: int) -> bool:
    """Return whether any process, a zombie included, is still in the group."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def end_group(pgid: int, kill_after_s: float) -> None:
    """Send SIGTERM to the group, then SIGKILL once ``kill_after_s`` seconds have passed."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + kill_after_s
    while group_exists(pgid) and time.monotonic() < deadline:
        time.sleep(POLL_S)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def main(argv: list[str]) -> int:
    pgid, kill_after_s = int(argv[1]), float(argv[2])
    # Fork so that the watchdog is not a child of the trial process, because Ray 2.60 can kill a
    # worker's child processes when the worker exits (RAY_kill_child_processes_on_worker_exit).
    if os.fork() > 0:
        return 0
    message = b""
    while True:
        try:
            data = os.read(0, 1)
        except InterruptedError:
            continue
        if not data:
            break
        message += data
    if RELEASE not in message:
        end_group(pgid, kill_after_s)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
