"""Searchers through `tuner run` against Optuna and SMAC used directly, on Branin and Hartmann6.

Part 1, simple regret: 50 trials, 5 seeds, searchers random / optuna / smac run through
run_experiment (what `tuner run` calls) with 1 and with 4 trial slots, next to Optuna's TPE and
SMAC's hyperparameter-optimisation facade used directly in plain sequential loops with the same
seeds. With --in-flight-only, both libraries also run directly in ask-and-tell loops that keep
4 trials open, the parallel reference for 4 slots. Simple regret = best value found - known minimum.

Part 2, time in suggest: one run per searcher of --latency-trials trials on Branin with 2 slots;
the time Ray Tune spends in the searcher's suggest while about 50, 200 and 500 trials had
finished, over the calls that handed out a configuration and over all calls (most return at
once with "ask again later").
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
os.environ.setdefault("TUNE_PRINT_ALL_TRIAL_ERRORS", "0")

import numpy as np  # noqa: E402
import optuna  # noqa: E402
import ray  # noqa: E402

from search_spaces import load_space  # noqa: E402
from trainables.functions import BRANIN_MINIMUM, HARTMANN6_MINIMUM, branin_value, hartmann6_value  # noqa: E402
from tuner.runner import run_experiment  # noqa: E402
from tuner.spec import experiment_from_mapping  # noqa: E402

FUNCTIONS = {
    "branin": (lambda config: branin_value(config["x1"], config["x2"]), BRANIN_MINIMUM),
    "hartmann6": (lambda config: hartmann6_value([config[f"x{index}"] for index in range(1, 7)]), HARTMANN6_MINIMUM),
}


def through_tuner(function: str, searcher: str, seed: int, slots: int, n_trials: int, storage: str) -> dict[str, Any]:
    name = f"{function}-{searcher}-s{slots}-seed{seed}-{time.time_ns()}"
    experiment = experiment_from_mapping(
        {
            "name": name,
            "trainable": {"name": function},
            "space": function,
            "metric": "value",
            "mode": "min",
            "searcher": {"name": searcher, "seed": seed},
            "trials": n_trials,
            "slots": slots,
            "storage": storage,
        },
        "benchmark",
        Path.cwd(),
    )
    summary = run_experiment(experiment, emit_progress=lambda progress: None)
    return {"best": summary.best_value, "timings": summary.suggest_timings, "n_trials": summary.n_trials}


def optuna_direct(function: str, seed: int, n_trials: int) -> float:
    objective, _ = FUNCTIONS[function]
    space = load_space(function, Path.cwd())
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(
        lambda trial: objective(
            {name: trial.suggest_float(name, space[name].lower, space[name].upper) for name in space.names}
        ),
        n_trials=n_trials,
    )
    return study.best_value


def smac_direct(function: str, seed: int, n_trials: int) -> float:
    from smac import HyperparameterOptimizationFacade, Scenario

    objective, _ = FUNCTIONS[function]
    space = load_space(function, Path.cwd())
    scenario = Scenario(
        space.configspace, deterministic=True, n_trials=n_trials, seed=seed,
        output_directory=Path(tempfile.mkdtemp(prefix="smac-direct-")),
    )
    smac = HyperparameterOptimizationFacade(
        scenario, lambda config, seed=0: objective(dict(config)), overwrite=True, logging_level=40
    )
    incumbent = smac.optimize()
    return objective(dict(incumbent))


def optuna_direct_in_flight(function: str, seed: int, n_trials: int, in_flight: int) -> float:
    """Optuna's ask-and-tell with ``in_flight`` trials open at once, finished oldest first."""
    objective, _ = FUNCTIONS[function]
    space = load_space(function, Path.cwd())
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed, constant_liar=True))
    open_trials: list[Any] = []
    asked = 0
    while asked < n_trials or open_trials:
        while asked < n_trials and len(open_trials) < in_flight:
            trial = study.ask()
            config = {name: trial.suggest_float(name, space[name].lower, space[name].upper) for name in space.names}
            open_trials.append((trial, config))
            asked += 1
        trial, config = open_trials.pop(0)
        study.tell(trial, objective(config))
    return study.best_value


def smac_direct_in_flight(function: str, seed: int, n_trials: int, in_flight: int) -> float:
    """SMAC's ask-and-tell with ``in_flight`` trials open at once, finished oldest first."""
    from smac import HyperparameterOptimizationFacade, Scenario
    from smac.runhistory import TrialValue

    objective, _ = FUNCTIONS[function]
    space = load_space(function, Path.cwd())
    scenario = Scenario(
        space.configspace, deterministic=True, n_trials=n_trials, seed=seed,
        output_directory=Path(tempfile.mkdtemp(prefix="smac-direct-")),
    )
    intensifier = HyperparameterOptimizationFacade.get_intensifier(scenario, max_config_calls=1)
    smac = HyperparameterOptimizationFacade(
        scenario, lambda config, seed=0: objective(dict(config)), intensifier=intensifier,
        overwrite=True, logging_level=40,
    )
    open_trials: list[Any] = []
    asked = 0
    best = float("inf")
    while asked < n_trials or open_trials:
        while asked < n_trials and len(open_trials) < in_flight:
            open_trials.append(smac.ask())
            asked += 1
        info = open_trials.pop(0)
        value = objective(dict(info.config))
        best = min(best, value)
        smac.tell(info, TrialValue(cost=value), save=False)
    return best


def latency(timings: list[tuple[int, float, bool]], around: int, handed_out_only: bool) -> dict[str, float] | None:
    """Median and 90th percentile of suggest calls made while 0.8 to 1.2 times ``around`` trials had finished."""
    window = [
        seconds
        for finished, seconds, handed_out in timings
        if 0.8 * around <= finished <= 1.2 * around and (handed_out or not handed_out_only)
    ]
    if not window:
        return None
    ordered = sorted(window)
    return {
        "median_ms": 1000 * statistics.median(ordered),
        "p90_ms": 1000 * ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))],
        "n_calls": len(ordered),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--latency-trials", type=int, default=500)
    parser.add_argument("--skip-regret", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument(
        "--in-flight-only", action="store_true",
        help="only run the libraries directly with 4 trials in flight, adding them to --output",
    )
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/searcher_regret.json"))
    arguments = parser.parse_args()

    if arguments.in_flight_only:
        report = json.loads(arguments.output.read_text())
        for function, (_, minimum) in FUNCTIONS.items():
            for label, run in (("optuna direct, 4 in flight", optuna_direct_in_flight),
                               ("smac direct, 4 in flight", smac_direct_in_flight)):
                values = [run(function, seed, arguments.trials, 4) - minimum for seed in range(arguments.seeds)]
                report["regret"][function][label] = {
                    "median": float(np.median(values)), "worst": float(np.max(values)), "all": values,
                }
                print(function, label, report["regret"][function][label], flush=True)
        arguments.output.write_text(json.dumps(report, indent=2))
        return 0

    ray.init(num_cpus=4, include_dashboard=False, log_to_driver=False)
    storage = tempfile.mkdtemp(prefix="searcher-regret-")
    report: dict[str, Any] = {"trials": arguments.trials, "seeds": arguments.seeds}

    if not arguments.skip_regret:
        regrets: dict[str, dict[str, list[float]]] = {}
        for function, (_, minimum) in FUNCTIONS.items():
            rows: dict[str, list[float]] = {}
            for seed in range(arguments.seeds):
                for slots in (1, 4):
                    for searcher in ("random", "optuna", "smac"):
                        result = through_tuner(function, searcher, seed, slots, arguments.trials, storage)
                        rows.setdefault(f"tuner {searcher}, {slots} slot{'s' if slots > 1 else ''}", []).append(
                            result["best"] - minimum
                        )
                rows.setdefault("optuna direct", []).append(optuna_direct(function, seed, arguments.trials) - minimum)
                rows.setdefault("smac direct", []).append(smac_direct(function, seed, arguments.trials) - minimum)
                print(function, seed, {key: round(values[-1], 5) for key, values in rows.items()}, flush=True)
            regrets[function] = rows
        report["regret"] = {
            function: {
                key: {"median": float(np.median(values)), "worst": float(np.max(values)), "all": values}
                for key, values in rows.items()
            }
            for function, rows in regrets.items()
        }

    if not arguments.skip_latency:
        report["suggest_latency"] = {}
        for searcher in ("random", "optuna", "smac"):
            result = through_tuner("branin", searcher, 0, 2, arguments.latency_trials, storage)
            report["suggest_latency"][searcher] = {
                str(around): {
                    "all_calls": latency(result["timings"], around, False),
                    "handing_out": latency(result["timings"], around, True),
                }
                for around in (50, 200, 500)
                if around <= arguments.latency_trials
            }
            print(searcher, json.dumps(report["suggest_latency"][searcher]), flush=True)

    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
