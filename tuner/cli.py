"""The ``tuner`` command line. Exit status: 0 done, 1 the run failed, 2 bad input."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from tuner.errors import InputError, TunerError
from tuner.spec import DEFAULT_STORAGE, load_experiment, resolve_storage

logger = logging.getLogger(__name__)


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tuner", description="Tune hyperparameters with Ray Tune from one YAML file.")
    parser.add_argument("--verbose", action="store_true", help="show Ray's logs and tables")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run an experiment locally, or on the cluster that RAY_ADDRESS names")
    run.add_argument("spec", type=Path, help="experiment file (YAML)")
    run.add_argument("--name", help="experiment name; overrides the file's name")
    run.add_argument("--storage", help=f"storage root, a folder or s3:// URI (default: the file's, else {DEFAULT_STORAGE})")
    run.add_argument("--searcher", help="searcher name; overrides the file's")
    run.add_argument("--seed", type=int, help="experiment seed; overrides the file's")
    run.add_argument("--trials", type=int, help="number of trials; overrides the file's")
    run.add_argument("--slots", type=int, help="trials run at once; overrides the file's")
    run.add_argument("--verbose", action="store_true", help="show Ray's logs and tables")

    resume = commands.add_parser("resume", help="continue an interrupted experiment")
    resume.add_argument("name", help="experiment name")
    resume.add_argument("--storage", default=DEFAULT_STORAGE, help=f"storage root (default: {DEFAULT_STORAGE})")
    resume.add_argument("--verbose", action="store_true", help="show Ray's logs and tables")

    validate = commands.add_parser("validate", help="check an experiment file without running anything")
    validate.add_argument("spec", type=Path, help="experiment file (YAML)")

    board = commands.add_parser("leaderboard", help="print an experiment's trials, best first")
    board.add_argument("name", help="experiment name")
    board.add_argument("--storage", default=DEFAULT_STORAGE, help=f"storage root (default: {DEFAULT_STORAGE})")
    board.add_argument("--top", type=int, default=None, help="show only the best K trials")
    board.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output format")

    serve = commands.add_parser("serve", help="start the HTTP API and the results pages")
    serve.add_argument(
        "--storage", default=DEFAULT_STORAGE, help=f"storage root, a folder or s3:// URI (default: {DEFAULT_STORAGE})"
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1); reads need the token unless it is loopback",
    )
    serve.add_argument("--port", type=int, default=8000, help="TCP port (default: 8000)")
    serve.add_argument(
        "--token-file",
        type=Path,
        help="file containing the service's token, at least 16 characters (default: a new token, printed at start)",
    )
    return parser


def _print_progress_factory() -> Any:
    interactive = sys.stderr.isatty()

    def emit(progress: Any) -> None:
        line = progress.line()
        if interactive:
            sys.stderr.write("\r\033[K" + line)
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    return emit


def command_run(arguments: argparse.Namespace) -> int:
    from tuner.runner import run_experiment

    overrides = {
        "name": arguments.name,
        "storage": arguments.storage,
        "searcher": arguments.searcher,
        "seed": arguments.seed,
        "trials": arguments.trials,
        "slots": arguments.slots,
    }
    experiment = load_experiment(arguments.spec, overrides)
    summary = run_experiment(experiment, emit_progress=_print_progress_factory(), verbose=arguments.verbose)
    if sys.stderr.isatty():
        sys.stderr.write("\n")

    return _print_summary(summary, experiment.storage_path)


def _count(number: int, noun: str) -> str:
    """Return ``1 trial`` or ``3 trials``."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


# Trials shown in the leaderboard printed after a run.
SUMMARY_TOP = 10


def _print_summary(summary: Any, storage: str) -> int:
    """Print how a run ended and its leaderboard; return 1 when no trial reported the metric."""
    from tuner.leaderboard import format_leaderboard, leaderboard
    from tuner.store import ExperimentStore

    print(
        f"experiment {summary.name}: {_count(summary.n_trials, 'trial')}, {summary.n_terminated} finished, "
        f"{summary.n_stopped} stopped early, {summary.n_errors} failed, in {summary.elapsed_s:.0f} s"
    )
    print(f"results: {summary.path}")
    board = leaderboard(ExperimentStore(resolve_storage(storage), summary.name), top=SUMMARY_TOP)
    if summary.best_value is None:
        print(
            f"no trial reported {board.metric} without failing; see the errors with "
            f"'tuner leaderboard {summary.name} --storage {storage}'"
        )
        return 1
    print(f"best trial {summary.best_trial_id}: {board.metric} = {summary.best_value:.6g}\n")
    if summary.n_trials > SUMMARY_TOP:
        print(
            f"the best {SUMMARY_TOP} of {summary.n_trials} trials; all of them with "
            f"'tuner leaderboard {summary.name} --storage {storage}'"
        )
    print(format_leaderboard(board, "table"))
    return 0


def command_resume(arguments: argparse.Namespace) -> int:
    from tuner.runner import resume_experiment
    from tuner.spec import NAME_PATTERN

    if not NAME_PATTERN.match(arguments.name):
        raise InputError(f"experiment name {arguments.name!r} is invalid: use letters, digits, '_', '.' or '-'")
    summary = resume_experiment(arguments.storage, arguments.name, verbose=arguments.verbose)
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    return _print_summary(summary, arguments.storage)


def command_validate(arguments: argparse.Namespace) -> int:
    experiment = load_experiment(arguments.spec)
    spec = experiment.spec
    n_trials = experiment.n_trials
    print(
        f"{arguments.spec}: valid. Experiment {spec.name}: {len(experiment.space)} hyperparameters, "
        f"searcher {spec.searcher.name}, scheduler {spec.scheduler.name}, {_count(n_trials, 'trial')}, "
        f"{_count(spec.slots, 'slot')}, {spec.metric} ({spec.mode})"
    )
    if n_trials < spec.trials:
        print(
            f"note: trials is {spec.trials}, but the design table has only {_count(n_trials, 'row')}, "
            f"so {_count(n_trials, 'trial')} will run"
        )
    return 0


def command_leaderboard(arguments: argparse.Namespace) -> int:
    from tuner.errors import InputError, NotFoundError
    from tuner.leaderboard import format_leaderboard, leaderboard
    from tuner.spec import NAME_PATTERN
    from tuner.store import ExperimentStore

    if not NAME_PATTERN.match(arguments.name):
        raise InputError(f"experiment name {arguments.name!r} is invalid: use letters, digits, '_', '.' or '-'")
    if arguments.top is not None and arguments.top < 1:
        raise InputError(f"--top must be at least 1, got {arguments.top}")
    store = ExperimentStore(resolve_storage(arguments.storage), arguments.name)
    if not store.exists():
        raise NotFoundError(f"experiment {arguments.name!r} not found in {store.storage}")
    print(format_leaderboard(leaderboard(store, arguments.top), arguments.format))
    return 0


def command_serve(arguments: argparse.Namespace) -> int:
    import uvicorn

    from tuner.api import create_app
    from tuner.api.security import generate_token, is_loopback, load_token
    from tuner.errors import InputError

    if not 1 <= arguments.port <= 65535:
        raise InputError(f"--port must be from 1 to 65535, got {arguments.port}")
    token = load_token(arguments.token_file) if arguments.token_file else generate_token()
    storage = resolve_storage(arguments.storage)
    reads_need_token = not is_loopback(arguments.host)
    app = create_app(storage, token, reads_need_token=reads_need_token)

    host = f"[{arguments.host}]" if ":" in arguments.host else arguments.host
    print(f"serving {storage} at http://{host}:{arguments.port}/ (API documentation at /docs)")
    if "://" not in storage and not Path(storage).is_dir():
        print(f"note: {storage} does not exist yet; experiments appear once a run records them there")
    if reads_need_token:
        print(f"{arguments.host} is not a loopback address, so reads need the token too")
    if arguments.token_file:
        print(f"token: the content of {arguments.token_file}")
    else:
        print(f"token (send it as 'Authorization: Bearer <token>' or paste it on the page's sign-in form): {token}")
    sys.stdout.flush()
    uvicorn.run(app, host=arguments.host, port=arguments.port, log_level="info")
    return 0


COMMANDS = {
    "run": command_run,
    "resume": command_resume,
    "validate": command_validate,
    "leaderboard": command_leaderboard,
    "serve": command_serve,
}


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit status."""
    arguments = _build_parser().parse_args(argv)
    verbose = getattr(arguments, "verbose", False)
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return COMMANDS[arguments.command](arguments)
    except TunerError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_status
    except KeyboardInterrupt:
        # Ray Tune turns Ctrl-C during a run into InterruptedRunError; this is one before or after it.
        hint = ""
        if arguments.command == "resume":
            hint = f". Continue it with: tuner resume {arguments.name} --storage {arguments.storage}"
        print(f"error: interrupted; the tables hold every trial recorded so far{hint}", file=sys.stderr)
        return 1
