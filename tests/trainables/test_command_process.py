"""Programs in their own process group: output, ending the group, and the watchdog."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.trainables.processes import running, wait_until_gone
from trainables.command_process import Ending, GroupProcess, OutputLog, live_group_members, run_until_done

REPO_ROOT = Path(__file__).resolve().parents[2]


class FakeFolder:
    """The part of a trial folder that run_until_done uses: whether a stop was requested."""

    def __init__(self, stop_after_checks: int | None = None) -> None:
        self.n_checks = 0
        self.stop_after_checks = stop_after_checks

    def stop_requested(self) -> bool:
        self.n_checks += 1
        return self.stop_after_checks is not None and self.n_checks >= self.stop_after_checks


def start(script: str, tmp_path: Path, kill_after_s: float = 5.0) -> tuple[GroupProcess, OutputLog]:
    log = OutputLog(tmp_path / "process_output.log")
    process = GroupProcess(["bash", "-c", script], tmp_path, dict(os.environ), log, kill_after_s)
    return process, log


def read_pid(process: GroupProcess) -> int:
    line = None
    while line is None:
        line = process.read_line(1.0)
    return int(line)


def test_stdout_lines_queued_and_both_streams_logged(tmp_path: Path) -> None:
    process, log = start("echo one; echo oops >&2; echo two", tmp_path)

    lines = []
    while not process.stdout_closed:
        line = process.read_line(1.0)
        if line is not None:
            lines.append(line)
    process.end()
    log.close()

    assert lines == ["one\n", "two\n"]
    assert sorted((tmp_path / "process_output.log").read_text().splitlines()) == ["one", "oops", "two"]
    assert sorted(log.tail().splitlines()) == ["one", "oops", "two"]
    assert process.returncode == 0


def test_end_stops_program_and_its_child(tmp_path: Path) -> None:
    process, log = start("sleep 1000 & echo $!; sleep 1000", tmp_path)
    child = read_pid(process)

    process.end()
    log.close()

    assert running([process.pgid, child]) == []
    assert process.returncode == -signal.SIGTERM
    assert live_group_members(process.pgid) == []


def test_program_ignoring_sigterm_is_killed(tmp_path: Path) -> None:
    process, log = start("trap '' TERM; sleep 1000 & echo $!; sleep 1000", tmp_path, kill_after_s=0.5)
    child = read_pid(process)

    process.end()
    log.close()

    assert running([process.pgid, child]) == []
    assert process.returncode == -signal.SIGKILL


def test_run_until_done_ends_child_left_holding_stdout(tmp_path: Path) -> None:
    process, log = start("sleep 1000 & echo $!", tmp_path)
    lines: list[str] = []

    ending = run_until_done(process, lines.append, None, FakeFolder())
    log.close()

    assert ending == Ending.EXITED
    assert process.returncode == 0
    assert running([int(lines[0])]) == []


def test_run_until_done_stops_at_deadline(tmp_path: Path) -> None:
    process, log = start("echo $$; sleep 1000", tmp_path)

    ending = run_until_done(process, lambda line: None, time.monotonic() + 0.5, FakeFolder())
    log.close()

    assert ending == Ending.TIMED_OUT
    assert running([process.pgid]) == []


def test_run_until_done_ends_group_on_stop_request(tmp_path: Path) -> None:
    process, log = start("sleep 1000 & echo $!; sleep 1000", tmp_path)
    lines: list[str] = []
    folder = FakeFolder(stop_after_checks=2)

    ending = run_until_done(process, lines.append, None, folder)
    log.close()

    assert ending == Ending.STOP_REQUESTED
    assert folder.n_checks == 2
    assert running([process.pgid, int(lines[0])]) == []


def test_missing_program_raises_os_error(tmp_path: Path) -> None:
    log = OutputLog(tmp_path / "process_output.log")

    with pytest.raises(FileNotFoundError):
        GroupProcess(["no-such-program-4711"], tmp_path, dict(os.environ), log, 1.0)
    log.close()


def test_watchdog_ends_group_when_owner_dies(tmp_path: Path) -> None:
    # The owner plays the Ray worker. It starts a program with a child, prints their process ids
    # and is then killed before it can end them.
    owner_script = textwrap.dedent(
        f"""
        import os, sys
        from pathlib import Path
        from trainables.command_process import GroupProcess, OutputLog
        log = OutputLog(Path({str(tmp_path)!r}) / "process_output.log")
        process = GroupProcess(["bash", "-c", "sleep 1000 & echo $!; sleep 1000"], Path({str(tmp_path)!r}),
                               dict(os.environ), log, 1.0)
        child = None
        while child is None:
            child = process.read_line(1.0)
        print(process.pgid, child.strip(), flush=True)
        sys.stdin.read()
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    owner = subprocess.Popen(
        [sys.executable, "-c", owner_script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True
    )
    assert owner.stdout is not None
    pids = [int(pid) for pid in owner.stdout.readline().split()]
    assert running(pids) == pids

    owner.kill()
    owner.wait()

    assert wait_until_gone(pids) == []
