"""The experiment's durable files: spec.yaml, trials.parquet, results.parquet and control/.

Tables are replaced atomically: on a local disk through a temporary file and ``os.replace``, on
object storage through a single put, so a reader sees the old table or the new one.
"""

from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from tuner.errors import NotFoundError

SPEC_FILE = "spec.yaml"
TRIALS_FILE = "trials.parquet"
RESULTS_FILE = "results.parquet"
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

    def _filesystem(self) -> tuple[pafs.FileSystem, str]:
        if self.is_local:
            return pafs.LocalFileSystem(), str(self.local_path)
        return pafs.FileSystem.from_uri(self.path)

    def exists(self) -> bool:
        """Whether the experiment has recorded anything (its spec or trials table)."""
        filesystem, root = self._filesystem()
        infos = filesystem.get_file_info([f"{root}/{SPEC_FILE}", f"{root}/{TRIALS_FILE}"])
        return any(info.type != pafs.FileType.NotFound for info in infos)

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
        filesystem, root = self._filesystem()
        with filesystem.open_output_stream(f"{root}/{filename}") as stream:
            stream.write(data)

    def read_bytes(self, filename: str) -> bytes:
        """Read ``filename`` from the experiment folder, or raise :class:`NotFoundError`."""
        filesystem, root = self._filesystem()
        try:
            with filesystem.open_input_stream(f"{root}/{filename}") as stream:
                return stream.readall()
        except FileNotFoundError:
            raise NotFoundError(f"{self.path}/{filename} not found") from None

    def write_table(self, filename: str, table: pa.Table) -> None:
        """Write a Parquet table atomically."""
        buffer = io.BytesIO()
        pq.write_table(table, buffer, compression="zstd")
        self.write_bytes(filename, buffer.getvalue())

    def read_table(self, filename: str) -> pa.Table:
        """Read a Parquet table, or raise :class:`NotFoundError`."""
        return pq.read_table(io.BytesIO(self.read_bytes(filename)))

    def write_spec(self, text: str) -> None:
        """Record the spec as run."""
        self.write_bytes(SPEC_FILE, text.encode("utf-8"))

    def read_spec(self) -> str:
        """The spec as run."""
        return self.read_bytes(SPEC_FILE).decode("utf-8")

    def request_stop(self, trial_id: str) -> None:
        """Ask the running experiment to stop ``trial_id`` by writing ``control/stop/<trial_id>``."""
        self.write_bytes(f"{STOP_REQUEST_DIR}/{trial_id}", _utc_timestamp().encode("ascii"))

    def stop_requests(self) -> set[str]:
        """Ids of the trials whose stop has been requested."""
        filesystem, root = self._filesystem()
        selector = pafs.FileSelector(f"{root}/{STOP_REQUEST_DIR}", allow_not_found=True)
        return {
            info.base_name
            for info in filesystem.get_file_info(selector)
            if info.type == pafs.FileType.File and not info.base_name.startswith(".")
        }

    def read_trials(self) -> pa.Table:
        """The trials table, one row per trial."""
        return self.read_table(TRIALS_FILE)

    def read_results(self) -> pa.Table:
        """The results table, one row per reported result."""
        return self.read_table(RESULTS_FILE)


def _utc_timestamp() -> str:
    return datetime.now(UTC).isoformat()


def list_experiments(storage: str) -> list[str]:
    """Names of the experiments under a local storage root that have a spec."""
    root = Path(storage)
    if not root.is_dir():
        return []
    return sorted(path.parent.name for path in root.glob(f"*/{SPEC_FILE}"))
