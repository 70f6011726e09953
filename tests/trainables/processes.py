"""Checks of process ids for tests that end programs: which still run, and waiting for them to end."""

from __future__ import annotations

import time

import psutil


def running(pids: list[int]) -> list[int]:
    """The processes of ``pids`` that still run; an exited process waiting to be reaped does not."""
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            continue
    return alive


def wait_until_gone(pids: list[int], timeout_s: float = 15.0) -> list[int]:
    """Wait until none of ``pids`` runs, at most ``timeout_s`` seconds; return those still running.

    For endings that happen in another process, such as the watchdog's, whose moment a test
    cannot observe directly.
    """
    deadline = time.monotonic() + timeout_s
    while running(pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return running(pids)
