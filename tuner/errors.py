"""Exceptions of the tuner and the exit status each one maps to."""

from __future__ import annotations


class TunerError(Exception):
    """Base of every error the tuner raises on purpose.

    The command line prints the message and exits with ``exit_status``; the HTTP API maps the class
    to a status code in one handler.
    """

    exit_status = 1


class InputError(TunerError):
    """Invalid user input: an experiment file, a search space, a design table or an argument."""

    exit_status = 2


class SpecError(InputError):
    """An experiment file that cannot be run as written."""


class SpaceError(InputError):
    """A search space that is malformed or contradicts itself."""


class NotFoundError(TunerError):
    """An experiment, trial or file that does not exist."""

    exit_status = 2


class ExperimentExistsError(InputError):
    """An experiment name that already has results in the storage."""


class ConflictError(TunerError):
    """A request that the experiment's current state does not allow, such as stopping a trial that has ended."""

    exit_status = 1


class RunError(TunerError):
    """An experiment that started but could not finish."""

    exit_status = 1


class TrainableError(Exception):
    """A trial that cannot train with its configuration; it fails that trial only."""


class InterruptedRunError(TunerError):
    """An experiment stopped by Ctrl-C or a signal before its trials were done; ``tuner resume`` continues it."""

    exit_status = 1
