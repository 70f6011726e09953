"""Early stopping: ASHA against FIFO on the digits CNN example, same 16 seeded configurations.

Both runs use examples/digits_cnn.yaml with 16 trials: the random searcher with the file's seed
hands out the same 16 configurations whatever the results, so the runs differ only in the
scheduler. Reported: epochs trained in all, the best validation accuracy, wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
os.environ.setdefault("TUNE_PRINT_ALL_TRIAL_ERRORS", "0")

import pyarrow.compute as pc  # noqa: E402
import ray  # noqa: E402

from tuner.runner import run_experiment  # noqa: E402
from tuner.spec import load_experiment  # noqa: E402
from tuner.store import ExperimentStore  # noqa: E402


def run(scheduler: str, n_trials: int, storage: str) -> dict:
    experiment = load_experiment(
        Path("examples/digits_cnn.yaml"),
        {"name": f"early-{scheduler}", "storage": storage, "trials": n_trials, "scheduler": {"name": scheduler, "grace_period": 2, "reduction_factor": 3} if scheduler != "fifo" else "fifo"},
    )
    started = time.perf_counter()
    summary = run_experiment(experiment, emit_progress=lambda progress: None)
    elapsed = time.perf_counter() - started
    trials = ExperimentStore(experiment.storage_path, summary.name).read_trials()
    configs = sorted(
        json.dumps({name: row[name] for name in row if name.startswith("config.")}, sort_keys=True)
        for row in trials.to_pylist()
    )
    return {
        "epochs": int(pc.sum(trials["n_epochs"]).as_py()),
        "best_val_accuracy": summary.best_value,
        "n_stopped": summary.n_stopped,
        "n_errors": summary.n_errors,
        "seconds": elapsed,
        "configs": configs,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/early_stopping.json"))
    arguments = parser.parse_args()

    ray.init(num_cpus=arguments.cpus, include_dashboard=False, log_to_driver=False)
    storage = tempfile.mkdtemp(prefix="early-stopping-")
    fifo = run("fifo", arguments.trials, storage)
    asha = run("asha", arguments.trials, storage)
    report = {
        "trials": arguments.trials,
        "same_configurations": fifo.pop("configs") == asha.pop("configs"),
        "fifo": fifo,
        "asha": asha,
        "asha_epochs_over_fifo": asha["epochs"] / fifo["epochs"],
    }
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
