"""Command-line trainables: run any program per trial, passing hyperparameters through files and flags.

Each trial runs the command in its own working folder, the trial folder, after copying ``inputs``
there and writing each template with the trial's values. The program's standard output and error
go to ``process_output.log`` in that folder as they come, and its metrics are read from standard
output line by line (see :mod:`trainables.command_output`). The program and every process it
starts form one process group, which is ended when the trial ends (see
:mod:`trainables.command_process`).

Placeholders: ``${name}`` in a template, a word of the command or an ``env`` value is replaced by
the value of hyperparameter ``name`` or of a built-in: ``trial_id``, ``trial_dir`` (the trial
folder, absolute) and ``seed`` (the experiment's seed). A hyperparameter hides a built-in of the
same name. ``$$`` writes a literal ``$``, and a ``$`` not followed by ``{`` or ``$`` is kept as it
is. Values are written in their own type: integers as ``64``, floats with ``repr`` precision and
always with a decimal point (``0.001``, ``1.0e-05``), booleans as ``true`` and ``false``, strings
as they are. The placeholder of a hyperparameter that a condition made inactive is written empty.
"""

from __future__ import annotations

import collections
import logging
import os
import re
import shlex
import shutil
import signal
import string
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from search_spaces import SearchSpace, to_native
from trainables.command_output import MetricCollector, SUCCESS_STATUSES
from trainables.command_process import Ending, GroupProcess, OutputLog, run_until_done
from tuner.errors import SpecError, TrainableError
from tuner.validation import describe_error

logger = logging.getLogger(__name__)

BUILT_INS = ("trial_id", "trial_dir", "seed")
# A command whose program is one of these runs with the Python interpreter that runs the trial,
# so that a script imports the packages of the tuner's environment wherever the trial runs.
PYTHON_PROGRAMS = ("python", "python3")
LOG_FILE = "process_output.log"
# Written into each checkpoint: how many results the trial had reported with it.
RESULTS_COUNT_FILE = ".tuner-results-count"
# Names that Ray Tune 2.x writes into a trial folder; inputs and templates cannot take them.
RESERVED_NAMES = frozenset({LOG_FILE, "params.json", "params.pkl", "result.json", "progress.csv", "error.txt", "error.pkl"})
RESERVED_PREFIXES = ("checkpoint_", "events.out.tfevents")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Placeholders(string.Template):
    """``${name}`` placeholders with ``$$`` for a literal ``$``; a bare ``$name`` is kept as written."""

    pattern = r"""
    \$(?:
        (?P<escaped>\$)
        | \{(?P<braced>[^\W\d]\w*)\}
        | (?P<named>(?!))
        | (?P<invalid>\{)
    )
    """


@dataclass(frozen=True)
class PlaceholderUse:
    """One placeholder in a text: its name (``None`` when malformed), line and the text it starts."""

    name: str | None
    line: int
    text: str


def find_placeholders(text: str) -> list[PlaceholderUse]:
    """List the placeholders of ``text`` with their 1-based line numbers; ``$$`` is not one."""
    uses = []
    for match in Placeholders.pattern.finditer(text):
        if match.group("escaped") is not None:
            continue
        line = text.count("\n", 0, match.start()) + 1
        snippet = text[match.start():match.start() + 20].splitlines()[0]
        uses.append(PlaceholderUse(match.group("braced"), line, snippet))
    return uses


def format_value(value: Any) -> str:
    """Write a value in its own type: ``64``, ``0.001``, ``1.0e-05``, ``true``, or a string as it is."""
    value = to_native(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = repr(value)
        # YAML 1.1 readers such as PyYAML read 1e-05 as a string; 1.0e-05 is a float everywhere.
        if "e" in text and "." not in text:
            mantissa, _, exponent = text.partition("e")
            text = f"{mantissa}.0e{exponent}"
        return text
    return str(value)


def render(text: str, values: dict[str, str]) -> str:
    """Replace the placeholders of ``text``; a name without a value is written empty."""
    return Placeholders(text).substitute(collections.defaultdict(str, values))


class TemplateFile(BaseModel):
    """A template and the name it is written under in the trial folder (by default its own name)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    source: str
    target: str | None = None


class CommandArguments(BaseModel):
    """The fixed arguments of the ``command`` trainable, as ``trainable.args`` in an experiment file.

    ``command`` and ``post_command`` are a list of words or a string split like a shell does,
    without running a shell. Values go onto the command line as ``--name value`` per active
    hyperparameter (``pass_hyperparameters: flags``), into environment variables named after the
    hyperparameters (``env``), or neither (``none``). ``time_limit_s`` bounds the program and the
    post-processing command together; ``kill_after_s`` is the time between SIGTERM and SIGKILL
    when a trial's processes are ended. ``checkpoint_files`` are files the program writes in its
    trial folder, such as ``model.keras``. When any of them changed, they are saved as the
    trial's checkpoint with the next result. ``seed`` replaces the experiment's seed.
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    command: list[str]
    inputs: list[str] = Field(default_factory=list)
    templates: list[TemplateFile] = Field(default_factory=list)
    pass_hyperparameters: Literal["flags", "env", "none"] = "flags"
    env: dict[str, str] = Field(default_factory=dict)
    time_limit_s: float | None = Field(default=None, gt=0)
    kill_after_s: float = Field(default=5.0, gt=0)
    post_command: list[str] | None = None
    checkpoint_files: list[str] = Field(default_factory=list)
    seed: int | None = None

    @pydantic.field_validator("command", "post_command", mode="before")
    @classmethod
    def _split_words(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = shlex.split(value)
            except ValueError as error:
                raise ValueError(f"cannot split {value!r} into words: {error}") from None
        if isinstance(value, list) and not value:
            raise ValueError("must name a program to run, got an empty command")
        return value

    @pydantic.field_validator("templates", mode="before")
    @classmethod
    def _template_shorthand(cls, value: Any) -> Any:
        """Accept a plain file name as short for ``{source: NAME}``."""
        if isinstance(value, list):
            return [{"source": item} if isinstance(item, str) else item for item in value]
        return value

    @pydantic.field_validator("env", mode="before")
    @classmethod
    def _env_values_as_text(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {key: format_value(item) if isinstance(item, int | float | bool) else item for key, item in value.items()}
        return value


def check_arguments(args: dict[str, Any], space: SearchSpace, base_dir: Path, source: str) -> dict[str, Any]:
    """Validate the ``command`` trainable's arguments and return them with absolute paths.

    Relative paths are resolved against ``base_dir``, the experiment file's folder. Raises
    :class:`SpecError` naming ``source``, the field (or template file and line) and the value
    for a program not found, an input or template that does not exist, a placeholder without a
    value and a time limit of zero or less.
    """
    try:
        arguments = CommandArguments.model_validate(args)
    except pydantic.ValidationError as error:
        first = error.errors()[0]
        first = {**first, "loc": ("trainable", "args", *first["loc"])}
        raise SpecError(f"{source}: {describe_error(first, _ArgumentsLocation)}") from None

    def fail(field: str, message: str) -> SpecError:
        return SpecError(f"{source}: trainable.args.{field}: {message}")

    names = set(space.names) | set(BUILT_INS)
    command = _check_command(arguments.command, "command", base_dir, names, fail)
    post_command = (
        _check_command(arguments.post_command, "post_command", base_dir, names, fail)
        if arguments.post_command is not None
        else None
    )
    for key, value in arguments.env.items():
        if not _ENV_NAME.fullmatch(key):
            raise fail("env", f"{key!r} is not a valid environment variable name (letters, digits and '_')")
        if arguments.pass_hyperparameters == "env" and key in space.names:
            raise fail("env", f"{key} is also a hyperparameter, which pass_hyperparameters: env sets; rename one")
        _check_placeholders(value, names, lambda message, key=key: fail(f"env.{key}", message))

    for index, name in enumerate(arguments.checkpoint_files):
        parts = PurePosixPath(name).parts
        if not name or PurePosixPath(name).is_absolute() or ".." in parts:
            raise fail(
                f"checkpoint_files[{index}]",
                f"{name!r} must be a path inside the trial folder, relative and without '..'",
            )
        if any(character in name for character in "*?["):
            raise fail(f"checkpoint_files[{index}]", f"{name!r} must name a file; patterns are not expanded")
    inputs, taken = _check_inputs(arguments.inputs, base_dir, fail)
    templates = _check_templates(arguments.templates, base_dir, names, taken, fail)
    checked = arguments.model_copy(
        update={"command": command, "post_command": post_command, "inputs": inputs, "templates": templates}
    )
    return checked.model_dump(mode="json", exclude_none=True)


class _ArgumentsLocation(BaseModel):
    """The path of the arguments model inside an experiment, for error messages that list allowed keys."""

    trainable: _TrainableLocation


class _TrainableLocation(BaseModel):
    args: CommandArguments


_ArgumentsLocation.model_rebuild()


def _check_command(
    words: list[str], field: str, base_dir: Path, names: set[str], fail: Callable[[str, str], SpecError]
) -> list[str]:
    """Check that the program exists and every placeholder has a value; make a program path absolute."""
    program = words[0]
    for index, word in enumerate(words):
        _check_placeholders(word, names, lambda message, index=index: fail(f"{field}[{index}]", message))
    if "$" in program:
        raise fail(field, f"the program must be written out, not a placeholder, got {program!r}")
    if program in PYTHON_PROGRAMS:
        return words
    if "/" in program:
        path = Path(program).expanduser()
        path = path if path.is_absolute() else (base_dir / path).resolve()
        if not path.is_file():
            raise fail(field, f"program {program} not found (looked for {path})")
        if not os.access(path, os.X_OK):
            raise fail(
                field,
                f"program {path} is not executable; make it executable (chmod +x) or run it through its "
                f"interpreter, such as bash {program}",
            )
        return [str(path), *words[1:]]
    if shutil.which(program) is None:
        raise fail(field, f"program {program!r} not found on PATH; give its path or install it")
    return words


def _check_placeholders(text: str, names: set[str], error: Callable[[str], SpecError], where: str = "") -> None:
    """Raise ``error(message)`` for a malformed placeholder or one whose name has no value."""
    for use in find_placeholders(text):
        at = f"{where}:{use.line}: " if where else ""
        if use.name is None:
            raise error(
                f"{at}invalid placeholder {use.text!r}; write ${{name}} with a hyperparameter or built-in name, "
                "or $$ for a literal $"
            )
        if use.name not in names:
            hyperparameters = ", ".join(sorted(names - set(BUILT_INS))) or "none"
            raise error(
                f"{at}placeholder ${{{use.name}}} has no value: {use.name} is not a hyperparameter of the space "
                f"({hyperparameters}) or a built-in ({', '.join(BUILT_INS)})"
            )


def _check_inputs(
    inputs: list[str], base_dir: Path, fail: Callable[[str, str], SpecError]
) -> tuple[list[str], dict[str, str]]:
    """Resolve the inputs; return their absolute paths and the trial-folder names they take."""
    resolved = []
    taken: dict[str, str] = {}
    for index, item in enumerate(inputs):
        field = f"inputs[{index}]"
        path = _resolve(item, base_dir)
        if not path.exists():
            raise fail(field, f"{item} not found (looked for {path})")
        _check_name_free(path.name, field, taken, fail)
        taken[path.name] = field
        resolved.append(str(path))
    return resolved, taken


def _check_templates(
    templates: list[TemplateFile],
    base_dir: Path,
    names: set[str],
    taken: dict[str, str],
    fail: Callable[[str, str], SpecError],
) -> list[TemplateFile]:
    """Check each template's file, target name and placeholders; return them with absolute sources."""
    checked = []
    for index, template in enumerate(templates):
        field = f"templates[{index}]"
        path = _resolve(template.source, base_dir)
        if not path.is_file():
            what = "is a folder, expected a text file" if path.is_dir() else "not found"
            raise fail(f"{field}.source", f"{template.source} {what} (looked for {path})")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise fail(f"{field}.source", f"{path} is not UTF-8 text") from None
        _check_placeholders(text, names, lambda message: fail(field, message), where=str(path))

        target = template.target if template.target is not None else path.name
        target_path = Path(target)
        if target_path.is_absolute() or ".." in target_path.parts or not target_path.parts:
            raise fail(f"{field}.target", f"must be a relative path inside the trial folder, got {target!r}")
        _check_name_free(target_path.parts[0], f"{field}.target", {}, fail)
        _check_name_free(target, f"{field}.target", taken, fail)
        taken[target] = f"{field}.target"
        checked.append(TemplateFile(source=str(path), target=target))
    return checked


def _check_name_free(name: str, field: str, taken: dict[str, str], fail: Callable[[str, str], SpecError]) -> None:
    if name in RESERVED_NAMES or name.startswith(RESERVED_PREFIXES):
        raise fail(field, f"{name!r} is a name that the tuner or Ray Tune writes in the trial folder; rename the file")
    if name in taken:
        raise fail(field, f"{name!r} is also the name of {taken[name]} in the trial folder; give each file its own name")


def _resolve(path_text: str, base_dir: Path) -> Path:
    path = Path(path_text).expanduser()
    return path if path.is_absolute() else (base_dir / path).resolve()


# Running a trial, in the Ray worker.


@dataclass(frozen=True)
class TrialFolder:
    """The folder a trial runs in, and the storage where its stop request appears.

    With local storage the program runs in the trial folder itself, so its log and files can be
    read while it runs. With object storage it runs in Ray Tune's working folder of the trial on
    the worker, and the folder is uploaded to the trial folder when the trial ends.
    """

    path: Path
    trial_id: str
    storage: Any

    @property
    def is_local(self) -> bool:
        """Return whether the trial folder is on this machine's file system."""
        import pyarrow.fs as pafs

        return isinstance(self.storage.storage_filesystem, pafs.LocalFileSystem)

    def stop_requested(self) -> bool:
        """Return whether the file ``control/stop/<trial_id>`` exists in the experiment folder."""
        import pyarrow.fs as pafs

        from tuner.store import STOP_REQUEST_DIR

        path = f"{self.storage.experiment_fs_path}/{STOP_REQUEST_DIR}/{self.trial_id}"
        try:
            return self.storage.storage_filesystem.get_file_info(path).type != pafs.FileType.NotFound
        except OSError as error:
            logger.debug("trial %s: could not check for a stop request at %s: %s", self.trial_id, path, error)
            return False

    def upload(self) -> None:
        """Copy the working folder to the trial folder in the storage; nothing to do when local.

        Tested against a local S3 server (moto), not against AWS itself.
        """
        if self.is_local:
            return
        import pyarrow.fs as pafs

        try:
            pafs.copy_files(
                str(self.path),
                self.storage.trial_fs_path,
                source_filesystem=pafs.LocalFileSystem(),
                destination_filesystem=self.storage.storage_filesystem,
            )
        except OSError as error:
            logger.warning(
                "trial %s: could not upload %s to the storage (%s); its files stay on this node",
                self.trial_id, self.path, error,
            )


def current_trial_folder() -> TrialFolder:
    """Find the folder of the running trial through Ray Tune's storage context, and create it."""
    from ray import tune

    context = tune.get_context()
    # Ray Tune 2.60 has no public accessor for the trial folder in the storage, because
    # get_trial_dir() returns a staging folder. The storage context is a developer API.
    storage = context.get_storage()
    folder = TrialFolder(Path(storage.trial_fs_path), context.get_trial_id(), storage)
    if not folder.is_local:
        folder = TrialFolder(Path(storage.trial_working_directory), folder.trial_id, storage)
    folder.path.mkdir(parents=True, exist_ok=True)
    return folder


def prepare_trial_folder(arguments: CommandArguments, folder: Path, values: dict[str, str]) -> None:
    """Copy the inputs into the trial folder and write each template with the trial's values."""
    for item in arguments.inputs:
        source = Path(item)
        target = folder / source.name
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        elif source.is_file():
            shutil.copy2(source, target)
        else:
            raise TrainableError(f"input {source} not found on this node")
    for template in arguments.templates:
        source = Path(template.source)
        try:
            text = source.read_text(encoding="utf-8")
        except OSError as error:
            raise TrainableError(f"cannot read template {source}: {error}") from None
        target = folder / (template.target or source.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render(text, values), encoding="utf-8")


def command_line(words: list[str], values: dict[str, str], flags_from: dict[str, Any] | None = None) -> list[str]:
    """Return the words to run: placeholders filled, ``python`` made this interpreter.

    With ``flags_from``, each of its items is appended as ``--name value``.
    """
    argv = [render(word, values) for word in words]
    if argv[0] in PYTHON_PROGRAMS:
        argv[0] = sys.executable
    for name, value in (flags_from or {}).items():
        argv += [f"--{name}", format_value(value)]
    return argv


def command_environment(
    arguments: CommandArguments, config: dict[str, Any], values: dict[str, str], folder: TrialFolder, seed: int
) -> dict[str, str]:
    """Return the program's environment: the worker's, the trial's built-ins, the values and ``env``."""
    env = dict(os.environ)
    # Python buffers standard output to a pipe in blocks; unbuffered, metrics arrive as printed.
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.update(TUNER_TRIAL_ID=folder.trial_id, TUNER_TRIAL_DIR=str(folder.path), TUNER_SEED=str(seed))
    if arguments.pass_hyperparameters == "env":
        env.update({name: format_value(value) for name, value in config.items()})
    env.update({key: render(value, values) for key, value in arguments.env.items()})
    return env


def train(config: dict[str, Any], *, metric: str, seed: int = 0, **args: Any) -> None:
    """Run the command for one trial and report the metrics it prints.

    ``metric`` is the experiment's metric and ``args`` are the arguments of
    :class:`CommandArguments`, as :func:`check_arguments` returns them. A progress line is reported
    at once; the metrics printed after the last one are reported when the program ends. The trial
    fails with :class:`TrainableError`, carrying the last lines of the log, on a non-zero exit, a
    missing metric, a failed SMAC status (UNSAT, TIMEOUT, CRASHED, ABORT, MEMOUT) or the time
    limit. A stop request ends the trial without an error.
    """
    arguments = CommandArguments.model_validate(args)
    CommandTrial(arguments, config, metric, seed if arguments.seed is None else arguments.seed).run()


class CommandTrial:
    """One trial of the ``command`` trainable, from preparing its folder to its last result."""

    def __init__(self, arguments: CommandArguments, config: dict[str, Any], metric: str, seed: int) -> None:
        self.arguments = arguments
        self.config = config
        self.metric = metric
        self.folder = current_trial_folder()
        self.values = {
            "trial_id": self.folder.trial_id,
            "trial_dir": str(self.folder.path),
            "seed": str(seed),
            **{name: format_value(value) for name, value in config.items()},
        }
        self.env = command_environment(arguments, config, self.values, self.folder, seed)
        self.log = OutputLog(self.folder.path / LOG_FILE)
        self.collector = MetricCollector(metric, on_warning=lambda message: self.log.write_note(f"warning: {message}"))
        self.deadline = time.monotonic() + arguments.time_limit_s if arguments.time_limit_s is not None else None
        # Modification times and sizes of the checkpoint files when they were last saved.
        self._checkpoint_signature: tuple[tuple[str, int, int], ...] | None = None
        # Results already recorded before a restore, which the program, started again, repeats.
        self._n_to_skip = _results_in_checkpoint()

    def run(self) -> None:
        """Run the command and the post-processing command, reporting results to Ray Tune."""

        def report_progress(line: str) -> None:
            result = self.collector.add_line(line)
            if result is not None:
                self._report(result)

        try:
            prepare_trial_folder(self.arguments, self.folder.path, self.values)
            flags = self.config if self.arguments.pass_hyperparameters == "flags" else None
            if not self._run_program(self.arguments.command, report_progress, "the command", flags):
                return
            self._check_smac_status()
            if self.arguments.post_command is not None:
                post_lines: list[str] = []
                if not self._run_program(self.arguments.post_command, post_lines.append, "the post-processing command"):
                    return
                self.collector.add_final_lines(post_lines)

            final = self.collector.final_result()
            if final is not None:
                self._report(final)
            if self.collector.n_results == 0:
                raise TrainableError(
                    f"the command printed no value of the metric {self.metric}; print a line such as "
                    f"'{self.metric}=0.93' or 'epoch=1 {self.metric}=0.93'{self._log_tail()}"
                )
        finally:
            self.log.close()
            self.folder.upload()

    def _report(self, result: dict[str, Any]) -> None:
        """Report a result to Ray Tune, with the checkpoint files when any changed since the last one.

        After a restore, Ray Tune counts on from the checkpoint's result while the program starts
        from its beginning, so the results the checkpoint already covers are not reported again.
        """
        from ray import tune

        if self._n_to_skip > 0:
            self._n_to_skip -= 1
            return
        folder = self._copy_changed_checkpoint()
        if folder is None:
            tune.report(result)
            return
        try:
            tune.report(result, checkpoint=tune.Checkpoint.from_directory(folder))
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _copy_changed_checkpoint(self) -> Path | None:
        """Copy the checkpoint files into a new folder if any changed since the last copy; return it.

        The program writes a file before it prints the result that goes with it, so a file is
        complete when that line arrives.
        """
        present = [
            (name, self.folder.path / name)
            for name in self.arguments.checkpoint_files
            if (self.folder.path / name).is_file()
        ]
        if not present:
            return None
        signature = tuple((name, path.stat().st_mtime_ns, path.stat().st_size) for name, path in present)
        if signature == self._checkpoint_signature:
            return None
        folder = Path(tempfile.mkdtemp(prefix="command-checkpoint-"))
        for name, path in present:
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        # Results reported so far, counting the one this checkpoint goes with.
        (folder / RESULTS_COUNT_FILE).write_text(str(self.collector.n_results), encoding="utf-8")
        self._checkpoint_signature = signature
        return folder

    def _run_program(
        self, words: list[str], on_line: Callable[[str], None], what: str, flags_from: dict[str, Any] | None = None
    ) -> bool:
        """Run one program to its end; return ``False`` when a stop request ended it.

        Raises :class:`TrainableError` when it cannot start, times out or exits with an error.
        """
        argv = command_line(words, self.values, flags_from)
        self.log.write_note(f"running {shlex.join(argv)}")
        try:
            process = GroupProcess(argv, self.folder.path, self.env, self.log, self.arguments.kill_after_s)
        except OSError as error:
            raise TrainableError(f"cannot start {what} {shlex.join(argv)}: {error}") from None
        try:
            ending = run_until_done(process, on_line, self.deadline, self.folder)
        except SystemExit:
            # Ray Tune ends a trial's function by raising SystemExit in tune.report.
            self.log.write_note("Ray Tune stopped the trial; ending its processes")
            raise
        finally:
            process.end()

        if ending == Ending.STOP_REQUESTED:
            self.log.write_note("stop requested; the processes were ended")
            logger.info("trial %s: stopped on request", self.folder.trial_id)
            return False
        if ending == Ending.TIMED_OUT:
            self.log.write_note(f"time limit of {self.arguments.time_limit_s:g} s reached; the processes were ended")
            raise TrainableError(
                f"{what} timed out after {self.arguments.time_limit_s:g} s and was ended{self._log_tail()}"
            )
        status = process.returncode
        self.log.write_note(f"{what} exited with status {status}")
        if status:
            how = f"was killed by signal {_signal_name(-status)}" if status < 0 else f"exited with status {status}"
            raise TrainableError(f"{what} {how}{self._log_tail()}")
        return True

    def _check_smac_status(self) -> None:
        status = self.collector.smac_status
        if status is None or status in SUCCESS_STATUSES:
            return
        meaning = "the configuration is infeasible" if status == "UNSAT" else "the run failed"
        raise TrainableError(f"the command reported SMAC status {status}: {meaning}{self._log_tail()}")

    def _log_tail(self) -> str:
        tail = self.log.tail()
        if not tail:
            return "; it printed nothing"
        return f"; last lines of {self.log.path}:\n{tail}"


def _results_in_checkpoint() -> int:
    """Return how many results the trial had reported with the checkpoint it is restored from, or 0."""
    from ray import tune

    checkpoint = tune.get_checkpoint()
    if checkpoint is None:
        return 0
    with checkpoint.as_directory() as folder:
        count_file = Path(folder) / RESULTS_COUNT_FILE
        if not count_file.is_file():
            return 0
        return int(count_file.read_text(encoding="utf-8"))


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)
