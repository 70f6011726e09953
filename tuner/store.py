"""The experiment's durable files: spec.yaml, trials.parquet, results.parquet and control/.

Tables are replaced atomically: on a local disk through a temporary file and ``os.replace``, on
object storage through a single put, so a reader sees the old table or the new one.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from tuner.errors import NotFoundError

SPEC_FILE = "spec.yaml"
# The search space as run, in ConfigSpace JSON, for warm starts and tuner resume.
SPACE_FILE = "space.json"
TRIALS_FILE = "trials.parquet"
RESULTS_FILE = "results.parquet"
# Ray Tune writes this file when a run starts; Tuner.restore needs it.
RAY_TUNER_STATE_FILE = "tuner.pkl"
CONTROL_DIR = "control"
# A stop request for trial T is the file control/stop/T; the running experiment watches for it.
STOP_REQUEST_DIR = f"{CONTROL_DIR}/stop"

TRIAL_STATUSES = ("PENDING", "RUNNING", "TERMINATED", "STOPPED", "ERROR")


@dataclass(frozen=True)
class ExperimentStore:
    """The files of one experiment under ``<storage>/<name>/``; ``storage`` is a path or a URI."""

    storage: str
    name: str

    @property
    def is_local(self) -> bool:
        """Whether the storage is a local folder rather than a URI such as ``s3://``."""
        return "://" not in self.storage or self.storage.startswith("file://")

    @property
    def path(self) -> str:
        """The experiment folder, as a local path or a URI."""
        return f"{self.storage.rstrip('/')}/{self.name}"

    @property
    def local_path(self) -> Path:
        """The experiment folder on this machine; only for local storage."""
        return Path(self.path.removeprefix("file://"))

    def filesystem(self) -> tuple[pafs.FileSystem, str]:
        """Return the storage's pyarrow filesystem and the experiment folder's path on it."""
        # NOTE: for a URI this builds a new filesystem on every call, and the service calls it a few
        # times per request. That cost has not been measured against S3.
        if self.is_local:
            return pafs.LocalFileSystem(), str(self.local_path)
        return pafs.FileSystem.from_uri(self.path)

    def exists(self) -> bool:
        """Return whether the experiment has recorded anything (its spec or trials table)."""
        filesystem, root = self.filesystem()
        infos = filesystem.get_file_info([f"{root}/{SPEC_FILE}", f"{root}/{TRIALS_FILE}"])
        return any(info.type != pafs.FileType.NotFound for info in infos)

    def has_records(self) -> bool:
        """Return whether a run has recorded trials here, or Ray Tune has saved its state here.

        A folder with only spec.yaml and space.json belongs to a run that failed before it
        started, and a new run may take it over.
        """
        filesystem, root = self.filesystem()
        infos = filesystem.get_file_info([f"{root}/{TRIALS_FILE}", f"{root}/{RAY_TUNER_STATE_FILE}"])
        return any(info.type != pafs.FileType.NotFound for info in infos)

    def discard_unstarted(self) -> None:
        """Delete spec.yaml and space.json of a run refused before it started, unless anything was recorded."""
        if self.has_records():
            return
        filesystem, root = self.filesystem()
        for filename in (SPEC_FILE, SPACE_FILE):
            try:
                filesystem.delete_file(f"{root}/{filename}")
            except FileNotFoundError:
                continue
        if self.is_local and self.local_path.is_dir() and not any(self.local_path.iterdir()):
            self.local_path.rmdir()

    def write_bytes(self, filename: str, data: bytes) -> None:
        """Replace ``filename`` (a path relative to the experiment folder) atomically."""
        if self.is_local:
            target = self.local_path / filename
            target.parent.mkdir(parents=True, exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
            try:
                with os.fdopen(descriptor, "wb") as handle:
                    handle.write(data)
                os.replace(temporary, target)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
            return
        filesystem, root = self.filesystem()
        with filesystem.open_output_stream(f"{root}/{filename}") as stream:
            stream.write(data)

    def read_bytes(self, filename: str) -> bytes:
        """Read ``filename`` from the experiment folder, or raise :class:`NotFoundError`."""
        filesystem, root = self.filesystem()
        try:
            with filesystem.open_input_stream(f"{root}/{filename}") as stream:
                return stream.readall()
        except FileNotFoundError:
            raise NotFoundError(f"{self.path}/{filename} not found") from None

    def write_table(self, filename: str, table: pa.Table) -> None:
        """Write a Parquet table atomically, Snappy-compressed.

        Snappy rather than zstd, because the service parses trials.parquet again after every
        rewrite. A 100,000-row, 37-column table reads in 24 ms instead of 30 ms (pyarrow 26,
        2-core machine) for a file 16% larger, and every Parquet reader supports Snappy.
        """
        buffer = io.BytesIO()
        pq.write_table(table, buffer, compression="snappy")
        self.write_bytes(filename, buffer.getvalue())

    def read_table(self, filename: str) -> pa.Table:
        """Read a Parquet table, or raise :class:`NotFoundError`.

        A local file is parsed through one open handle, which keeps reading the version it opened
        if the file is replaced meanwhile, and saves copying it into memory first. From object
        storage the whole file is fetched in one request first, because ranged reads of an object
        that is replaced meanwhile could mix two versions.
        """
        if not self.is_local:
            return pq.read_table(io.BytesIO(self.read_bytes(filename)))
        try:
            with pafs.LocalFileSystem().open_input_file(str(self.local_path / filename)) as handle:
                return pq.read_table(handle)
        except FileNotFoundError:
            raise NotFoundError(f"{self.path}/{filename} not found") from None

    def write_spec(self, text: str) -> None:
        """Record the spec as run."""
        self.write_bytes(SPEC_FILE, text.encode("utf-8"))

    def read_spec(self) -> str:
        """Read the spec as run."""
        return self.read_bytes(SPEC_FILE).decode("utf-8")

    def request_stop(self, trial_id: str) -> None:
        """Ask the running experiment to stop ``trial_id`` by writing ``control/stop/<trial_id>``."""
        self.write_bytes(f"{STOP_REQUEST_DIR}/{trial_id}", _utc_timestamp().encode("ascii"))

    def stop_requests(self) -> set[str]:
        """Return the ids of the trials whose stop has been requested."""
        filesystem, root = self.filesystem()
        selector = pafs.FileSelector(f"{root}/{STOP_REQUEST_DIR}", allow_not_found=True)
        return {
            info.base_name
            for info in filesystem.get_file_info(selector)
            if info.type == pafs.FileType.File and not info.base_name.startswith(".")
        }

    def read_trials(self) -> pa.Table:
        """Read the trials table, one row per trial."""
        return self.read_table(TRIALS_FILE)

    def read_results(self) -> pa.Table:
        """Read the results table, one row per reported result."""
        return self.read_table(RESULTS_FILE)

    def resolve(self, relative: str) -> str:
        """Return the storage path of ``relative``, a ``/``-separated path inside the experiment folder.

        Raises :class:`NotFoundError` for an empty or absolute path, a ``.``, ``..`` or empty
        segment, a backslash or a NUL character. On a local disk it also raises for a path whose
        real location, with symbolic links followed, is outside the experiment folder. The file
        itself need not exist.
        """
        segments = relative.split("/")
        malformed = (
            not relative
            or "\\" in relative
            or "\x00" in relative
            or any(segment in ("", ".", "..") for segment in segments)
        )
        if malformed:
            raise NotFoundError(f"file {relative!r} not found in experiment {self.name!r}")
        filesystem, root = self.filesystem()
        if not self.is_local:
            return "/".join([root, *segments])
        real = os.path.realpath(os.path.join(root, *segments))
        if not _is_within(real, os.path.realpath(root)):
            raise NotFoundError(f"file {relative!r} not found in experiment {self.name!r}")
        return real

    def file_info(self, relative: str) -> StoredFile | None:
        """Return the regular file at ``relative`` inside the experiment folder, or ``None`` when there is none."""
        path = self.resolve(relative)
        filesystem, _ = self.filesystem()
        info = filesystem.get_file_info(path)
        if info.type != pafs.FileType.File:
            return None
        return StoredFile(relative, path, info.size, info.mtime_ns)

    def list_files(self, relative_folder: str = "") -> list[StoredFile]:
        """List every regular file under ``relative_folder`` (the whole experiment by default), sorted by path.

        On a local disk, symbolic links whose real location is outside the experiment folder are
        left out, and linked folders are not entered.
        """
        folder = self.resolve(relative_folder) if relative_folder else self.filesystem()[1]
        if self.is_local:
            return self._list_local_files(folder)
        filesystem, root = self.filesystem()
        selector = pafs.FileSelector(folder, recursive=True, allow_not_found=True)
        files = [
            StoredFile(info.path.removeprefix(f"{root}/"), info.path, info.size, info.mtime_ns)
            for info in filesystem.get_file_info(selector)
            if info.type == pafs.FileType.File
        ]
        return sorted(files, key=lambda stored: stored.relative_path)

    def _list_local_files(self, folder: str) -> list[StoredFile]:
        root = os.path.realpath(self.local_path)
        files = []
        for directory, _, names in os.walk(folder, followlinks=False):
            for name in names:
                path = os.path.join(directory, name)
                real = os.path.realpath(path)
                if not _is_within(real, root) or not os.path.isfile(real):
                    continue
                try:
                    status = os.stat(real)
                except FileNotFoundError:
                    # Ray Tune deletes older checkpoints while an experiment runs.
                    continue
                relative = Path(os.path.relpath(path, self.local_path)).as_posix()
                files.append(StoredFile(relative, real, status.st_size, status.st_mtime_ns))
        return sorted(files, key=lambda stored: stored.relative_path)

    def iter_file(self, path: str, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        """Yield the bytes of the file at storage path ``path`` in chunks of at most ``chunk_size``."""
        filesystem, _ = self.filesystem()
        with filesystem.open_input_stream(path) as stream:
            while chunk := stream.read(chunk_size):
                yield chunk


@dataclass(frozen=True)
class StoredFile:
    """A regular file inside an experiment folder."""

    relative_path: str
    path: str
    size: int
    mtime_ns: int | None


def trial_folder(trial_id: str) -> str:
    """Return the name of a trial's folder inside the experiment folder: ``trial_<id>``."""
    return f"trial_{trial_id}"


def _is_within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _utc_timestamp() -> str:
    return datetime.now(UTC).isoformat()


def storage_filesystem(storage: str) -> tuple[pafs.FileSystem, str]:
    """Return the pyarrow filesystem of a storage root (a folder or a URI) and the root's path on it."""
    if "://" in storage and not storage.startswith("file://"):
        return pafs.FileSystem.from_uri(storage)
    return pafs.LocalFileSystem(), storage.removeprefix("file://")


def list_experiments(storage: str) -> list[str]:
    """Names of the experiments under a storage root (a folder or a URI) that have a spec."""
    filesystem, root = storage_filesystem(storage)
    root = root.rstrip("/")
    if filesystem.get_file_info(root).type != pafs.FileType.Directory:
        return []
    selector = pafs.FileSelector(root, allow_not_found=True)
    folders = [info.base_name for info in filesystem.get_file_info(selector) if info.type == pafs.FileType.Directory]
    specs = filesystem.get_file_info([f"{root}/{name}/{SPEC_FILE}" for name in folders])
    return sorted(name for name, info in zip(folders, specs, strict=True) if info.type == pafs.FileType.File)
