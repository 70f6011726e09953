"""The experiment file: a pydantic model, its defaults and the checks that need more than types."""

from __future__ import annotations

import inspect
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from search_spaces import SearchSpace, load_space
from search_spaces.design_table import DesignRow, read_design_table
from trainables import HYPERPARAMETERS, REGISTERED, REPORTED_METRICS, argument_names, resolve_argument_check, resolve_trainable
from tuner.errors import InputError, SpecError
from tuner.validation import describe_error, format_validation_error
from tuner.yamlio import dump_yaml, read_yaml

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
SEARCHERS = ("random", "design", "optuna", "smac")
SCHEDULERS = ("fifo", "asha", "hyperband", "median")
DEFAULT_STORAGE = "./tuner-results"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class TrainableSpec(_Strict):
    """What each trial runs: a registered name or ``module:function``, and its fixed arguments."""

    name: str
    args: dict[str, Any] = Field(default_factory=dict)


# NumPy's random generators, which the searchers and trainables seed, take seeds up to 2**32 - 1.
MAX_SEED = 2**32 - 1


class SearcherSpec(BaseModel):
    """Which searcher proposes configurations; ``seed`` defaults to the experiment's seed.

    The searcher's own settings sit beside ``name`` and are checked by its options model below.
    """

    model_config = ConfigDict(extra="allow", strict=True)

    name: str
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)

    @property
    def options(self) -> dict[str, Any]:
        """The searcher's own settings: every key besides ``name`` and ``seed``."""
        return dict(self.model_extra or {})


class RandomOptions(_Strict):
    """The random searcher takes no settings."""


class DesignOptions(_Strict):
    """``table``: a CSV file with one row per trial, run in order."""

    table: str


class OptunaOptions(_Strict):
    """Optuna's settings; see :class:`tuner.searchers.optuna.OptunaSearcher`."""

    sampler: Literal["tpe", "cmaes", "gp", "qmc", "random"] = "tpe"
    n_startup_trials: int = Field(default=10, ge=0)
    multivariate: bool | None = None
    constant_liar: bool = True
    points: str | None = None


class SmacOptions(_Strict):
    """SMAC's settings; see :class:`tuner.searchers.smac.SmacSearcher`."""

    facade: Literal["hpo", "blackbox", "random"] = "hpo"
    n_initial_configs: int | None = Field(default=None, ge=1)
    n_trials: int | None = Field(default=None, ge=1)
    points: str | None = None


SEARCHER_OPTIONS: dict[str, type[BaseModel]] = {
    "random": RandomOptions,
    "design": DesignOptions,
    "optuna": OptunaOptions,
    "smac": SmacOptions,
}


class SchedulerSpec(_Strict):
    """Early stopping over training epochs (``training_iteration``).

    ``max_epochs`` defaults to the trainable's ``max_epochs`` argument. ``grace_period`` is the
    number of epochs a trial runs before it can be stopped; ``reduction_factor`` is ASHA's and
    Hyperband's eta; ``min_samples_required`` is how many trials the median rule compares against.
    """

    name: str = "fifo"
    max_epochs: int | None = Field(default=None, ge=1)
    grace_period: int = 1
    reduction_factor: float = Field(default=3.0, gt=1)
    brackets: int = Field(default=1, ge=1)
    min_samples_required: int = Field(default=3, ge=1)


class ResourcesSpec(_Strict):
    """Resources of one trial; fractions of a GPU let several trials share one card."""

    cpu: float = Field(default=1.0, ge=0)
    gpu: float = Field(default=0.0, ge=0)


class ExperimentSpec(_Strict):
    """One experiment as written in its YAML file, with every default filled in."""

    name: str
    trainable: TrainableSpec
    space: str | dict[str, Any]
    metric: str
    mode: Literal["min", "max"]
    searcher: SearcherSpec = Field(default_factory=lambda: SearcherSpec(name="random"))
    trials: int = Field(default=10, ge=1)
    slots: int = Field(default=1, ge=1)
    resources: ResourcesSpec = Field(default_factory=ResourcesSpec)
    scheduler: SchedulerSpec = Field(default_factory=SchedulerSpec)
    time_budget_s: float | None = Field(default=None, gt=0)
    storage: str = Field(default=DEFAULT_STORAGE, min_length=1)
    seed: int = Field(default=0, ge=0, le=MAX_SEED)
    max_failures: int = Field(default=0, ge=0)
    warm_start: str | None = None

    @pydantic.field_validator("searcher", "scheduler", mode="before")
    @classmethod
    def _name_alone(cls, value: Any) -> Any:
        """Accept ``searcher: optuna`` as short for ``searcher: {name: optuna}``."""
        return {"name": value} if isinstance(value, str) else value

    @pydantic.field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not NAME_PATTERN.match(value):
            raise ValueError(
                f"must be 1 to 100 letters, digits, '_', '.' or '-', starting with a letter or digit, got {value!r}"
            )
        return value


@dataclass
class Experiment:
    """A validated experiment: the spec, its loaded search space and where it was read from.

    ``design`` contains the rows of a design table (searcher ``design``) and ``points`` the starting
    points and known results given to Optuna or SMAC; both are already checked against the space.
    """

    spec: ExperimentSpec
    space: SearchSpace
    source: str
    base_dir: Path
    design: list[DesignRow] = field(default_factory=list)
    points: list[DesignRow] = field(default_factory=list)
    table_paths: dict[str, str] = field(default_factory=dict)
    warm_start: list[tuple[dict[str, Any], float | None]] = field(default_factory=list)

    @property
    def n_trials(self) -> int:
        """Trials the experiment runs: ``trials``, or fewer when a design table has fewer rows."""
        if self.design:
            return min(self.spec.trials, len(self.design))
        return self.spec.trials

    def searcher_options(self) -> dict[str, Any]:
        """The searcher's settings as its constructor takes them."""
        options = {key: value for key, value in self.spec.searcher.options.items() if key not in ("table", "points")}
        if self.spec.searcher.name == "design":
            options["configs"] = [row.config for row in self.design]
        return options

    @property
    def storage_path(self) -> str:
        """The storage root as an absolute local path or a URI."""
        return resolve_storage(self.spec.storage)

    @property
    def max_epochs(self) -> int | None:
        """Epochs of a full trial: the scheduler's setting, else the trainable's ``max_epochs``."""
        if self.spec.scheduler.max_epochs is not None:
            return self.spec.scheduler.max_epochs
        return trainable_max_epochs(self.spec.trainable)

    def to_yaml(self) -> str:
        """The spec as run, with every default filled in."""
        data = self.spec.model_dump(mode="json")
        data["searcher"]["seed"] = self.searcher_seed
        data["searcher"].update(self.table_paths)
        data["scheduler"]["max_epochs"] = self.max_epochs
        return dump_yaml(data)

    @property
    def searcher_seed(self) -> int:
        """The searcher's own seed, or the experiment's seed when none is given."""
        return self.spec.searcher.seed if self.spec.searcher.seed is not None else self.spec.seed


def resolve_storage(storage: str) -> str:
    """Make a local storage path absolute; leave a URI such as ``s3://bucket/path`` as it is."""
    if "://" in storage:
        return storage
    return str(Path(storage).expanduser().resolve())


def trainable_max_epochs(trainable: TrainableSpec) -> int | None:
    """The trainable's ``max_epochs``: from its arguments, else its signature's default."""
    if "max_epochs" in trainable.args:
        value = trainable.args["max_epochs"]
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    try:
        function = resolve_trainable(trainable.name)
    except InputError:
        return None
    parameter = inspect.signature(function).parameters.get("max_epochs")
    if parameter is not None and isinstance(parameter.default, int):
        return parameter.default
    return None


def load_experiment(path: Path, overrides: dict[str, Any] | None = None) -> Experiment:
    """Read, validate and resolve an experiment file.

    ``overrides`` replace top-level keys of the file (the command line's ``--trials`` and the like)
    before validation, so they are checked like the file. Raises :class:`SpecError` or
    :class:`SpaceError` naming the file and the field; nothing is started or written.
    """
    data = read_yaml(path)
    return experiment_from_mapping(data, str(path), path.resolve().parent, overrides)


def experiment_from_mapping(
    data: Any,
    source: str,
    base_dir: Path,
    overrides: dict[str, Any] | None = None,
    recorded_space: SearchSpace | None = None,
) -> Experiment:
    """Validate an already parsed experiment mapping; see :func:`load_experiment`.

    ``recorded_space`` replaces the space the mapping names, and the warm start is not read
    again: a resumed experiment uses what was recorded when it started.
    """
    if not isinstance(data, dict):
        raise SpecError(f"{source}: an experiment file must be a mapping of keys to values, got {data!r}")
    data = dict(data)
    for key, value in (overrides or {}).items():
        if value is not None:
            if key == "searcher" and isinstance(data.get("searcher"), dict):
                data["searcher"] = {**data["searcher"], "name": value}
            else:
                data[key] = value
    try:
        spec = ExperimentSpec.model_validate(data)
    except pydantic.ValidationError as error:
        raise SpecError(format_validation_error(error, source, ExperimentSpec)) from None

    space = recorded_space or load_space(spec.space, base_dir, source=f"{source}: space")
    check_trainable(spec, space, base_dir, source)
    check_space_fits_trainable(spec, space, source)
    check_metric(spec, source)
    check_searcher(spec, source)
    check_scheduler(spec, source)
    check_resources(spec, source)
    experiment = Experiment(spec=spec, space=space, source=source, base_dir=base_dir)
    read_searcher_tables(experiment)
    if spec.warm_start is not None and recorded_space is None:
        from tuner.warm_start import load_warm_start

        experiment.warm_start = load_warm_start(
            experiment.storage_path, spec.warm_start, space, spec.metric, spec.mode, source
        )
    return experiment


def read_searcher_tables(experiment: Experiment) -> None:
    """Read the design table or starting points the searcher names, checked against the space."""
    options = experiment.spec.searcher.options
    for key in ("table", "points"):
        reference = options.get(key)
        if reference is None:
            continue
        path = Path(reference).expanduser()
        if not path.is_absolute():
            path = experiment.base_dir / path
        if not path.is_file():
            raise SpecError(f"{experiment.source}: searcher.{key}: file {path} not found")
        metric = experiment.spec.metric if key == "points" else None
        rows = read_design_table(path, experiment.space, metric)
        experiment.table_paths[key] = str(path.resolve())
        if key == "table":
            experiment.design = rows
        else:
            experiment.points = rows


def check_trainable(spec: ExperimentSpec, space: SearchSpace, base_dir: Path, source: str) -> None:
    """Check that the trainable exists and takes the given arguments with the right types and bounds.

    The arguments are checked against the trainable's signature, unless it takes any keyword
    (``**args``). A registered trainable with an argument check (``trainables.ARGUMENT_CHECKS``)
    is then checked by it too, and ``spec.trainable.args`` is replaced by the arguments it
    returns, such as paths made absolute against ``base_dir``.
    """
    try:
        function = resolve_trainable(spec.trainable.name)
    except SpecError as error:
        raise SpecError(f"{source}: {error}") from None
    if not _takes_any_keyword(function):
        _check_signature_arguments(spec, function, source)
    argument_check = resolve_argument_check(spec.trainable.name)
    if argument_check is not None:
        spec.trainable.args = argument_check(spec.trainable.args, space, base_dir, source)


def _takes_any_keyword(function: Any) -> bool:
    parameters = inspect.signature(function).parameters.values()
    return any(parameter.kind is inspect.Parameter.VAR_KEYWORD for parameter in parameters)


def _check_signature_arguments(spec: ExperimentSpec, function: Any, source: str) -> None:
    allowed = argument_names(function)
    for key in spec.trainable.args:
        if key not in allowed:
            raise SpecError(
                f"{source}: trainable.args.{key} is not an argument of {spec.trainable.name} "
                f"(allowed: {', '.join(allowed) or 'none'})"
            )
    arguments_model = _arguments_model(function)
    if arguments_model is None:
        return
    try:
        arguments_model.model_validate(spec.trainable.args)
    except pydantic.ValidationError as error:
        first = error.errors()[0]
        first = {**first, "loc": ("trainable", "args", *first["loc"])}
        raise SpecError(f"{source}: {describe_error(first)}") from None


def _arguments_model(function: Any) -> type[BaseModel] | None:
    """Build a strict pydantic model of a trainable's keyword arguments from its type hints."""
    try:
        # Extras keep the bounds of Annotated[int, Field(ge=1)] hints.
        hints = typing.get_type_hints(function, include_extras=True)
    except (NameError, TypeError):
        return None
    fields: dict[str, Any] = {}
    for parameter in list(inspect.signature(function).parameters.values())[1:]:
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            continue
        annotation = hints.get(parameter.name, Any)
        default = ... if parameter.default is inspect.Parameter.empty else parameter.default
        fields[parameter.name] = (annotation, default)
    return pydantic.create_model(
        "TrainableArguments", __config__=ConfigDict(extra="forbid", strict=True), **fields
    )


def check_space_fits_trainable(spec: ExperimentSpec, space: SearchSpace, source: str) -> None:
    """Check that a registered trainable gets the hyperparameters it reads and no others."""
    known = HYPERPARAMETERS.get(spec.trainable.name)
    if known is None:
        return
    required, optional = known
    missing = [name for name in required if name not in space.names]
    if missing:
        raise SpecError(
            f"{source}: space: {spec.trainable.name} needs the hyperparameters {', '.join(required)}; "
            f"the space has no {', '.join(missing)}"
        )
    unused = [name for name in space.names if name not in required and name not in optional]
    if unused:
        raise SpecError(
            f"{source}: space: {spec.trainable.name} does not use the hyperparameter {unused[0]!r} "
            f"(it reads {', '.join(required + optional)})"
        )


def check_metric(spec: ExperimentSpec, source: str) -> None:
    """Check the metric: one the trainable reports, and never a test metric."""
    if spec.metric.startswith("test_"):
        raise SpecError(
            f"{source}: metric {spec.metric!r} is not allowed: test metrics are reported once at the end "
            "and must not steer the search; use a validation metric such as val_accuracy"
        )
    reported = REPORTED_METRICS.get(spec.trainable.name)
    if reported is not None and spec.metric not in reported:
        raise SpecError(
            f"{source}: metric must be one that {spec.trainable.name} reports ({', '.join(reported)}), "
            f"got {spec.metric!r}"
        )
    if reported is None and not spec.metric.isidentifier():
        raise SpecError(f"{source}: metric must be a metric name such as val_loss, got {spec.metric!r}")


def check_searcher(spec: ExperimentSpec, source: str) -> None:
    """Check the searcher's name and its settings."""
    name = spec.searcher.name
    if name not in SEARCHERS:
        raise SpecError(f"{source}: searcher.name must be one of {', '.join(SEARCHERS)}, got {name!r}")
    options_model = SEARCHER_OPTIONS[name]
    try:
        options_model.model_validate(spec.searcher.options)
    except pydantic.ValidationError as error:
        first = error.errors()[0]
        if first["type"] == "extra_forbidden":
            allowed = ", ".join(["name", "seed", *options_model.model_fields])
            raise SpecError(
                f"{source}: searcher.{first['loc'][0]} is not a setting of the {name} searcher (allowed: {allowed})"
            ) from None
        first = {**first, "loc": ("searcher", *first["loc"])}
        raise SpecError(f"{source}: {describe_error(first)}") from None
    if name == "optuna" and spec.searcher.options.get("sampler") == "gp":
        try:
            import torch  # noqa: F401
        except ImportError:
            raise SpecError(
                f"{source}: searcher.sampler 'gp' needs PyTorch, which is not installed; "
                "install it with 'pip install torch' or choose tpe, cmaes, qmc or random"
            ) from None


def check_scheduler(spec: ExperimentSpec, source: str) -> None:
    """Check the scheduler's name and that its epoch settings fit ``max_epochs``."""
    scheduler = spec.scheduler
    if scheduler.name not in SCHEDULERS:
        raise SpecError(f"{source}: scheduler.name must be one of {', '.join(SCHEDULERS)}, got {scheduler.name!r}")
    if scheduler.name == "fifo":
        return
    trainable_epochs = trainable_max_epochs(spec.trainable)
    if scheduler.max_epochs is not None and trainable_epochs is not None and scheduler.max_epochs > trainable_epochs:
        raise SpecError(
            f"{source}: scheduler.max_epochs must be at most the trainable's max_epochs ({trainable_epochs}), "
            f"because its trials end there; got {scheduler.max_epochs}"
        )
    max_epochs = scheduler.max_epochs if scheduler.max_epochs is not None else trainable_epochs
    if max_epochs is None and scheduler.name in ("asha", "hyperband"):
        raise SpecError(
            f"{source}: scheduler.max_epochs is required for {scheduler.name} because the trainable "
            f"{spec.trainable.name} has no max_epochs argument"
        )
    upper = max_epochs if max_epochs is not None else "max_epochs"
    if scheduler.grace_period < 1 or (max_epochs is not None and scheduler.grace_period > max_epochs):
        raise SpecError(
            f"{source}: scheduler.grace_period must be an integer from 1 to max_epochs ({upper}), "
            f"got {scheduler.grace_period}"
        )


def check_resources(spec: ExperimentSpec, source: str) -> None:
    """Check per-trial resources: a GPU share above one must be a whole number of GPUs."""
    gpu = spec.resources.gpu
    if gpu > 1 and not float(gpu).is_integer():
        raise SpecError(
            f"{source}: resources.gpu must be a fraction up to 1 or a whole number of GPUs, got {gpu}"
        )
    if spec.resources.cpu == 0 and gpu == 0:
        raise SpecError(f"{source}: resources must give each trial some cpu or gpu, got cpu=0 and gpu=0")
