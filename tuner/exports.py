"""Downloads of experiment files: single files, ZIP archives and CSV tables, produced piece by piece.

Each export yields chunks of at most about 1 MiB, so a download of any size needs little memory.
"""

from __future__ import annotations

import io
import logging
import time
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.csv as pacsv

from tuner.store import ExperimentStore, StoredFile

logger = logging.getLogger(__name__)

# Files that are compressed already, or binary weights that barely shrink, are stored as they are.
_STORED_SUFFIXES = (".keras", ".h5", ".parquet", ".zip", ".gz", ".npz", ".pkl", ".pt", ".png", ".jpg")
_CHUNK_BYTES = 1 << 20
# ZIP timestamps cannot be earlier than 1980.
_EARLIEST_ZIP_TIME = time.mktime((1980, 1, 2, 0, 0, 0, 0, 0, -1))


class _ChunkSink(io.RawIOBase):
    """A write-only, unseekable file that keeps what is written until it is drained."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._chunks.append(bytes(data))
        self._position += len(data)
        return len(data)

    def tell(self) -> int:
        # zipfile records entry offsets through tell(); seek() stays unsupported, so zipfile
        # writes sizes after each entry's data instead of going back to its header.
        return self._position

    def drain(self) -> Iterator[bytes]:
        """Yield and forget everything written since the last drain."""
        chunks, self._chunks = self._chunks, []
        yield from chunks


def _entry_info(name: str, stored: StoredFile) -> zipfile.ZipInfo:
    seconds = max(stored.mtime_ns / 1e9, _EARLIEST_ZIP_TIME) if stored.mtime_ns else time.time()
    info = zipfile.ZipInfo(name, date_time=time.localtime(seconds)[:6])
    info.compress_type = zipfile.ZIP_STORED if name.endswith(_STORED_SUFFIXES) else zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def archive_entries(files: Iterable[StoredFile], folder: str, strip: str = "") -> Iterator[tuple[str, StoredFile]]:
    """Name each file ``folder/<its path in the experiment, less the prefix strip>``."""
    for stored in files:
        yield f"{folder}/{stored.relative_path.removeprefix(strip)}", stored


def stream_zip(store: ExperimentStore, entries: Iterable[tuple[str, StoredFile]]) -> Iterator[bytes]:
    """Yield a ZIP archive of ``entries``, pairs of a name in the archive and a file of the experiment.

    Files are read in chunks of 1 MiB and every compressed chunk is yielded at once, so memory
    stays near one chunk whatever the sizes. A file deleted after it was listed, as Ray Tune does
    with older checkpoints, is left out. A file that grows while it is read is archived as far
    as it had been written when its entry was finished.
    """
    filesystem, _ = store.filesystem()
    sink = _ChunkSink()
    with zipfile.ZipFile(sink, mode="w", allowZip64=True) as archive:
        for name, stored in entries:
            try:
                stream = filesystem.open_input_stream(stored.path)
            except FileNotFoundError:
                logger.debug("%s was deleted before it could be archived", stored.path)
                continue
            with stream, archive.open(_entry_info(name, stored), "w", force_zip64=True) as entry:
                while chunk := stream.read(_CHUNK_BYTES):
                    entry.write(chunk)
                    yield from sink.drain()
            yield from sink.drain()
    yield from sink.drain()


@dataclass(frozen=True)
class OpenedFile:
    """A file opened for download: its size when opened and its bytes, in chunks."""

    size: int
    chunks: Iterator[bytes]


def open_file(store: ExperimentStore, path: str) -> OpenedFile:
    """Open the file at storage path ``path`` and stream exactly the ``size`` bytes it had when opened.

    Opening first and taking the size from the open file keeps the download consistent when the
    file is replaced or deleted meanwhile, as the results tables and old checkpoints are during a
    run. Raises ``FileNotFoundError`` when the file is gone.
    """
    filesystem, _ = store.filesystem()
    handle = filesystem.open_input_file(path)
    size = handle.size()

    def chunks() -> Iterator[bytes]:
        remaining = size
        with handle:
            while remaining > 0:
                chunk = handle.read(min(_CHUNK_BYTES, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)
                yield chunk

    return OpenedFile(size, chunks())


def table_csv_chunks(table: pa.Table, rows_per_chunk: int = 10_000) -> Iterator[bytes]:
    """Yield ``table`` as CSV with a header line, ``rows_per_chunk`` rows at a time."""
    batches = table.to_batches(max_chunksize=rows_per_chunk) or [table.slice(0, 0)]
    for index, batch in enumerate(batches):
        buffer = io.BytesIO()
        pacsv.write_csv(batch, buffer, write_options=pacsv.WriteOptions(include_header=index == 0))
        yield buffer.getvalue()
