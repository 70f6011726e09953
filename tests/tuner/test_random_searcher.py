"""The random searcher: seeded, inside the space, aware of failures, restorable."""

from __future__ import annotations

from pathlib import Path

from search_spaces import load_space
from search_spaces.yaml_format import space_from_mapping
from tuner.searchers import RandomSearcher, make_searcher


def make_searcher_over(space_name: str = "keras_cnn", seed: int = 0) -> RandomSearcher:
    space = load_space(space_name, Path("."))
    return make_searcher("random", space, metric="val_accuracy", mode="max", seed=seed)


def test_same_seed_gives_same_sequence() -> None:
    first = make_searcher_over(seed=5)
    second = make_searcher_over(seed=5)

    assert [first.suggest(str(index)) for index in range(10)] == [second.suggest(str(index)) for index in range(10)]


def test_different_seed_gives_different_sequence() -> None:
    first = make_searcher_over(seed=5)
    second = make_searcher_over(seed=6)

    assert [first.suggest(str(index)) for index in range(5)] != [second.suggest(str(index)) for index in range(5)]


def test_suggestions_lie_in_bounds_with_declared_types() -> None:
    searcher = make_searcher_over()

    for index in range(100):
        config = searcher.suggest(str(index))
        assert type(config["filters"]) is int
        assert 16 <= config["filters"] <= 256
        assert type(config["kernel_size"]) is int
        assert 1 <= config["kernel_size"] <= 8
        assert type(config["dropout"]) is float
        assert 0.0 <= config["dropout"] <= 0.5
        assert type(config["pool_size"]) is int
        assert config["pool_size"] in (1, 2)
        assert type(config["learning_rate"]) is float
        assert 1e-4 <= config["learning_rate"] <= 3e-2
        assert type(config["dense_units"]) is int
        assert 32 <= config["dense_units"] <= 256


def test_running_configuration_not_handed_out_twice() -> None:
    space = space_from_mapping({"hyperparameters": {"a": {"type": "categorical", "choices": [1, 2, 3]}}}, "s")
    searcher = make_searcher("random", space, metric="value", mode="min", seed=0)

    running = [searcher.suggest(str(index)) for index in range(3)]

    assert sorted(config["a"] for config in running) == [1, 2, 3]


def test_failed_and_nan_trials_counted_as_completed() -> None:
    searcher = make_searcher_over()
    searcher.suggest("a")
    searcher.suggest("b")

    searcher.on_trial_complete("a", error=True)
    searcher.on_trial_complete("b", result={"val_accuracy": float("nan")})

    assert searcher.n_completed == 2
    assert searcher.objective({"val_accuracy": float("inf")}) is None
    assert searcher.objective({"val_accuracy": 0.5}) == 0.5


def test_saved_state_restores_sequence(tmp_path: Path) -> None:
    searcher = make_searcher_over(seed=9)
    for index in range(3):
        searcher.suggest(str(index))
    searcher.save(str(tmp_path / "searcher.pkl"))
    expected = [searcher.suggest(f"after-{index}") for index in range(3)]

    restored = make_searcher_over(seed=1)
    restored.restore(str(tmp_path / "searcher.pkl"))

    assert [restored.suggest(f"after-{index}") for index in range(3)] == expected
