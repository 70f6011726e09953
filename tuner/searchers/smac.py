"""SMAC3 through its ask-and-tell interface: a random-forest, Gaussian-process or random facade.

SMAC minimises a cost, so for ``mode: max`` the cost is the negated metric. A failed trial is reported
as CRASHED with a finite cost worse than every real result so far (the worst cost plus a tenth of
the observed range, at least 1), and the crashed trials' costs are raised again whenever a worse
real result arrives. An infinite cost would break the normalisation of SMAC's surrogate model.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ConfigSpace import Configuration
from smac import BlackBoxFacade, HyperparameterOptimizationFacade, RandomFacade, Scenario
from smac.runhistory import StatusType, TrialInfo, TrialValue

from search_spaces import SearchSpace
from tuner.searchers.threaded import ThreadedSearcher

logger = logging.getLogger(__name__)

FACADES = {"hpo": HyperparameterOptimizationFacade, "blackbox": BlackBoxFacade, "random": RandomFacade}
OPTIONS = ("facade", "n_initial_configs", "n_trials")


class SmacSearcher(ThreadedSearcher):
    """SMAC3 as a Ray Tune searcher.

    Options: ``facade`` (``hpo``: random forest, the default; ``blackbox``: Gaussian process;
    ``random``), ``n_initial_configs`` (the Sobol initial design's size; SMAC's default is ten per
    hyperparameter, at most a quarter of the trials) and ``n_trials`` (the budget SMAC plans its
    initial design for; defaults to the experiment's trials).
    """

    def __init__(
        self,
        space: SearchSpace,
        metric: str,
        mode: str,
        seed: int,
        options: dict[str, Any] | None = None,
        n_trials: int = 100,
    ) -> None:
        super().__init__(space, metric, mode, seed)
        self.options = dict(options or {})
        self._n_trials = int(self.options.get("n_trials", n_trials))
        self.reset_model()

    def model_attributes(self) -> tuple[str, ...]:
        return ("_smac", "_open", "_crashed", "_costs", "_output_directory")

    def reset_model(self) -> None:
        # SMAC writes its run history under an output folder; each model gets a private temporary one.
        self._output_directory = Path(tempfile.mkdtemp(prefix="tuner-smac-"))
        self._smac: Any = None
        self._open: dict[str, TrialInfo] = {}
        self._crashed: list[TrialInfo] = []
        self._costs: list[float] = []

    def _build(self) -> Any:
        """Create the facade on the worker thread, where every later SMAC call happens too."""
        facade = FACADES[self.options.get("facade", "hpo")]
        scenario = Scenario(
            self.space.configspace,
            name="tuner",
            output_directory=self._output_directory,
            deterministic=True,
            n_trials=self._n_trials,
            seed=self.seed,
        )
        initial_options: dict[str, Any] = {}
        if "n_initial_configs" in self.options:
            initial_options["n_configs"] = int(self.options["n_initial_configs"])
        initial_design = facade.get_initial_design(scenario, **initial_options)
        intensifier = facade.get_intensifier(scenario, max_config_calls=1)
        return facade(
            scenario,
            target_function=_never_called,
            initial_design=initial_design,
            intensifier=intensifier,
            overwrite=True,
            logging_level=logging.WARNING,
        )

    def ask_model(self) -> dict[str, Any] | None:
        if self._smac is None:
            self._smac = self._build()
        info = self._smac.ask()
        config = self.space.to_dict(info.config)
        self._open[_key(config)] = info
        return config

    def tell_model(self, config: dict[str, Any], value: float | None) -> None:
        if self._smac is None:
            self._smac = self._build()
        info = self._open.pop(_key(config), None)
        if info is None:
            info = TrialInfo(config=Configuration(self.space.configspace, values=config), seed=self.seed)
        if value is None:
            self._crashed.append(info)
            self._smac.tell(info, TrialValue(cost=self._crash_cost(), status=StatusType.CRASHED), save=False)
            return
        cost = -value if self.mode == "max" else value
        worst_before = max(self._costs) if self._costs else None
        self._costs.append(cost)
        self._smac.tell(info, TrialValue(cost=cost, status=StatusType.SUCCESS), save=False)
        if self._crashed and (worst_before is None or cost > worst_before or len(self._costs) == 2):
            self._raise_crash_costs()

    def _crash_cost(self) -> float:
        if not self._costs:
            return 1.0
        worst, best = max(self._costs), min(self._costs)
        return worst + max(1.0, 0.1 * (worst - best))

    def _raise_crash_costs(self) -> None:
        """Re-record every crashed trial with the current crash cost (SMAC overwrites the entry)."""
        cost = self._crash_cost()
        for info in self._crashed:
            self._smac.runhistory.add(
                config=info.config,
                cost=cost,
                status=StatusType.CRASHED,
                instance=info.instance,
                seed=info.seed,
                budget=info.budget,
                force_update=True,
            )

    def close(self) -> None:
        super().close()
        shutil.rmtree(self._output_directory, ignore_errors=True)


def _never_called(config: Configuration, seed: int = 0) -> float:
    raise RuntimeError("SMAC's target function is unused: trials run on Ray Tune and their results go to SMAC through tell()")


def _key(config: dict[str, Any]) -> str:
    return repr(sorted(config.items()))
