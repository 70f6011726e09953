"""Peak memory of `tuner serve` while it streams a 2 GB weights file, alone and inside zips.

A synthetic experiment's best checkpoint gets a model.weights.h5 of --size-gb GiB of random bytes.
One random MiB is repeated, so writing the file is quick, and the server cannot tell. `tuner serve` runs in a
child process on 127.0.0.1; this process downloads, discarding the bytes as they arrive, while a
thread samples the server's resident set size (RSS) every 20 ms with psutil. Reported per
download: the server's RSS when idle (after one small request), the peak during the download, and
the peak minus idle. Page cache is not part of RSS, so reading the file through the kernel's cache
does not count.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import psutil

from service_common import Server, trials_table, write_experiment

CHUNK = 1 << 20


def write_weights(path: Path, size_bytes: int) -> None:
    block = np.random.default_rng(0).bytes(CHUNK)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        for _ in range(size_bytes // CHUNK):
            handle.write(block)


class RssSampler:
    """Samples a process's RSS every ``interval_s`` on a thread and keeps the maximum."""

    def __init__(self, pid: int, interval_s: float = 0.02) -> None:
        self.process = psutil.Process(pid)
        self.interval_s = interval_s
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(self.interval_s)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def download(client: httpx.Client, url: str, pid: int) -> dict:
    idle = psutil.Process(pid).memory_info().rss
    received = 0
    started = time.perf_counter()
    with RssSampler(pid) as sampler, client.stream("GET", url) as response:
        if response.status_code != 200:
            raise SystemExit(f"{url}: {response.status_code} {response.read()[:300]!r}")
        for chunk in response.iter_raw(CHUNK):
            received += len(chunk)
    elapsed_s = time.perf_counter() - started
    return {
        "bytes": received,
        "seconds": round(elapsed_s, 1),
        "mb_per_s": round(received / 2**20 / elapsed_s, 1),
        "idle_rss_mb": round(idle / 2**20, 1),
        "peak_rss_mb": round(sampler.peak / 2**20, 1),
        "peak_above_idle_mb": round((sampler.peak - idle) / 2**20, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-gb", type=float, default=2.0, help="size of model.weights.h5 in GiB")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/service_download_memory.json"))
    arguments = parser.parse_args()

    work_dir = Path(tempfile.mkdtemp(prefix="service-download-"))
    storage = work_dir / "storage"
    trials = trials_table(10, 3)
    write_experiment(storage, "bench", trials)
    scored = [row for row in trials.to_pylist() if row["val_accuracy"] == row["val_accuracy"]]  # NaN != NaN
    best = max(scored, key=lambda row: row["val_accuracy"])
    checkpoint = storage / "bench" / f"trial_{best['trial_id']}" / "checkpoint_000001"
    size_bytes = int(arguments.size_gb * 2**30)
    write_weights(checkpoint / "model.weights.h5", size_bytes)
    (checkpoint / "model.json").write_text("{}", encoding="utf-8")

    server = Server(storage, work_dir)
    downloads = {
        "model.weights.h5": "/api/experiments/bench/best/weights/model.weights.h5",
        "best weights as a zip": "/api/experiments/bench/best/weights",
        "whole experiment as a zip": "/api/experiments/bench/archive.zip",
    }
    report: dict = {"file_bytes": size_bytes, "downloads": {}}
    try:
        with httpx.Client(timeout=600) as client:
            client.get(f"{server.url}/api/experiments/bench")
            for name, path in downloads.items():
                report["downloads"][name] = download(client, server.url + path, server.process.pid)
    finally:
        server.stop()
        (checkpoint / "model.weights.h5").unlink()

    if report["downloads"]["model.weights.h5"]["bytes"] != size_bytes:
        raise SystemExit("the weights download was not the file's size")
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
