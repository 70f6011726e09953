"""50 concurrent readers of the leaderboard while an experiment rewrites its tables: errors and latency.

A writer process records trials through the project's own ResultsRecorder, fed with stand-in
trials (no Ray run), and forces a write of trials.parquet and results.parquet every
--write-interval-s (0.1 s by default). The recorder of a real run writes at most once a second. It starts from
--trials finished trials and keeps starting, reporting and finishing more. `tuner serve` runs in
a child process on 127.0.0.1. 50 asyncio readers each send --requests-per-reader GET requests,
cycling through leaderboard queries, one experiment and the experiment list. An error is any
status other than 200, a body that is not the expected JSON, or a failed connection.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx

from service_common import REPO_ROOT, Server, percentile

READS = [
    "/api/experiments/bench/leaderboard",
    "/api/experiments/bench/leaderboard?sort=config.x2&order=asc",
    "/api/experiments/bench/leaderboard?status=RUNNING&status=STOPPED",
    "/api/experiments/bench/leaderboard?offset=500&limit=100",
    "/api/experiments/bench",
    "/api/experiments",
]


def write_tables(
    storage: str, n_trials: int, interval_s: float, ready: Any, stop: Any, writes: Any
) -> None:
    """Record trials with ResultsRecorder and write its tables every ``interval_s`` until ``stop`` is set."""
    sys.path.insert(0, str(REPO_ROOT))
    import random
    from datetime import UTC, datetime

    from search_spaces import load_space
    from tuner.recorder import ResultsRecorder
    from tuner.state import ExperimentState, write_experiment_state
    from tuner.store import ExperimentStore

    store = ExperimentStore(storage, "bench")
    store.write_spec("name: bench\nmetric: value\nmode: min\nsearcher: {name: random}\ntrials: 1000000\n")
    write_experiment_state(store, ExperimentState("running", datetime.now(UTC), datetime.now(UTC)))
    recorder = ResultsRecorder(store, load_space("branin", Path(".")), "value", "min", max_epochs=10, flush_interval_s=3600)
    generator = random.Random(0)
    running: list[SimpleNamespace] = []

    def start_trial(number: int) -> SimpleNamespace:
        trial = SimpleNamespace(
            trial_id=f"{number:08x}", config={"x1": generator.uniform(-5, 10), "x2": generator.uniform(0, 15)},
            path=f"{storage}/bench/trial_{number:08x}", storage=None, last_result={}, epoch=0,
        )
        recorder.on_trial_start(0, [], trial)
        return trial

    def report(trial: SimpleNamespace) -> None:
        trial.epoch += 1
        trial.last_result = {"training_iteration": trial.epoch, "value": generator.uniform(0.4, 300), "done": False}
        recorder.on_trial_result(0, [], trial, dict(trial.last_result))

    for number in range(n_trials):
        trial = start_trial(number)
        report(trial)
        trial.last_result["done"] = True
        recorder.on_trial_complete(0, [], trial)
    recorder.flush()
    ready.set()

    number = n_trials
    while not stop.is_set():
        running.append(start_trial(number))
        number += 1
        for trial in running:
            report(trial)
        if len(running) > 8:
            finished = running.pop(0)
            finished.last_result["done"] = True
            recorder.on_trial_complete(0, [], finished)
        recorder.flush()
        write_experiment_state(store, ExperimentState("running", datetime.now(UTC), datetime.now(UTC)))
        with writes.get_lock():
            writes.value += 1
        time.sleep(interval_s)


async def read(
    client: httpx.AsyncClient, base: str, reader: int, n_requests: int, latencies: list[float], errors: list[str]
) -> None:
    for index in range(n_requests):
        path = READS[(reader + index) % len(READS)]
        started = time.perf_counter()
        try:
            response = await client.get(base + path)
            body = response.json()
            if response.status_code != 200:
                errors.append(f"{path}: {response.status_code} {body}")
            elif "leaderboard" in path and not body["trials"]:
                errors.append(f"{path}: empty page")
        except (httpx.HTTPError, ValueError, KeyError) as error:
            errors.append(f"{path}: {type(error).__name__}: {error}")
        latencies.append((time.perf_counter() - started) * 1000)


async def read_concurrently(base: str, n_readers: int, n_requests: int) -> tuple[list[float], list[str], float]:
    latencies: list[float] = []
    errors: list[str] = []
    limits = httpx.Limits(max_connections=n_readers, max_keepalive_connections=n_readers)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(read(client, base, reader, n_requests, latencies, errors) for reader in range(n_readers)))
        elapsed_s = time.perf_counter() - started
    return latencies, errors, elapsed_s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=5000, help="finished trials recorded before the readers start")
    parser.add_argument("--readers", type=int, default=50)
    parser.add_argument("--requests-per-reader", type=int, default=40)
    parser.add_argument("--write-interval-s", type=float, default=0.1)
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/service_concurrent_readers.json"))
    arguments = parser.parse_args()

    work_dir = Path(tempfile.mkdtemp(prefix="service-readers-"))
    storage = work_dir / "storage"
    storage.mkdir()
    ready, stop = multiprocessing.Event(), multiprocessing.Event()
    writes = multiprocessing.Value("i", 0)
    writer = multiprocessing.Process(
        target=write_tables, args=(str(storage), arguments.trials, arguments.write_interval_s, ready, stop, writes)
    )
    writer.start()
    server = None
    try:
        if not ready.wait(300):
            raise SystemExit("the writer did not record its first trials within 300 s")
        server = Server(storage, work_dir)
        writes_before = writes.value
        latencies, errors, elapsed_s = asyncio.run(
            read_concurrently(server.url, arguments.readers, arguments.requests_per_reader)
        )
        writes_during = writes.value - writes_before
    finally:
        stop.set()
        writer.join(60)
        if server is not None:
            server.stop()

    report = {
        "readers": arguments.readers,
        "requests": len(latencies),
        "errors": len(errors),
        "first_errors": errors[:5],
        "table_writes_during_reads": writes_during,
        "seconds": round(elapsed_s, 1),
        "requests_per_s": round(len(latencies) / elapsed_s, 1),
        "median_ms": round(statistics.median(latencies), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
    }
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
