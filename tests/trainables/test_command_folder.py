"""Trial folders of the command trainable: stop requests and uploads, on local and other file systems."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pyarrow.fs as pafs

from trainables.command import TrialFolder
from tuner.store import ExperimentStore


def make_storage(filesystem: pafs.FileSystem, experiment_path: str) -> SimpleNamespace:
    """The attributes of Ray Tune's storage context that a trial folder reads."""
    return SimpleNamespace(
        storage_filesystem=filesystem,
        experiment_fs_path=experiment_path,
        trial_fs_path=f"{experiment_path}/trial_abc",
    )


def test_stop_request_seen_in_local_storage(tmp_path: Path) -> None:
    storage = make_storage(pafs.LocalFileSystem(), str(tmp_path / "exp"))
    folder = TrialFolder(tmp_path / "exp" / "trial_abc", "abc", storage)
    other = TrialFolder(tmp_path / "exp" / "trial_def", "def", storage)

    assert folder.stop_requested() is False
    ExperimentStore(str(tmp_path), "exp").request_stop("abc")

    assert folder.is_local
    assert folder.stop_requested() is True
    assert other.stop_requested() is False


def test_folder_uploaded_to_other_file_system(tmp_path: Path) -> None:
    bucket = tmp_path / "bucket"
    bucket.mkdir()
    storage = make_storage(pafs.SubTreeFileSystem(str(bucket), pafs.LocalFileSystem()), "exp")
    working = tmp_path / "worker" / "trial_abc"
    (working / "outputs").mkdir(parents=True)
    (working / "process_output.log").write_text("epoch=1 value=2\n")
    (working / "outputs" / "model.txt").write_text("weights")
    folder = TrialFolder(working, "abc", storage)

    folder.upload()

    assert not folder.is_local
    assert (bucket / "exp" / "trial_abc" / "process_output.log").read_text() == "epoch=1 value=2\n"
    assert (bucket / "exp" / "trial_abc" / "outputs" / "model.txt").read_text() == "weights"


def test_stop_request_seen_in_other_file_system(tmp_path: Path) -> None:
    bucket = tmp_path / "bucket"
    (bucket / "exp" / "control" / "stop").mkdir(parents=True)
    storage = make_storage(pafs.SubTreeFileSystem(str(bucket), pafs.LocalFileSystem()), "exp")
    folder = TrialFolder(tmp_path / "worker", "abc", storage)

    assert folder.stop_requested() is False
    (bucket / "exp" / "control" / "stop" / "abc").write_text("now")

    assert folder.stop_requested() is True
