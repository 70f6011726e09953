"""Orchestration overhead: trials per second of `tuner run` against raw Ray Tune, trivial trials.

All three runs share one local Ray started here (2 CPUs unless --cpus says otherwise):
    tuner      run_experiment (what `tuner run` calls) with the branin trainable, random searcher,
               results recorder and progress callback, 2 trial slots, actor reuse on
    raw_reuse  ray.tune.Tuner with the same kind of function and reuse_actors=True
    raw_default ray.tune.Tuner with Ray Tune's defaults (a new process per trial)
Ray's start-up is excluded from every timing. tuner and raw_reuse alternate for --rounds rounds
and the median of each is reported, so neither always runs on a warmer machine.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
os.environ.setdefault("TUNE_PRINT_ALL_TRIAL_ERRORS", "0")

import ray  # noqa: E402
from ray import tune  # noqa: E402

from tuner.runner import run_experiment  # noqa: E402
from tuner.spec import experiment_from_mapping  # noqa: E402


def trivial(config: dict) -> None:
    x1, x2 = config["x1"], config["x2"]
    tune.report({"value": (x2 - 5.1 / (4 * math.pi**2) * x1**2 + 5 / math.pi * x1 - 6) ** 2})


def time_raw(n_trials: int, slots: int, reuse: bool, storage: str, name: str) -> float:
    tuner = tune.Tuner(
        trivial,
        param_space={"x1": tune.uniform(-5, 10), "x2": tune.uniform(0, 15)},
        tune_config=tune.TuneConfig(
            metric="value", mode="min", num_samples=n_trials, max_concurrent_trials=slots, reuse_actors=reuse
        ),
        run_config=tune.RunConfig(name=name, storage_path=storage, verbose=0),
    )
    started = time.perf_counter()
    tuner.fit()
    return time.perf_counter() - started


def time_tuner(n_trials: int, slots: int, storage: str, name: str) -> float:
    experiment = experiment_from_mapping(
        {
            "name": name,
            "trainable": {"name": "branin"},
            "space": "branin",
            "metric": "value",
            "mode": "min",
            "trials": n_trials,
            "slots": slots,
            "storage": storage,
        },
        "benchmark",
        Path.cwd(),
    )
    started = time.perf_counter()
    summary = run_experiment(experiment, emit_progress=lambda progress: None)
    elapsed = time.perf_counter() - started
    if summary.n_trials != n_trials or summary.n_errors:
        raise SystemExit(f"tuner run recorded {summary.n_trials} trials with {summary.n_errors} errors")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--slots", type=int, default=2)
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--default-trials", type=int, default=40, help="trials for the slow raw_default run")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/orchestration_overhead.json"))
    arguments = parser.parse_args()

    ray.init(num_cpus=arguments.cpus, include_dashboard=False, log_to_driver=False)
    storage = tempfile.mkdtemp(prefix="overhead-")
    # A warm-up run, so that imports and worker start-up are not charged to the first measurement.
    time_raw(4, arguments.slots, True, storage, "warmup")

    rounds: dict[str, list[float]] = {"raw_reuse": [], "tuner": []}
    for index in range(arguments.rounds):
        rounds["raw_reuse"].append(time_raw(arguments.trials, arguments.slots, True, storage, f"raw-reuse-{index}"))
        rounds["tuner"].append(time_tuner(arguments.trials, arguments.slots, storage, f"tuner-{index}"))
    seconds = {key: statistics.median(values) for key, values in rounds.items()}
    seconds["raw_default"] = time_raw(arguments.default_trials, arguments.slots, False, storage, "raw-default")
    trials = {"raw_reuse": arguments.trials, "tuner": arguments.trials, "raw_default": arguments.default_trials}
    rates = {key: trials[key] / value for key, value in seconds.items()}
    report = {
        "trials": trials,
        "slots": arguments.slots,
        "cpus": arguments.cpus,
        "seconds": seconds,
        "seconds_per_round": rounds,
        "trials_per_s": rates,
        "tuner_over_raw_reuse": rates["tuner"] / rates["raw_reuse"],
        "ray": ray.__version__,
    }
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
