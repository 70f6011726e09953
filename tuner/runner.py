"""Assemble a Ray Tune ``Tuner`` from an experiment and run it."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from trainables import RUNS_PROCESSES
from tuner.errors import ExperimentExistsError, InputError, InterruptedRunError, NotFoundError, RunError
from tuner.progress import Progress, ProgressCallback
from tuner.recorder import ResultsRecorder
from tuner.run_control import ExperimentHeartbeat, StopRequestStopper
from tuner.spec import Experiment, experiment_from_mapping, resolve_storage
from tuner.state import read_experiment_state
from tuner.store import SPACE_FILE, ExperimentStore, trial_folder
from tuner.yamlio import parse_yaml

CallbackType = TypeVar("CallbackType")

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunSummary:
    """The outcome of an experiment run: trial counts by status and the best trial."""

    name: str
    path: str
    n_trials: int
    n_terminated: int
    n_stopped: int
    n_errors: int
    best_trial_id: str | None
    best_value: float | None
    elapsed_s: float
    suggest_timings: list[tuple[int, float, bool]] = field(default_factory=list)
    """(finished trials so far, seconds, handed out a configuration) of recent suggest calls."""


def ensure_ray(verbose: bool = False) -> None:
    """Connect to the cluster that ``RAY_ADDRESS`` names, or start a local Ray, unless one is running."""
    import ray

    if ray.is_initialized():
        return
    options: dict[str, Any] = {
        "logging_level": logging.INFO if verbose else logging.WARNING,
        "log_to_driver": verbose,
        "configure_logging": True,
    }
    if os.environ.get("RAY_ADDRESS"):
        logger.info("connecting to the Ray cluster at %s", os.environ["RAY_ADDRESS"])
        ray.init(**options)
    else:
        ray.init(include_dashboard=False, **options)


def check_resources_fit(experiment: Experiment) -> None:
    """Reject per-trial resources that no node of a local Ray has, since such trials would wait forever.

    A cluster named by ``RAY_ADDRESS`` may add nodes on demand, so there it is only a warning.
    """
    import ray

    resources = experiment.spec.resources
    nodes = [node.get("Resources", {}) for node in ray.nodes() if node.get("Alive")]
    if any(node.get("CPU", 0) >= resources.cpu and node.get("GPU", 0) >= resources.gpu for node in nodes):
        return
    largest_cpu = max((node.get("CPU", 0) for node in nodes), default=0)
    largest_gpu = max((node.get("GPU", 0) for node in nodes), default=0)
    message = (
        f"{experiment.source}: resources: each trial needs {_amount(resources.cpu, 'CPU')} and "
        f"{_amount(resources.gpu, 'GPU')} on one node, but the largest node of Ray has "
        f"{_amount(largest_cpu, 'CPU')} and {_amount(largest_gpu, 'GPU')}"
    )
    if os.environ.get("RAY_ADDRESS"):
        logger.warning("%s; trials wait until the cluster adds such a node", message)
        return
    raise InputError(f"{message}; lower resources, or run on a cluster that has such nodes")


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C while Ray Tune runs, so the run ends as interrupted and can be resumed.

    Ray's own handler ends the driver at once on SIGTERM, leaving running trials and state.json
    as they were. Signal handlers can only be set on the main thread; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signal_number: int, frame: Any) -> None:
        logger.warning("SIGTERM received; ending the run as Ctrl-C does")
        os.kill(os.getpid(), signal.SIGINT)

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _amount(value: float, unit: str) -> str:
    return f"{value:g} {unit}" if value == 1 else f"{value:g} {unit}s"


def make_trial_function(
    reference: str, args: dict[str, Any], seed: int, metric: str
) -> Callable[[dict[str, Any]], None]:
    """Wrap a trainable as a Ray Tune function trainable with its fixed arguments.

    The trainable gets the experiment's seed as ``seed`` and its metric as ``metric`` when it
    takes them and the spec does not set them.
    """

    def run_trial(config: dict[str, Any]) -> None:
        from trainables import argument_names, resolve_trainable

        function = resolve_trainable(reference)
        arguments = dict(args)
        accepted = argument_names(function)
        if "seed" in accepted and "seed" not in arguments:
            arguments["seed"] = seed
        if "metric" in accepted and "metric" not in arguments:
            arguments["metric"] = metric
        try:
            function(config, **arguments)
        except Exception:
            # Ray Tune records the error in error.txt only, so the trial's own log shows it too.
            traceback.print_exc(file=sys.stderr)
            sys.stderr.flush()
            raise

    run_trial.__name__ = reference.replace(":", ".").replace(".", "_")
    return run_trial


def trial_dirname(trial: Any) -> str:
    """Name trial folders ``trial_<id>``, short and predictable for the API."""
    return trial_folder(trial.trial_id)


def quiet_ray_logs() -> None:
    """Silence Ray Tune output that repeats what the progress line and the tables already show."""
    # The older progress reporter prints nothing at verbose=0, where the newer one still prints
    # its configuration table and every trial error. The trials table records all of it.
    os.environ["RAY_AIR_NEW_OUTPUT"] = "0"
    os.environ.setdefault("TUNE_PRINT_ALL_TRIAL_ERRORS", "0")
    # Ray Tune warns on every forced experiment snapshot when trials checkpoint often.
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    logging.getLogger("ray.tune.tune").setLevel(logging.CRITICAL)
    logging.getLogger("ray.tune.execution.experiment_state").setLevel(logging.ERROR)
    logging.getLogger("ray._private.authentication.authentication_token_setup").setLevel(logging.ERROR)
    # After an interrupt, Ray Tune's result grid warns about trials cut off before their first
    # result; the tables record them as PENDING.
    logging.getLogger("ray.tune.analysis.experiment_analysis").setLevel(logging.ERROR)


def make_scheduler(experiment: Experiment) -> Any:
    """Create the Ray Tune scheduler that the spec names, over ``training_iteration`` (epochs)."""
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler, HyperBandScheduler, MedianStoppingRule

    settings = experiment.spec.scheduler
    if settings.name == "asha":
        return ASHAScheduler(
            time_attr="training_iteration",
            max_t=experiment.max_epochs,
            grace_period=settings.grace_period,
            reduction_factor=settings.reduction_factor,
            brackets=settings.brackets,
        )
    if settings.name == "hyperband":
        return HyperBandScheduler(
            time_attr="training_iteration", max_t=experiment.max_epochs, reduction_factor=settings.reduction_factor
        )
    if settings.name == "median":
        return MedianStoppingRule(
            time_attr="training_iteration",
            grace_period=settings.grace_period,
            min_samples_required=settings.min_samples_required,
        )
    return FIFOScheduler()


def run_experiment(
    experiment: Experiment, emit_progress: Callable[[Progress], None] | None = None, verbose: bool = False
) -> RunSummary:
    """Run an experiment to the end and record it under ``<storage>/<name>/``.

    Raises :class:`ExperimentExistsError` before starting anything when the experiment already
    has results, so nothing recorded is overwritten. Failed trials are recorded as ``ERROR`` and
    the experiment goes on; :class:`RunError` is raised when Ray Tune itself fails.
    """
    from ray import tune
    from ray.tune.search import ConcurrencyLimiter

    from tuner.searchers import make_searcher

    spec = experiment.spec
    store = ExperimentStore(experiment.storage_path, spec.name)
    try:
        if store.has_records():
            raise ExperimentExistsError(
                f"experiment {spec.name!r} already has results in {store.path}; "
                "choose another name with --name, or continue it with 'tuner resume'"
            )
        store.write_spec(experiment.to_yaml())
    except OSError as error:
        raise InputError(
            f"{experiment.source}: storage: cannot write the experiment to {store.path} ({error}); "
            "give a folder you can write to, or an s3:// URI of an existing bucket with credentials that allow writing"
        ) from None
    logger.info("experiment %s: recording in %s", spec.name, store.path)

    if not verbose:
        quiet_ray_logs()
    ensure_ray(verbose)
    try:
        check_resources_fit(experiment)
    except InputError:
        store.discard_unstarted()
        raise

    store.write_bytes(SPACE_FILE, experiment.space.to_json().encode("utf-8"))
    searcher = make_searcher(
        spec.searcher.name,
        experiment.space,
        spec.metric,
        spec.mode,
        experiment.searcher_seed,
        experiment.searcher_options(),
        n_trials=spec.trials,
    )
    prime_searcher(searcher, experiment)
    recorder = ResultsRecorder(store, experiment.space, spec.metric, spec.mode, experiment.max_epochs)
    heartbeat = ExperimentHeartbeat(store)
    callbacks: list[Any] = [recorder, heartbeat]
    progress = ProgressCallback(recorder, experiment.n_trials, emit_progress) if emit_progress else None
    if progress is not None:
        callbacks.append(progress)

    tuner = tune.Tuner(
        make_trainable(experiment),
        tune_config=tune.TuneConfig(
            metric=spec.metric,
            mode=spec.mode,
            search_alg=ConcurrencyLimiter(searcher, max_concurrent=spec.slots),
            scheduler=make_scheduler(experiment),
            num_samples=spec.trials,
            max_concurrent_trials=spec.slots,
            time_budget_s=spec.time_budget_s,
            reuse_actors=spec.trainable.name not in RUNS_PROCESSES,
            trial_dirname_creator=trial_dirname,
        ),
        run_config=tune.RunConfig(
            name=spec.name,
            storage_path=experiment.storage_path,
            callbacks=callbacks,
            stop=StopRequestStopper(store),
            verbose=2 if verbose else 0,
            failure_config=tune.FailureConfig(max_failures=spec.max_failures),
            checkpoint_config=tune.CheckpointConfig(
                num_to_keep=1, checkpoint_score_attribute=spec.metric, checkpoint_score_order=spec.mode
            ),
            log_to_file=True,
            # Ray Tune writes a trial's stdout and stderr into its working directory, a local
            # staging folder. Syncing artifacts copies them into the trial folder in the storage
            # when the trial ends, but not on every checkpoint, because that sync blocks the trial.
            sync_config=tune.SyncConfig(sync_artifacts=True, sync_artifacts_on_checkpoint=False),
        ),
    )

    try:
        elapsed_s = fit_to_end(tuner, experiment, store, recorder, heartbeat, f"experiment {spec.name} failed")
    finally:
        close = getattr(searcher, "close", None)
        if close is not None:
            close()
    summary = summarize(spec.name, store.path, recorder, elapsed_s)
    return dataclasses.replace(summary, suggest_timings=list(searcher.suggest_timings))


def fit_to_end(
    tuner: Any,
    experiment: Experiment,
    store: ExperimentStore,
    recorder: ResultsRecorder,
    heartbeat: ExperimentHeartbeat,
    failure: str,
) -> float:
    """Run Ray Tune's loop, write how it ended to state.json and return the seconds it took.

    Raises :class:`InterruptedRunError` after Ctrl-C or SIGTERM, with the cut-off trials recorded
    as PENDING, and :class:`RunError`, starting with ``failure``, when Ray Tune itself fails.
    """
    started = time.monotonic()
    heartbeat.start()
    try:
        with sigterm_as_interrupt():
            tuner.fit()
    except KeyboardInterrupt:
        recorder.flush()
        heartbeat.end("interrupted")
        raise
    except Exception as error:  # noqa: BLE001 - Ray Tune raises many types; trial errors do not land here
        recorder.flush()
        heartbeat.end("failed")
        raise RunError(f"{failure}: {type(error).__name__}: {error}") from error
    elapsed_s = time.monotonic() - started
    if was_interrupted(experiment, len(recorder.cut_at_end), recorder.n_finished(), elapsed_s):
        recorder.mark_interrupted()
        heartbeat.end("interrupted")
        spec = experiment.spec
        raise InterruptedRunError(interrupted_message(spec.name, store.storage, spec.scheduler.name))
    heartbeat.end("finished")
    return elapsed_s


def was_interrupted(experiment: Experiment, n_cut: int, n_finished: int, elapsed_s: float) -> bool:
    """Tell an interrupted run from a finished one after Ray Tune's loop ends.

    Ray Tune returns normally after Ctrl-C, with the trials that were running ended, as after a
    time budget. A run whose trials are not all done is interrupted unless its budget ran out.
    """
    budget = experiment.spec.time_budget_s
    if budget is not None and elapsed_s >= 0.99 * budget:
        return False
    return n_cut > 0 or n_finished < experiment.n_trials


def interrupted_message(name: str, storage: str, scheduler: str = "fifo") -> str:
    """Tell the user that the run was interrupted and how to continue it."""
    if scheduler == "hyperband":
        return (
            f"experiment {name} was interrupted; its tables hold every trial recorded so far. "
            f"tuner resume does not support the hyperband scheduler; reuse its trials in a new "
            f"experiment with warm_start: {name}"
        )
    return (
        f"experiment {name} was interrupted; its tables hold every trial recorded so far. "
        f"Continue it with: tuner resume {name} --storage {storage}"
    )


def make_trainable(experiment: Experiment) -> Any:
    """The experiment's trainable as a Ray Tune function trainable with its per-trial resources."""
    from ray import tune

    spec = experiment.spec
    return tune.with_resources(
        make_trial_function(spec.trainable.name, spec.trainable.args, spec.seed, spec.metric),
        {"cpu": spec.resources.cpu, "gpu": spec.resources.gpu},
    )


def recorded_experiment(store: ExperimentStore) -> Experiment:
    """Rebuild an experiment from its spec.yaml and space.json, as it was when it started."""
    from search_spaces import SearchSpace
    from search_spaces.model import configspace_from_json

    source = f"{store.path}/spec.yaml"
    data = parse_yaml(store.read_spec(), source)
    space_text = store.read_bytes(SPACE_FILE).decode("utf-8")
    space = SearchSpace(configspace_from_json(space_text), f"{store.path}/{SPACE_FILE}")
    return experiment_from_mapping(data, source, Path(store.path), recorded_space=space)


def resume_experiment(storage: str, name: str, verbose: bool = False) -> RunSummary:
    """Continue an interrupted experiment from Ray Tune's saved state in ``<storage>/<name>/``.

    Finished trials keep their records; unfinished ones continue from their last checkpoint, or
    start again when they have none. Failed trials are not run again. Progress goes through the
    progress callback of the original run. A time budget starts again for the resumed run, as Ray
    Tune does. A resumed run that is interrupted again records its cut-off trials as PENDING and
    raises :class:`InterruptedRunError`, like a first run.
    """
    from ray import tune

    store = ExperimentStore(resolve_storage(storage), name)
    if not store.exists():
        raise NotFoundError(f"experiment {name!r} not found in {store.storage}")
    experiment = recorded_experiment(store)
    if experiment.spec.scheduler.name == "hyperband":
        # NOTE: Ray Tune 2.60 restored Hyperband brackets with paused trials that never started
        # again, so the resumed run waited forever. Runs with fifo, asha and median resume.
        raise InputError(
            f"experiment {name!r} uses the hyperband scheduler, which tuner resume does not support; "
            "start a new experiment with warm_start: " + name + " to reuse its trials"
        )
    state = read_experiment_state(store).state
    if state == "running":
        raise InputError(
            f"experiment {name!r} in {store.storage} is still running (its heartbeat is recent); "
            "resume it only after that run has ended"
        )
    if state == "finished":
        raise InputError(
            f"experiment {name!r} in {store.storage} has finished, so there is nothing to resume; "
            f"start a new experiment with warm_start: {name} to build on its trials"
        )
    if not tune.Tuner.can_restore(store.path):
        raise InputError(f"experiment {name!r} in {store.storage} has no Ray Tune state to resume from")

    if not verbose:
        quiet_ray_logs()
    ensure_ray(verbose)
    check_resources_fit(experiment)
    logger.info("experiment %s: resuming from %s", name, store.path)
    tuner = tune.Tuner.restore(store.path, trainable=make_trainable(experiment), resume_unfinished=True)
    # The restored run keeps the original callbacks and stopper, with their saved state.
    recorder = restored_callback(tuner, ResultsRecorder, name)
    heartbeat = restored_callback(tuner, ExperimentHeartbeat, name)
    # Ray Tune gives a resumed run the whole time budget again, so only this run's time counts.
    elapsed_s = fit_to_end(tuner, experiment, store, recorder, heartbeat, f"experiment {name} failed to resume")
    return summarize_table(name, store, elapsed_s)


def restored_callback(tuner: Any, kind: type[CallbackType], name: str) -> CallbackType:
    """Return the callback of type ``kind`` that a restored Tuner brought back from the saved run."""
    # NOTE: Ray Tune 2.60 has no public accessor for a restored Tuner's run configuration.
    for callback in tuner._local_tuner.get_run_config().callbacks or []:
        if isinstance(callback, kind):
            return callback
    raise RunError(
        f"experiment {name}: its saved Ray Tune state contains no {kind.__name__}, so it cannot be resumed; "
        f"start a new experiment with warm_start: {name}"
    )


def summarize_table(name: str, store: ExperimentStore, elapsed_s: float) -> RunSummary:
    """Count trials by status and find the best one, from the experiment's trials table."""
    from tuner.leaderboard import experiment_objective

    metric, mode = experiment_objective(store)
    rows = store.read_trials().to_pylist()
    scored = [row for row in rows if row.get(metric) is not None and row["status"] != "ERROR"]
    pick = max if mode == "max" else min
    best = pick(scored, key=lambda row: row[metric]) if scored else None
    return make_summary(
        name,
        store.path,
        [row["status"] for row in rows],
        best["trial_id"] if best else None,
        best[metric] if best else None,
        elapsed_s,
    )


def prime_searcher(searcher: Any, experiment: Experiment) -> None:
    """Tell the searcher what is known before the first trial: a warm start and given points.

    Points with a metric value are known results; points without one are starting points, run
    first and in order (Optuna and SMAC only).
    """
    for config, value in experiment.warm_start:
        searcher.tell_known(config, value)
    starting_points = []
    for row in experiment.points:
        if row.value is None:
            starting_points.append(row.config)
        else:
            searcher.tell_known(row.config, row.value)
    if starting_points:
        searcher.add_starting_points(starting_points)
    if experiment.warm_start or experiment.points:
        logger.info(
            "experiment %s: searcher received %d earlier results and %d starting points",
            experiment.spec.name, len(experiment.warm_start) + len(experiment.points) - len(starting_points),
            len(starting_points),
        )


def summarize(name: str, path: str, recorder: ResultsRecorder, elapsed_s: float) -> RunSummary:
    """Count the trials of a finished experiment by status and find the best one."""
    statuses = [record.status for record in recorder.trials.values()]
    best = recorder.best()
    return make_summary(
        name, path, statuses, best.trial_id if best else None, best.best_value if best else None, elapsed_s
    )


def make_summary(
    name: str, path: str, statuses: list[str], best_trial_id: str | None, best_value: float | None, elapsed_s: float
) -> RunSummary:
    """Build a :class:`RunSummary` from the trials' statuses and the best trial."""
    return RunSummary(
        name=name,
        path=path,
        n_trials=len(statuses),
        n_terminated=statuses.count("TERMINATED"),
        n_stopped=statuses.count("STOPPED"),
        n_errors=statuses.count("ERROR"),
        best_trial_id=best_trial_id,
        best_value=best_value,
        elapsed_s=elapsed_s,
    )
