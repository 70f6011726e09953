"""Files inside an experiment folder: resolving paths safely, listing, and listing experiments."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tuner.errors import NotFoundError
from tuner.store import ExperimentStore, list_experiments


@pytest.fixture
def store(tmp_path: Path) -> ExperimentStore:
    folder = tmp_path / "storage" / "exp"
    (folder / "trial_a" / "checkpoint_000001").mkdir(parents=True)
    (folder / "spec.yaml").write_text("name: exp\n", encoding="utf-8")
    (folder / "trial_a" / "checkpoint_000001" / "model.keras").write_bytes(b"weights")
    (folder / "trial_a" / "stdout").write_text("hello\n", encoding="utf-8")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("outside content", encoding="utf-8")
    return ExperimentStore(str(tmp_path / "storage"), "exp")


@pytest.mark.parametrize(
    "relative",
    [
        "",
        "..",
        "../exp/spec.yaml",
        "/etc/passwd",
        "trial_a/../../x",
        "trial_a//stdout",
        "./spec.yaml",
        "trial_a/",
        "a\\b",
        "a\x00b",
    ],
)
def test_resolve_rejects_paths_that_could_leave_folder(store: ExperimentStore, relative: str) -> None:
    with pytest.raises(NotFoundError) as raised:
        store.resolve(relative)

    assert str(raised.value) == f"file {relative!r} not found in experiment 'exp'"


def test_resolve_rejects_link_leaving_folder(store: ExperimentStore, tmp_path: Path) -> None:
    os.symlink(tmp_path / "outside" / "secret.txt", store.local_path / "trial_a" / "secret.txt")
    os.symlink(tmp_path / "outside", store.local_path / "trial_a" / "elsewhere")

    with pytest.raises(NotFoundError):
        store.resolve("trial_a/secret.txt")
    with pytest.raises(NotFoundError):
        store.resolve("trial_a/elsewhere/secret.txt")


def test_resolve_follows_link_inside_folder(store: ExperimentStore) -> None:
    os.symlink(store.local_path / "spec.yaml", store.local_path / "trial_a" / "spec-link.yaml")

    assert store.resolve("trial_a/spec-link.yaml") == os.path.realpath(store.local_path / "spec.yaml")


def test_file_info_only_for_regular_files(store: ExperimentStore) -> None:
    info = store.file_info("trial_a/checkpoint_000001/model.keras")

    assert info is not None
    assert info.size == 7
    assert info.relative_path == "trial_a/checkpoint_000001/model.keras"
    assert store.file_info("trial_a") is None
    assert store.file_info("missing.txt") is None


def test_list_files_sorted_and_without_outside_links(store: ExperimentStore, tmp_path: Path) -> None:
    os.symlink(tmp_path / "outside" / "secret.txt", store.local_path / "trial_a" / "secret.txt")
    os.symlink(tmp_path / "outside", store.local_path / "trial_a" / "elsewhere")

    everything = [stored.relative_path for stored in store.list_files()]
    trial = [stored.relative_path for stored in store.list_files("trial_a")]

    assert everything == ["spec.yaml", "trial_a/checkpoint_000001/model.keras", "trial_a/stdout"]
    assert trial == ["trial_a/checkpoint_000001/model.keras", "trial_a/stdout"]


def test_iter_file_yields_whole_file_in_chunks(store: ExperimentStore) -> None:
    path = store.resolve("trial_a/stdout")

    assert list(store.iter_file(path, chunk_size=2)) == [b"he", b"ll", b"o\n"]


def test_list_experiments_needs_spec(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    for name in ("b-exp", "a-exp"):
        (storage / name).mkdir(parents=True)
        (storage / name / "spec.yaml").write_text(f"name: {name}\n", encoding="utf-8")
    (storage / "no-spec").mkdir()
    (storage / "loose-file.txt").write_text("x", encoding="utf-8")

    assert list_experiments(str(storage)) == ["a-exp", "b-exp"]
    assert list_experiments(str(tmp_path / "missing")) == []
