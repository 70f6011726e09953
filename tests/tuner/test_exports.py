"""Exports: streamed ZIP archives, files opened for download, and CSV tables."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pyarrow as pa

from tuner.exports import archive_entries, open_file, stream_zip, table_csv_chunks
from tuner.store import ExperimentStore


def _store(tmp_path: Path) -> ExperimentStore:
    folder = tmp_path / "exp"
    (folder / "trial_a").mkdir(parents=True)
    (folder / "trial_a" / "model.keras").write_bytes(bytes(range(256)) * 10_000)
    (folder / "trial_a" / "stdout").write_text("hello\n" * 1000, encoding="utf-8")
    return ExperimentStore(str(tmp_path), "exp")


def test_zip_streamed_in_pieces_round_trips(tmp_path: Path) -> None:
    store = _store(tmp_path)

    pieces = list(stream_zip(store, archive_entries(store.list_files(), "exp")))
    archive = zipfile.ZipFile(io.BytesIO(b"".join(pieces)))

    assert len(pieces) > 2
    assert archive.testzip() is None
    assert archive.read("exp/trial_a/model.keras") == (store.local_path / "trial_a" / "model.keras").read_bytes()
    assert archive.read("exp/trial_a/stdout") == b"hello\n" * 1000
    assert archive.getinfo("exp/trial_a/model.keras").compress_type == zipfile.ZIP_STORED
    assert archive.getinfo("exp/trial_a/stdout").compress_type == zipfile.ZIP_DEFLATED


def test_zip_pieces_stay_near_chunk_size(tmp_path: Path) -> None:
    store = _store(tmp_path)
    (store.local_path / "trial_a" / "big.bin").write_bytes(b"\0" * (5 << 20))

    largest = max(len(piece) for piece in stream_zip(store, archive_entries(store.list_files(), "exp")))

    assert largest <= (1 << 20) + 1024


def test_zip_leaves_out_file_deleted_after_listing(tmp_path: Path) -> None:
    store = _store(tmp_path)
    files = store.list_files()
    (store.local_path / "trial_a" / "stdout").unlink()

    archive = zipfile.ZipFile(io.BytesIO(b"".join(stream_zip(store, archive_entries(files, "exp")))))

    assert archive.namelist() == ["exp/trial_a/model.keras"]


def test_zip_entry_names_can_drop_a_prefix(tmp_path: Path) -> None:
    store = _store(tmp_path)

    entries = list(archive_entries(store.list_files("trial_a"), "weights", strip="trial_a/"))

    assert [name for name, _ in entries] == ["weights/model.keras", "weights/stdout"]


def test_opened_file_keeps_size_when_replaced(tmp_path: Path) -> None:
    store = _store(tmp_path)
    path = store.local_path / "trial_a" / "stdout"
    opened = open_file(store, str(path))

    path.write_text("replaced with something longer\n" * 10_000, encoding="utf-8")
    content = b"".join(opened.chunks)

    assert opened.size == 6000
    assert len(content) == 6000


def test_table_csv_chunks_repeat_no_header(tmp_path: Path) -> None:
    table = pa.table({"trial_id": [f"t{number}" for number in range(25)], "value": [float(number) for number in range(25)]})

    chunks = list(table_csv_chunks(table, rows_per_chunk=10))
    rows = list(csv.DictReader(io.StringIO(b"".join(chunks).decode("utf-8"))))

    assert len(chunks) == 3
    assert len(rows) == 25
    assert rows[24] == {"trial_id": "t24", "value": "24"}


def test_table_csv_of_empty_table_is_header_only() -> None:
    table = pa.table({"trial_id": pa.array([], pa.string())})

    assert b"".join(table_csv_chunks(table)) == b'"trial_id"\n'
