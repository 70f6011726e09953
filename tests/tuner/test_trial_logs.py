"""Trial logs: finding them, their last lines, and following new lines."""

from __future__ import annotations

from pathlib import Path

import pyarrow.fs as pafs
import pytest

from tuner.errors import InputError, NotFoundError
from tuner.store import ExperimentStore
from tuner.trial_logs import LogFile, LogFollower, locate_log, tail_log


def _log(path: Path) -> LogFile:
    return LogFile(path.name, str(path), pafs.LocalFileSystem())


@pytest.fixture
def store(tmp_path: Path) -> ExperimentStore:
    (tmp_path / "storage" / "exp" / "trial_abcdef01").mkdir(parents=True)
    return ExperimentStore(str(tmp_path / "storage"), "exp")


def _working_dir(tmp_path: Path, experiment: str = "exp", trial: str = "trial_abcdef01") -> Path:
    folder = tmp_path / "session" / "artifacts" / "stamp" / experiment / "working_dirs" / trial
    folder.mkdir(parents=True)
    return folder


def test_tail_returns_last_lines_of_large_log(tmp_path: Path) -> None:
    path = tmp_path / "stdout"
    path.write_text("".join(f"line {number}\n" for number in range(100_000)), encoding="utf-8")

    tail = tail_log(_log(path), 3)

    assert tail.lines == ["line 99997", "line 99998", "line 99999"]
    assert tail.next_offset == path.stat().st_size


def test_tail_of_short_log_returns_all_lines(tmp_path: Path) -> None:
    path = tmp_path / "stdout"
    path.write_text("one\ntwo\n", encoding="utf-8")

    assert tail_log(_log(path), 10).lines == ["one", "two"]


def test_tail_partial_last_line(tmp_path: Path) -> None:
    path = tmp_path / "stdout"
    path.write_bytes(b"one\ntwo\nthr")

    with_partial = tail_log(_log(path), 2)
    without_partial = tail_log(_log(path), 2, include_partial=False)

    assert with_partial.lines == ["two", "thr"]
    assert without_partial.lines == ["one", "two"]
    assert with_partial.next_offset == len(b"one\ntwo\n")


def test_tail_of_empty_log(tmp_path: Path) -> None:
    path = tmp_path / "stdout"
    path.write_bytes(b"")

    assert tail_log(_log(path), 5).lines == []


def test_tail_replaces_invalid_utf8(tmp_path: Path) -> None:
    path = tmp_path / "stdout"
    path.write_bytes(b"caf\xe9\n")

    assert tail_log(_log(path), 1).lines == ["caf\ufffd"]


def test_follower_returns_complete_new_lines_only(tmp_path: Path) -> None:
    path = tmp_path / "stdout"
    path.write_bytes(b"old\n")
    follower = LogFollower(_log(path), offset=4)

    assert follower.read_new() == ""
    with path.open("ab") as handle:
        handle.write(b"new 1\nnew 2\npart")
    assert follower.read_new() == "new 1\nnew 2\n"
    with path.open("ab") as handle:
        handle.write(b"ial\n")
    assert follower.read_new() == "partial\n"


def test_follower_final_read_includes_partial_line(tmp_path: Path) -> None:
    path = tmp_path / "stdout"
    path.write_bytes(b"done\nno newline")
    follower = LogFollower(_log(path), offset=0)

    assert follower.read_new(include_partial=True) == "done\nno newline"


def test_follower_starts_over_when_log_shrinks(tmp_path: Path) -> None:
    path = tmp_path / "stdout"
    path.write_bytes(b"a long first version\n")
    follower = LogFollower(_log(path), offset=path.stat().st_size)

    path.write_bytes(b"short\n")

    assert follower.read_new() == "short\n"


def test_follower_splits_line_longer_than_read_limit(tmp_path: Path) -> None:
    path = tmp_path / "stdout"
    path.write_bytes(b"x" * 10)
    follower = LogFollower(_log(path), offset=0, max_read_bytes=4)

    assert [follower.read_new() for _ in range(3)] == ["xxxx", "xxxx", ""]


def test_locate_prefers_working_directory(store: ExperimentStore, tmp_path: Path) -> None:
    working_dir = _working_dir(tmp_path)
    (working_dir / "stdout").write_text("live\n", encoding="utf-8")
    (store.local_path / "trial_abcdef01" / "stdout").write_text("synced\n", encoding="utf-8")

    log = locate_log(store, {"trial_id": "abcdef01", "working_dir": str(working_dir)})

    assert Path(log.path).read_text(encoding="utf-8") == "live\n"


def test_locate_falls_back_to_trial_folder(store: ExperimentStore, tmp_path: Path) -> None:
    (store.local_path / "trial_abcdef01" / "stderr").write_text("synced\n", encoding="utf-8")

    log = locate_log(store, {"trial_id": "abcdef01", "working_dir": str(tmp_path / "gone")}, "stderr")

    assert log.name == "stderr"
    assert Path(log.path).read_text(encoding="utf-8") == "synced\n"


def test_locate_ignores_working_directory_of_another_experiment(store: ExperimentStore, tmp_path: Path) -> None:
    elsewhere = _working_dir(tmp_path, experiment="other")
    (elsewhere / "stdout").write_text("not ours\n", encoding="utf-8")

    with pytest.raises(NotFoundError):
        locate_log(store, {"trial_id": "abcdef01", "working_dir": str(elsewhere)})


def test_locate_ignores_link_out_of_working_directory(store: ExperimentStore, tmp_path: Path) -> None:
    working_dir = _working_dir(tmp_path)
    (tmp_path / "secret").write_text("outside content\n", encoding="utf-8")
    (working_dir / "stdout").symlink_to(tmp_path / "secret")

    with pytest.raises(NotFoundError):
        locate_log(store, {"trial_id": "abcdef01", "working_dir": str(working_dir)})


def test_locate_rejects_unknown_log_name(store: ExperimentStore) -> None:
    with pytest.raises(InputError) as raised:
        locate_log(store, {"trial_id": "abcdef01"}, "../spec.yaml")

    assert str(raised.value) == "log file must be one of process_output.log, stdout, stderr, got '../spec.yaml'"


def test_locate_default_skips_empty_stdout(store: ExperimentStore, tmp_path: Path) -> None:
    working_dir = _working_dir(tmp_path)
    (working_dir / "stdout").write_text("", encoding="utf-8")
    (working_dir / "stderr").write_text("a warning\n", encoding="utf-8")

    default = locate_log(store, {"trial_id": "abcdef01", "working_dir": str(working_dir)})
    requested = locate_log(store, {"trial_id": "abcdef01", "working_dir": str(working_dir)}, "stdout")

    assert default.name == "stderr"
    assert requested.name == "stdout"


def test_locate_default_all_empty_returns_first(store: ExperimentStore, tmp_path: Path) -> None:
    working_dir = _working_dir(tmp_path)
    (working_dir / "stdout").write_text("", encoding="utf-8")
    (working_dir / "stderr").write_text("", encoding="utf-8")

    assert locate_log(store, {"trial_id": "abcdef01", "working_dir": str(working_dir)}).name == "stdout"


def test_default_log_skips_stdout_with_only_ray_marker(store: ExperimentStore, tmp_path: Path) -> None:
    folder = tmp_path / "storage" / "exp" / "trial_abcdef01"
    (folder / "stdout").write_text(":actor_name:keras_cnn\n", encoding="utf-8")
    (folder / "stderr").write_text(":actor_name:keras_cnn\nValueError: kernel too large\n", encoding="utf-8")

    log = locate_log(store, {"trial_id": "abcdef01", "working_dir": None})

    assert log.name == "stderr"
    assert tail_log(log, 1).lines == ["ValueError: kernel too large"]
