"""The experiment reader's cache: one read per file version, shared by concurrent requests."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from tuner.queries import ExperimentReader
from tuner.store import TRIALS_FILE, ExperimentStore


@dataclass(frozen=True)
class CountingStore(ExperimentStore):
    """A store that counts how often the trials table is parsed, and parses slowly."""

    reads: list[int] = field(default_factory=list, compare=False, hash=False)

    def read_trials(self) -> pa.Table:
        self.reads.append(1)
        time.sleep(0.2)
        return super().read_trials()


def _store(tmp_path: Path) -> CountingStore:
    store = CountingStore(str(tmp_path), "exp")
    store.write_spec("name: exp\nmetric: value\nmode: min\n")
    store.write_table(TRIALS_FILE, pa.table({"trial_id": ["a0000001"], "status": ["RUNNING"], "value": [1.0]}))
    return store


def test_reader_reuses_unchanged_table(tmp_path: Path) -> None:
    store = _store(tmp_path)
    reader = ExperimentReader(str(tmp_path))

    first = reader.trials(store)
    second = reader.trials(store)

    assert second is first
    assert len(store.reads) == 1


def test_reader_reads_replaced_table_again(tmp_path: Path) -> None:
    store = _store(tmp_path)
    reader = ExperimentReader(str(tmp_path))
    reader.trials(store)

    replacement = pa.table({"trial_id": ["a0000001", "a0000002"], "status": ["RUNNING"] * 2, "value": [1.0, 2.0]})
    store.write_table(TRIALS_FILE, replacement)

    assert reader.trials(store).num_rows == 2
    assert len(store.reads) == 2


def test_concurrent_requests_parse_table_once(tmp_path: Path) -> None:
    store = _store(tmp_path)
    reader = ExperimentReader(str(tmp_path))
    tables: list[pa.Table] = []

    threads = [threading.Thread(target=lambda: tables.append(reader.trials(store))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert len(tables) == 8
    assert len(store.reads) == 1
    assert all(table is tables[0] for table in tables)
