"""Optuna's samplers through its ask-and-tell interface, over the shared search space.

Each configuration is built define-by-run in the space's dependency order (parents before
children), so a hyperparameter whose condition does not hold is never suggested and Optuna's
trial records only active values. Ordinal hyperparameters are given to Optuna as categoricals.
"""

from __future__ import annotations

import logging
from typing import Any

import optuna
from ConfigSpace.hyperparameters import (
    CategoricalHyperparameter,
    Constant,
    FloatHyperparameter,
    IntegerHyperparameter,
    OrdinalHyperparameter,
)
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

from search_spaces import SearchSpace, to_native
from tuner.searchers.threaded import ThreadedSearcher

logger = logging.getLogger(__name__)

SAMPLERS = ("tpe", "cmaes", "gp", "qmc", "random")
OPTIONS = ("sampler", "n_startup_trials", "multivariate", "constant_liar")

# Optuna draws again when a sampled configuration is forbidden; after this many draws in a row
# the space is taken to be almost entirely forbidden.
MAX_FORBIDDEN_DRAWS = 1000


def make_sampler(name: str, seed: int, options: dict[str, Any], conditional: bool) -> optuna.samplers.BaseSampler:
    """Create the Optuna sampler called ``name`` with the searcher's options.

    ``conditional`` is true when the space has conditions. Multivariate TPE then groups trials by
    their sets of active hyperparameters, because it cannot model them together otherwise.
    """
    n_startup_trials = options.get("n_startup_trials", 10)
    if name == "tpe":
        # None keeps Optuna's own default: multivariate TPE for a single objective (Optuna 5.1).
        multivariate = options.get("multivariate")
        return optuna.samplers.TPESampler(
            seed=seed,
            n_startup_trials=n_startup_trials,
            multivariate=multivariate,
            group=conditional and multivariate is not False,
            constant_liar=options.get("constant_liar", True),
        )
    if name == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed, n_startup_trials=n_startup_trials)
    if name == "gp":
        return optuna.samplers.GPSampler(seed=seed, n_startup_trials=n_startup_trials)
    if name == "qmc":
        return optuna.samplers.QMCSampler(seed=seed)
    return optuna.samplers.RandomSampler(seed=seed)


def distribution_of(hyperparameter: Any) -> BaseDistribution | None:
    """Return the Optuna distribution of a hyperparameter, or ``None`` for a constant."""
    if isinstance(hyperparameter, Constant):
        return None
    if isinstance(hyperparameter, IntegerHyperparameter):
        return IntDistribution(int(hyperparameter.lower), int(hyperparameter.upper), log=hyperparameter.log)
    if isinstance(hyperparameter, FloatHyperparameter):
        return FloatDistribution(float(hyperparameter.lower), float(hyperparameter.upper), log=hyperparameter.log)
    if isinstance(hyperparameter, CategoricalHyperparameter):
        return CategoricalDistribution([to_native(choice) for choice in hyperparameter.choices])
    if isinstance(hyperparameter, OrdinalHyperparameter):
        return CategoricalDistribution([to_native(value) for value in hyperparameter.sequence])
    raise TypeError(f"unsupported hyperparameter {hyperparameter!r}")


class OptunaSearcher(ThreadedSearcher):
    """Optuna (TPE by default) as a Ray Tune searcher.

    Options: ``sampler`` (tpe, cmaes, gp, qmc, random), ``n_startup_trials`` (random trials before
    the model is used, default 10), ``multivariate`` (TPE only; unset keeps Optuna's default, which
    is multivariate for one objective), ``constant_liar`` (TPE only, default true: running trials
    count as bad, so parallel slots spread out).

    Warning:
        The ``gp`` sampler needs PyTorch, which is not a dependency of this project; install it
        with ``pip install torch`` to use it. ``cmaes`` has no model of categorical values and
        samples them at random.
    """

    def __init__(
        self, space: SearchSpace, metric: str, mode: str, seed: int, options: dict[str, Any] | None = None
    ) -> None:
        super().__init__(space, metric, mode, seed)
        self.options = dict(options or {})
        self._distributions = {name: distribution_of(space[name]) for name in space.names}
        # A sampler from saved state, whose random numbers go on where the saved run stopped.
        self._saved_sampler: optuna.samplers.BaseSampler | None = None
        self.reset_model()

    def model_attributes(self) -> tuple[str, ...]:
        return ("study", "_open_trials", "_trial_numbers")

    def reset_model(self) -> None:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        sampler = self._saved_sampler
        if sampler is None:
            sampler = make_sampler(
                self.options.get("sampler", "tpe"),
                self.seed,
                self.options,
                conditional=bool(self.space.configspace.conditions),
            )
        self.study = optuna.create_study(direction="maximize" if self.mode == "max" else "minimize", sampler=sampler)
        self._open_trials: dict[int, optuna.trial.Trial] = {}
        self._trial_numbers: dict[str, int] = {}

    def get_state(self) -> dict[str, Any]:
        """Return the searcher's state with the sampler, whose random state a restored searcher continues.

        A sampler made anew from the seed would draw its first random configurations again.
        """
        return {**super().get_state(), "sampler": self.study.sampler}

    def set_state(self, state: dict[str, Any]) -> None:
        self._saved_sampler = state.get("sampler")
        super().set_state(state)

    def enqueue(self, config: dict[str, Any]) -> None:
        """Make ``config`` one of the next configurations Optuna proposes (a starting point)."""
        self.study.enqueue_trial(config, skip_if_exists=True)

    def ask_model(self) -> dict[str, Any] | None:
        for _ in range(MAX_FORBIDDEN_DRAWS):
            trial = self.study.ask()
            config = self._suggest(trial)
            if not self._is_forbidden(config):
                self._open_trials[trial.number] = trial
                self._trial_numbers[_key(config)] = trial.number
                return config
            # A forbidden combination is a failed trial to Optuna, so its model learns to avoid it.
            self.study.tell(trial, state=TrialState.FAIL)
        raise RuntimeError(f"Optuna drew {MAX_FORBIDDEN_DRAWS} forbidden configurations in a row")

    def _suggest(self, trial: optuna.trial.Trial) -> dict[str, Any]:
        config: dict[str, Any] = {}
        for name in self.space.names:
            if name not in self.space.active_names(config):
                continue
            hyperparameter = self.space[name]
            distribution = self._distributions[name]
            if distribution is None:
                config[name] = to_native(hyperparameter.value)
            elif isinstance(distribution, IntDistribution):
                config[name] = trial.suggest_int(name, distribution.low, distribution.high, log=distribution.log)
            elif isinstance(distribution, FloatDistribution):
                config[name] = trial.suggest_float(name, distribution.low, distribution.high, log=distribution.log)
            else:
                config[name] = trial.suggest_categorical(name, distribution.choices)
        return config

    def _is_forbidden(self, config: dict[str, Any]) -> bool:
        return any(clause.is_forbidden_value(config) for clause in self.space.configspace.forbidden_clauses)

    def tell_model(self, config: dict[str, Any], value: float | None) -> None:
        number = self._trial_numbers.pop(_key(config), None)
        trial = self._open_trials.pop(number, None) if number is not None else None
        if trial is None:
            self._add_finished(config, value)
        elif value is None:
            self.study.tell(trial, state=TrialState.FAIL)
        else:
            self.study.tell(trial, value)

    def _add_finished(self, config: dict[str, Any], value: float | None) -> None:
        """Record a result Optuna did not propose (a warm start, a known point, a restored history)."""
        distributions = {name: self._distributions[name] for name in config if self._distributions.get(name)}
        params = {name: config[name] for name in distributions}
        state = TrialState.COMPLETE if value is not None else TrialState.FAIL
        self.study.add_trial(
            optuna.trial.create_trial(
                params=params, distributions=distributions, value=value, state=state
            )
        )


def _key(config: dict[str, Any]) -> str:
    return repr(sorted(config.items()))
