"""One contract for every searcher: bounds, types, conditions, failures, slots, seeds and saved state."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import pytest
from ray.tune.search import Searcher

from search_spaces.yaml_format import space_from_mapping
from tuner.searchers import SEARCHER_NAMES, SpaceSearcher, make_searcher

CONDITIONAL_SPACE = {
    "hyperparameters": {
        "units": {"type": "int", "low": 8, "high": 64, "log": True},
        "rate": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
        "kind": {"type": "categorical", "choices": ["conv", "dense", 3]},
        "kernel": {"type": "ordinal", "choices": [1, 3, 5]},
        "drop": {"type": "float", "low": 0.0, "high": 0.5},
        "act": {"type": "constant", "value": "relu"},
    },
    "conditions": [{"hyperparameter": "kernel", "parent": "kind", "values": ["conv"]}],
    "forbidden": [{"kind": 3, "drop": 0.0}, {"kind": "dense", "units": [8, 9, 10]}],
}
LINE_SPACE = {"hyperparameters": {"x": {"type": "float", "low": 0.0, "high": 1.0}}}
WAIT_S = 60.0


def make_contract_searcher(
    name: str, space_data: dict, mode: str = "min", seed: int = 0, slots: int = 1, n_trials: int = 40
) -> SpaceSearcher:
    space = space_from_mapping(space_data, "contract")
    options: dict[str, Any] = {}
    if name == "design":
        options["configs"] = space.sample(n_trials, seed=seed)
    if name == "optuna":
        options["n_startup_trials"] = 5
    searcher = make_searcher(name, space, metric="score", mode=mode, seed=seed, options=options, n_trials=n_trials)
    searcher.set_max_concurrency(slots)
    return searcher


def next_config(searcher: SpaceSearcher, trial_id: str) -> dict[str, Any]:
    """Ask until the searcher hands out a configuration; model-based ones prepare it on a thread."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        config = searcher.suggest(trial_id)
        if config == Searcher.FINISHED:
            raise AssertionError("searcher finished early")
        if config is not None:
            return config
        time.sleep(0.002)
    raise AssertionError(f"no configuration within {WAIT_S} s")


def run_sequentially(
    searcher: SpaceSearcher, objective: Any, n_trials: int, prefix: str = "t"
) -> list[dict[str, Any]]:
    configs = []
    for index in range(n_trials):
        trial_id = f"{prefix}{index}"
        config = next_config(searcher, trial_id)
        configs.append(config)
        searcher.on_trial_complete(trial_id, result={"score": objective(config)})
    return configs


def check_in_space(config: dict[str, Any]) -> None:
    assert type(config["units"]) is int
    assert 8 <= config["units"] <= 64
    assert type(config["rate"]) is float
    assert 1e-4 <= config["rate"] <= 1e-1
    assert config["kind"] in ("conv", "dense", 3)
    assert type(config["drop"]) is float
    assert 0.0 <= config["drop"] <= 0.5
    assert config["act"] == "relu"
    assert ("kernel" in config) == (config["kind"] == "conv")
    if "kernel" in config:
        assert config["kernel"] in (1, 3, 5)
        assert type(config["kernel"]) is int
    if config["kind"] == 3:
        assert config["drop"] != 0.0
    if config["kind"] == "dense":
        assert config["units"] not in (8, 9, 10)


def contract_objective(config: dict[str, Any]) -> float:
    return math.log(config["rate"]) ** 2 + config["drop"] + (0.5 if config["kind"] == "dense" else 0.0)


@pytest.mark.parametrize("name", SEARCHER_NAMES)
def test_values_in_bounds_types_and_conditions(name: str) -> None:
    searcher = make_contract_searcher(name, CONDITIONAL_SPACE)

    configs = run_sequentially(searcher, contract_objective, 30)

    for config in configs:
        check_in_space(config)


@pytest.mark.parametrize("name", SEARCHER_NAMES)
def test_first_trials_failing_do_not_stop_search(name: str) -> None:
    searcher = make_contract_searcher(name, CONDITIONAL_SPACE)

    for index in range(12):
        next_config(searcher, f"f{index}")
        if index % 3 == 0:
            searcher.on_trial_complete(f"f{index}", error=True)
        elif index % 3 == 1:
            searcher.on_trial_complete(f"f{index}", result={"score": float("nan")})
        else:
            searcher.on_trial_complete(f"f{index}", result={"score": float("inf")})
    configs = run_sequentially(searcher, contract_objective, 10, prefix="after")

    assert [value for _, value in searcher.history[:12]] == [None] * 12
    assert all(value is not None for _, value in searcher.history[12:])
    for config in configs:
        check_in_space(config)


@pytest.mark.parametrize("name", SEARCHER_NAMES)
def test_stopped_trial_told_with_last_value(name: str) -> None:
    searcher = make_contract_searcher(name, CONDITIONAL_SPACE)
    config = next_config(searcher, "s0")

    searcher.on_trial_complete("s0", result={"score": 0.25, "training_iteration": 3, "done": True})

    assert searcher.history == [(config, 0.25)]


@pytest.mark.parametrize("name", SEARCHER_NAMES)
def test_running_configurations_distinct(name: str) -> None:
    searcher = make_contract_searcher(name, CONDITIONAL_SPACE, slots=4)

    running = [next_config(searcher, f"r{index}") for index in range(4)]

    assert len({repr(sorted(config.items())) for config in running}) == 4


@pytest.mark.parametrize("name", SEARCHER_NAMES)
def test_same_seed_one_slot_same_sequence(name: str) -> None:
    first = make_contract_searcher(name, CONDITIONAL_SPACE, seed=3)
    second = make_contract_searcher(name, CONDITIONAL_SPACE, seed=3)

    assert run_sequentially(first, contract_objective, 15) == run_sequentially(second, contract_objective, 15)


@pytest.mark.parametrize("name", SEARCHER_NAMES)
@pytest.mark.parametrize("n_finished", [3, 12])
def test_restored_searcher_continues_without_repeats(name: str, n_finished: int, tmp_path: Path) -> None:
    # 3 finished trials are fewer than the random start of Optuna and SMAC, 12 are more.
    searcher = make_contract_searcher(name, CONDITIONAL_SPACE, seed=2)
    finished = run_sequentially(searcher, contract_objective, n_finished)
    searcher.save(str(tmp_path / "state.pkl"))

    restored = make_contract_searcher(name, CONDITIONAL_SPACE, seed=2)
    restored.restore(str(tmp_path / "state.pkl"))
    later = run_sequentially(restored, contract_objective, 8, prefix="later")

    assert len(restored.history) == n_finished + 8
    for config in later:
        check_in_space(config)
        assert config not in finished


@pytest.mark.parametrize("name", ["optuna", "smac"])
@pytest.mark.parametrize("mode", ["min", "max"])
def test_model_searchers_follow_mode(name: str, mode: str) -> None:
    searcher = make_contract_searcher(name, LINE_SPACE, mode=mode, seed=1, n_trials=30)

    configs = run_sequentially(searcher, lambda config: config["x"], 30)

    late_mean = sum(config["x"] for config in configs[-10:]) / 10
    if mode == "max":
        assert late_mean > 0.7
    else:
        assert late_mean < 0.3


@pytest.mark.parametrize("name", ["optuna", "smac"])
def test_known_results_steer_model_searchers(name: str) -> None:
    searcher = make_contract_searcher(name, LINE_SPACE, mode="min", seed=4, n_trials=20)
    for index in range(20):
        x = index / 19
        searcher.tell_known({"x": x}, x)

    configs = run_sequentially(searcher, lambda config: config["x"], 10)

    assert sum(config["x"] for config in configs) / 10 < 0.35


@pytest.mark.parametrize("name", ["optuna", "smac"])
def test_starting_points_handed_out_first(name: str) -> None:
    searcher = make_contract_searcher(name, LINE_SPACE, seed=0)
    searcher.add_starting_points([{"x": 0.125}, {"x": 0.875}])

    configs = run_sequentially(searcher, lambda config: config["x"], 3)

    assert configs[:2] == [{"x": 0.125}, {"x": 0.875}]


def test_design_searcher_runs_rows_in_order_then_finishes() -> None:
    space = space_from_mapping(LINE_SPACE, "s")
    searcher = make_searcher("design", space, "score", "min", 0, {"configs": [{"x": 0.1}, {"x": 0.2}]})

    first = searcher.suggest("a")
    second = searcher.suggest("b")

    assert [first, second] == [{"x": 0.1}, {"x": 0.2}]
    assert searcher.suggest("c") == Searcher.FINISHED
