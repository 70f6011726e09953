"""Read-only queries over the experiments of one storage root: summaries, leaderboard pages, one trial.

:class:`ExperimentReader` keeps each parsed table while its file is unchanged, so repeated reads of
a large experiment cost one file-status call each. Values come back JSON-ready: timestamps as ISO
8601 text and non-finite floats as ``None``.
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from tuner.errors import InputError, NotFoundError
from tuner.leaderboard import count_by_status
from tuner.state import ExperimentState, read_experiment_state
from tuner.store import (
    RESULTS_FILE,
    SPEC_FILE,
    TRIAL_STATUSES,
    TRIALS_FILE,
    ExperimentStore,
    list_experiments,
    trial_folder,
)
from tuner.yamlio import parse_yaml

SORT_ORDERS = ("asc", "desc")
# Ray Tune names checkpoint folders checkpoint_000001, checkpoint_000002, ...
_CHECKPOINT_FOLDER_PATTERN = re.compile(r"checkpoint_[0-9]{6,}")


@dataclass(frozen=True)
class ExperimentSummary:
    """One experiment at a glance: its state, searcher, trial counts and best value so far."""

    name: str
    state: str
    searcher: str | None
    scheduler: str | None
    metric: str
    mode: str
    n_trials: int | None
    n_recorded: int
    n_done: int
    n_running: int
    n_pending: int
    n_failed: int
    best_value: float | None
    best_trial_id: str | None
    started_at: str | None
    ended_at: str | None


@dataclass(frozen=True)
class BestCheckpoint:
    """The best trial's checkpoint: its folder relative to the experiment folder and the trial's best value."""

    trial_id: str
    folder: str
    best_value: float | None


@dataclass(frozen=True)
class LeaderboardQuery:
    """A leaderboard request: sort column, order, statuses kept, and the page.

    ``sort`` is a column of the trials table and defaults to the experiment's metric. ``order``
    defaults to best first for the metric (``desc`` when the mode is ``max``) and to ``asc`` for
    any other column. Trials without a value in the sort column come last in either order.
    """

    sort: str | None = None
    order: str | None = None
    statuses: tuple[str, ...] = ()
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True)
class LeaderboardPage:
    """A page of ranked trials and the number of trials that matched the filter."""

    experiment: str
    metric: str
    mode: str
    sort: str
    order: str
    statuses: tuple[str, ...]
    n_matched: int
    limit: int
    offset: int
    trials: list[dict[str, Any]]


def plain_value(value: Any) -> Any:
    """Convert a table value for JSON: non-finite floats become ``None``, timestamps ISO text."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def trial_view(row: dict[str, Any], metric: str) -> dict[str, Any]:
    """Group a trials-table row: the best metric value, hyperparameters and last reported metrics."""
    return {
        "trial_id": row["trial_id"],
        "status": row["status"],
        "best_value": plain_value(row.get(metric)),
        "best_epoch": row.get("best_epoch"),
        "n_epochs": row.get("n_epochs"),
        "started_at": plain_value(row.get("started_at")),
        "ended_at": plain_value(row.get("ended_at")),
        "duration_s": plain_value(row.get("duration_s")),
        "hyperparameters": {
            key.removeprefix("config."): plain_value(value) for key, value in row.items() if key.startswith("config.")
        },
        "metrics": {
            key.removeprefix("last."): plain_value(value) for key, value in row.items() if key.startswith("last.")
        },
        "error": row.get("error"),
        "has_checkpoint": bool(row.get("checkpoint")),
    }


@dataclass
class _CachedFile:
    """The parsed content of one version of a file, and values derived from exactly that content."""

    content: Any
    version: tuple[int | None, int] | None = None
    derived: dict[tuple[str, ...], Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    value_locks: dict[tuple[str, ...], threading.Lock] = field(default_factory=dict)


class ExperimentReader:
    """Reads the experiments under ``storage``, a local folder or a URI such as ``s3://bucket/path``.

    Parsed tables, specs and sort orders are kept for the ``max_cached_files`` most recently read
    files and dropped when a file's size or modification time changes. Safe to share between
    threads.
    """

    def __init__(self, storage: str, max_cached_files: int = 64) -> None:
        self.storage = storage
        self.max_cached_files = max_cached_files
        self._cache: OrderedDict[tuple[str, str], _CachedFile] = OrderedDict()
        self._file_locks: dict[tuple[str, str], threading.Lock] = {}
        self._lock = threading.Lock()

    def store(self, name: str) -> ExperimentStore:
        """Return the store of experiment ``name``; raise :class:`NotFoundError` when it has recorded nothing."""
        store = ExperimentStore(self.storage, name)
        if not store.exists():
            raise NotFoundError(f"experiment {name!r} not found")
        return store

    def names(self) -> list[str]:
        """Names of the experiments in the storage, sorted."""
        return list_experiments(self.storage)

    # Cached reads.

    def _file(
        self, store: ExperimentStore, filename: str, read: Callable[[], Any], missing: Callable[[], Any] | None
    ) -> _CachedFile:
        """Return the parsed ``filename``, read again only when its size or modification time changed.

        When the file does not exist, returns ``missing()`` uncached, or raises
        :class:`NotFoundError` when ``missing`` is not given.
        """
        info = store.file_info(filename)
        if info is None:
            if missing is None:
                raise NotFoundError(f"{filename} of experiment {store.name!r} not found")
            return _CachedFile(missing())
        key = (store.path, filename)
        version = (info.mtime_ns, info.size)
        entry = self._cached_entry(key, version)
        if entry is not None:
            return entry

        # One thread reads a file while the others that want it wait and then share the result, so
        # that many readers arriving just after a table was rewritten do not all parse it. Other
        # files are read meanwhile. If the file is replaced between the status call and the
        # read, the entry carries the older version and is read again on the next call.
        with self._lock:
            file_lock = self._file_locks.setdefault(key, threading.Lock())
        with file_lock:
            entry = self._cached_entry(key, version)
            if entry is not None:
                return entry
            entry = _CachedFile(read(), version)
            with self._lock:
                self._cache[key] = entry
                self._cache.move_to_end(key)
                while len(self._cache) > self.max_cached_files:
                    evicted, _ = self._cache.popitem(last=False)
                    self._file_locks.pop(evicted, None)
        return entry

    def _cached_entry(self, key: tuple[str, str], version: tuple[int | None, int]) -> _CachedFile | None:
        with self._lock:
            entry = self._cache.get(key)
            if entry is None or entry.version != version:
                return None
            self._cache.move_to_end(key)
            return entry

    def derived(
        self,
        store: ExperimentStore,
        filename: str,
        key: tuple[str, ...],
        build: Callable[[Any], Any],
        missing: Callable[[], Any],
    ) -> Any:
        """Return ``build(content)`` for the parsed ``filename``, computed once per version of the file.

        The value is kept with the very content it was built from, so a value derived from one
        version of a table is never used with another. ``missing`` makes the content of a file
        that does not exist yet.
        """
        return self._derive(self._file(store, filename, lambda: store.read_table(filename), missing), key, build)

    def _derive(self, entry: _CachedFile, key: tuple[str, ...], build: Callable[[Any], Any]) -> Any:
        # Each value has its own lock, so concurrent requests build it once, and a slow value such
        # as a chart does not hold up a sort order of the same table.
        with entry.lock:
            value_lock = entry.value_locks.setdefault(key, threading.Lock())
        with value_lock:
            if key not in entry.derived:
                entry.derived[key] = build(entry.content)
            return entry.derived[key]

    def spec(self, store: ExperimentStore) -> dict[str, Any]:
        """Read the experiment's spec.yaml as a mapping."""
        read = lambda: parse_yaml(store.read_spec(), f"{store.path}/{SPEC_FILE}")  # noqa: E731
        return self._file(store, SPEC_FILE, read, None).content

    def trials(self, store: ExperimentStore) -> pa.Table:
        """Read the trials table; empty until the experiment records its first trial."""
        return self._file(store, TRIALS_FILE, store.read_trials, empty_trials).content

    def results(self, store: ExperimentStore) -> pa.Table:
        """Read the results table; empty until the first trial reports."""
        return self._file(store, RESULTS_FILE, store.read_results, empty_results).content

    def objective(self, store: ExperimentStore) -> tuple[str, str]:
        """Return the experiment's metric and mode."""
        spec = self.spec(store)
        return spec["metric"], spec["mode"]

    # Queries.

    def summary(self, name: str) -> ExperimentSummary:
        """Summarize experiment ``name``."""
        store = self.store(name)
        spec = self.spec(store)
        metric, mode = spec["metric"], spec["mode"]
        trials = self.trials(store)
        state = read_experiment_state(store)
        counts = count_by_status(trials)
        best = self._best_row(trials, metric, mode)
        return ExperimentSummary(
            name=name,
            state=state.state,
            searcher=_nested(spec, "searcher", "name"),
            scheduler=_nested(spec, "scheduler", "name"),
            metric=metric,
            mode=mode,
            n_trials=spec.get("trials"),
            n_recorded=trials.num_rows,
            n_done=counts.get("TERMINATED", 0) + counts.get("STOPPED", 0),
            n_running=counts.get("RUNNING", 0),
            n_pending=counts.get("PENDING", 0),
            n_failed=counts.get("ERROR", 0),
            best_value=plain_value(best[metric]) if best else None,
            best_trial_id=best["trial_id"] if best else None,
            started_at=_started_at(state, trials),
            ended_at=plain_value(state.ended_at),
        )

    def summaries(self) -> list[ExperimentSummary]:
        """Summaries of every experiment in the storage, by name."""
        summaries = []
        for name in self.names():
            try:
                summaries.append(self.summary(name))
            except NotFoundError:
                # Deleted between the listing and the read.
                continue
        return summaries

    def leaderboard(self, name: str, query: LeaderboardQuery) -> LeaderboardPage:
        """Return one page of the trials of ``name``, filtered by status and sorted as ``query`` requests."""
        store = self.store(name)
        metric, mode = self.objective(store)
        entry = self._file(store, TRIALS_FILE, store.read_trials, empty_trials)
        trials = entry.content
        sort = query.sort or metric
        if sort not in trials.column_names and trials.num_rows:
            columns = ", ".join(trials.column_names)
            raise InputError(f"cannot sort by {sort!r}: not a column of the trials table; use one of {columns}")
        order = query.order or ("desc" if sort == metric and mode == "max" else "asc")
        if order not in SORT_ORDERS:
            raise InputError(f"order must be 'asc' or 'desc', got {order!r}")
        unknown = [status for status in query.statuses if status not in TRIAL_STATUSES]
        if unknown:
            raise InputError(f"status must be one of {', '.join(TRIAL_STATUSES)}, got {unknown[0]!r}")

        statuses = tuple(sorted(set(query.statuses)))
        indices = self._derive(
            entry, ("rank", sort, order, *statuses), lambda table: _rank(table, sort, order, statuses)
        )
        page = trials.take(indices.slice(query.offset, query.limit)) if len(indices) else trials.slice(0, 0)
        return LeaderboardPage(
            experiment=name,
            metric=metric,
            mode=mode,
            sort=sort,
            order=order,
            statuses=tuple(query.statuses),
            n_matched=len(indices),
            limit=query.limit,
            offset=query.offset,
            trials=[trial_view(row, metric) for row in page.to_pylist()],
        )

    def trial(self, name: str, trial_id: str) -> dict[str, Any]:
        """Return one trial: its row of the trials table, grouped, and its metric history."""
        store = self.store(name)
        metric, _ = self.objective(store)
        row = self.trial_row(store, trial_id)
        view = trial_view(row, metric)
        view["stop_requested"] = trial_id in store.stop_requests()
        view["history"] = self.history(store, trial_id)
        return view

    def trial_row(self, store: ExperimentStore, trial_id: str) -> dict[str, Any]:
        """Return the trials-table row of ``trial_id``; raise :class:`NotFoundError` when there is none."""
        trials = self.trials(store)
        rows = trials.filter(pc.equal(trials["trial_id"], trial_id)).to_pylist() if trials.num_rows else []
        if not rows:
            raise NotFoundError(f"trial {trial_id!r} not found in experiment {store.name!r}")
        return rows[0]

    def history(self, store: ExperimentStore, trial_id: str) -> list[dict[str, Any]]:
        """Return the results ``trial_id`` reported, one mapping per epoch in order."""
        results = self.results(store)
        if results.num_rows == 0:
            return []
        rows = results.filter(pc.equal(results["trial_id"], trial_id)).sort_by("training_iteration").to_pylist()
        return [{key: plain_value(value) for key, value in row.items() if key != "trial_id"} for row in rows]

    def trial_is_active(self, store: ExperimentStore, trial_id: str) -> bool:
        """Tell whether the trial may still write: it is pending or running in a running experiment."""
        if read_experiment_state(store).state != "running":
            return False
        return self.trial_row(store, trial_id)["status"] in ("PENDING", "RUNNING")

    def best_checkpoint(self, store: ExperimentStore) -> BestCheckpoint:
        """Find the checkpoint folder of the best trial that saved one.

        The folder is found inside the experiment folder as ``trial_<id>/<checkpoint folder name>``
        rather than at the absolute path the table records, so an experiment folder that was
        moved or copied still serves its weights. Raises :class:`NotFoundError` when no trial has
        saved a checkpoint.
        """
        row = self.best_trial_with_checkpoint(store)
        checkpoint_name = PurePosixPath(str(row["checkpoint"]).replace("\\", "/")).name
        if not _CHECKPOINT_FOLDER_PATTERN.fullmatch(checkpoint_name):
            raise NotFoundError(f"the checkpoint of trial {row['trial_id']} is not a checkpoint_<number> folder")
        metric, _ = self.objective(store)
        return BestCheckpoint(
            trial_id=row["trial_id"],
            folder=f"{trial_folder(row['trial_id'])}/{checkpoint_name}",
            best_value=plain_value(row[metric]),
        )

    def best_trial_with_checkpoint(self, store: ExperimentStore) -> dict[str, Any]:
        """Return the best trial that saved a checkpoint; raise :class:`NotFoundError` when none has."""
        metric, mode = self.objective(store)
        trials = self.trials(store)
        if "checkpoint" in trials.column_names:
            trials = trials.filter(pc.invert(pc.is_null(trials["checkpoint"])))
        else:
            trials = trials.slice(0, 0)
        best = self._best_row(trials, metric, mode)
        if best is None:
            raise NotFoundError(f"no trial of experiment {store.name!r} has saved a checkpoint with {metric} yet")
        return best

    @staticmethod
    def _best_row(trials: pa.Table, metric: str, mode: str) -> dict[str, Any] | None:
        if metric not in trials.column_names or trials.num_rows == 0:
            return None
        scored = trials.filter(pc.is_finite(trials[metric]))
        if scored.num_rows == 0:
            return None
        index = pc.index(scored[metric], pc.max(scored[metric]) if mode == "max" else pc.min(scored[metric]))
        return scored.slice(index.as_py(), 1).to_pylist()[0]


def _rank(trials: pa.Table, sort: str, order: str, statuses: tuple[str, ...]) -> pa.Array:
    """Return the row numbers of the trials with one of ``statuses`` (all when empty), sorted by ``sort``."""
    if trials.num_rows == 0:
        return pa.array([], pa.uint64())
    key = trials[sort].combine_chunks()
    if pa.types.is_floating(key.type):
        # Arrow sorts NaN above every number, so it would lead a descending order.
        key = pc.if_else(pc.is_nan(key), pa.scalar(None, key.type), key)
    direction = "descending" if order == "desc" else "ascending"
    if not statuses:
        return pc.array_sort_indices(key, order=direction, null_placement="at_end")
    rows = pc.indices_nonzero(pc.is_in(trials["status"], value_set=pa.array(statuses, pa.string())))
    ranked = pc.array_sort_indices(key.take(rows), order=direction, null_placement="at_end")
    return rows.take(ranked)


def empty_trials() -> pa.Table:
    """Return the trials table of an experiment that has recorded no trial yet."""
    return pa.table({"trial_id": pa.array([], pa.string()), "status": pa.array([], pa.string())})


def empty_results() -> pa.Table:
    """Return the results table of an experiment whose trials have reported nothing yet."""
    return pa.table({"trial_id": pa.array([], pa.string()), "training_iteration": pa.array([], pa.int64())})


def _nested(mapping: dict[str, Any], *keys: str) -> Any:
    value: Any = mapping
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _started_at(state: ExperimentState, trials: pa.Table) -> str | None:
    """When the experiment started: from state.json, else the first trial's start."""
    if state.started_at is not None:
        return state.started_at.isoformat()
    if "started_at" in trials.column_names and trials.num_rows:
        return plain_value(pc.min(trials["started_at"]).as_py())
    return None

