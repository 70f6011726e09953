"""Early stopping: ASHA against FIFO on the digits CNN example, same 16 seeded configurations.

Both runs use examples/digits_cnn.yaml with 16 trials: the random searcher with the file's seed
hands out the same 16 configurations whatever the results, so the runs differ only in the
scheduler. A third run gives raw Ray Tune's ASHAScheduler the same 16 configurations (a grid
over them, in the order the searcher handed them out) with the same settings, calling the same
trainable function. Reported: epochs trained
in all, the best validation accuracy, wall time.
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
    # In the order the searcher handed them out, so raw Ray Tune can run them in the same order.
    rows = sorted(trials.to_pylist(), key=lambda row: row["started_at"])
    configs = [
        json.dumps({name: row[name] for name in row if name.startswith("config.")}, sort_keys=True)
        for row in rows
    ]
    return {
        "epochs": int(pc.sum(trials["n_epochs"]).as_py()),
        "best_val_accuracy": summary.best_value,
        "n_stopped": summary.n_stopped,
        "n_errors": summary.n_errors,
        "seconds": elapsed,
        "configs": configs,
    }


def run_raw_asha(configs: list[dict], storage: str) -> dict:
    """Raw Ray Tune: a grid over the same configurations, ASHA with the example's settings."""
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    from trainables.keras_cnn import train

    def trainable(config: dict) -> None:
        train(config["hyperparameters"], dataset="digits", max_epochs=12, batch_size=64, seed=0)

    tuner = tune.Tuner(
        tune.with_resources(trainable, {"cpu": 1}),
        param_space={"hyperparameters": tune.grid_search(configs)},
        tune_config=tune.TuneConfig(
            metric="val_accuracy",
            mode="max",
            scheduler=ASHAScheduler(time_attr="training_iteration", max_t=12, grace_period=2, reduction_factor=3),
            max_concurrent_trials=2,
            reuse_actors=True,
        ),
        run_config=tune.RunConfig(name="early-raw-asha", storage_path=storage, verbose=0),
    )
    started = time.perf_counter()
    results = tuner.fit()
    elapsed = time.perf_counter() - started
    epochs = 0
    best = None
    for result in results:
        history = result.metrics_dataframe
        if history is None or history.empty:
            continue
        epochs += int(history["training_iteration"].max())
        trial_best = float(history["val_accuracy"].max())
        best = trial_best if best is None else max(best, trial_best)
    return {"epochs": epochs, "best_val_accuracy": best, "seconds": elapsed}


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
    configs = [
        {key.removeprefix("config."): value for key, value in json.loads(config).items() if value is not None}
        for config in fifo["configs"]
    ]
    raw_asha = run_raw_asha(configs, storage)
    report = {
        "trials": arguments.trials,
        "same_configurations": sorted(fifo.pop("configs")) == sorted(asha.pop("configs")),
        "fifo": fifo,
        "asha": asha,
        "raw_ray_asha": raw_asha,
        "asha_epochs_over_fifo": asha["epochs"] / fifo["epochs"],
        "raw_ray_asha_epochs_over_fifo": raw_asha["epochs"] / fifo["epochs"],
    }
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
