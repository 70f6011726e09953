"""Leaderboard latency of `tuner serve` for an experiment of 100,000 trials and 20 hyperparameters.

A synthetic trials table with the recorder's columns is written, `tuner serve` starts in a child
process on 127.0.0.1, and one client sends sequential GET requests over a kept-alive connection.

    warm       the same table between requests, so the parsed table and the sort order are cached
    cold       the table is replaced (atomically, as the recorder does) before every request, so
               each request reads, parses and sorts it again. A running experiment rewrites its
               tables at most once a second, and the first request after that is cold.
Each query is timed as a whole HTTP request: routing, validation, reading, sorting, one page of
50 rows as JSON. Median and 99th percentile are reported per query.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from service_common import Server, percentile, trials_table, write_experiment
from tuner.store import TRIALS_FILE



def queries(n_trials: int) -> dict[str, dict]:
    """Return the timed queries: query string parameters by name."""
    return {
        "metric, best first": {},
        "hyperparameter, ascending": {"sort": "config.int_1", "order": "asc"},
        "status filter": {"status": ["STOPPED", "TERMINATED"]},
        "a page in the middle": {"offset": n_trials // 2, "limit": 50},
    }


def time_requests(client: httpx.Client, url: str, params: dict, n_requests: int, before_each=None) -> list[float]:
    """Time ``n_requests`` GET requests in milliseconds, checking each response."""
    latencies = []
    for _ in range(n_requests):
        if before_each is not None:
            before_each()
        started = time.perf_counter()
        response = client.get(url, params=params)
        latencies.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200 or len(response.json()["trials"]) != 50:
            raise SystemExit(f"unexpected response {response.status_code}: {response.text[:300]}")
    return latencies


def summary(latencies: list[float]) -> dict[str, float]:
    return {
        "n": len(latencies),
        "median_ms": round(statistics.median(latencies), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
        "max_ms": round(max(latencies), 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=100_000)
    parser.add_argument("--hyperparameters", type=int, default=20)
    parser.add_argument("--requests", type=int, default=300, help="warm requests per query")
    parser.add_argument("--cold-requests", type=int, default=40, help="requests with the table replaced before each")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/service_leaderboard.json"))
    arguments = parser.parse_args()

    work_dir = Path(tempfile.mkdtemp(prefix="service-leaderboard-"))
    storage = work_dir / "storage"
    trials = trials_table(arguments.trials, arguments.hyperparameters)
    store = write_experiment(storage, "bench", trials)
    table_bytes = (storage / "bench" / TRIALS_FILE).stat().st_size
    server = Server(storage, work_dir)
    report: dict = {
        "trials": arguments.trials,
        "hyperparameters": arguments.hyperparameters,
        "columns": trials.num_columns,
        "trials_parquet_mb": round(table_bytes / 2**20, 1),
        "warm": {},
        "cold": {},
    }
    try:
        url = f"{server.url}/api/experiments/bench/leaderboard"
        with httpx.Client(timeout=60) as client:
            for name, params in queries(arguments.trials).items():
                time_requests(client, url, params, 5)
                report["warm"][name] = summary(time_requests(client, url, params, arguments.requests))

            def replace_table() -> None:
                store.write_table(TRIALS_FILE, trials)

            report["cold"]["metric, best first"] = summary(
                time_requests(client, url, {}, arguments.cold_requests, before_each=replace_table)
            )
    finally:
        server.stop()

    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
