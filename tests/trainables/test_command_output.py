"""Metric lines of command-line trainables: each format, progress lines, SMAC results, bad lines."""

from __future__ import annotations

import logging

import pytest

from trainables.command_output import MetricCollector, MetricLine, MetricLineError, SmacResult, parse_output_line


@pytest.mark.parametrize(
    ("line", "metrics"),
    [
        ("val_accuracy=0.95", {"val_accuracy": 0.95}),
        ("val_accuracy = 0.95\n", {"val_accuracy": 0.95}),
        ("val_accuracy: 0.95", {"val_accuracy": 0.95}),
        ("val_accuracy 0.95", {"val_accuracy": 0.95}),
        ("  loss\t1e-3  ", {"loss": 0.001}),
        ("epoch=3 val_accuracy=0.95 loss=0.2", {"epoch": 3, "val_accuracy": 0.95, "loss": 0.2}),
        ("epoch: 3, val_accuracy: 0.95", {"epoch": 3, "val_accuracy": 0.95}),
        ("step=100,loss=nan", {"step": 100, "loss": float("nan")}),
        ("n_params 1024", {"n_params": 1024}),
    ],
)
def test_metric_line_formats_parse(line: str, metrics: dict[str, float]) -> None:
    parsed = parse_output_line(line)

    assert isinstance(parsed, MetricLine)
    assert parsed.metrics.keys() == metrics.keys()
    for name, value in metrics.items():
        if value != value:  # NaN
            assert parsed.metrics[name] != parsed.metrics[name]
        else:
            assert parsed.metrics[name] == value
            assert type(parsed.metrics[name]) is type(value)


@pytest.mark.parametrize(
    "line",
    ["", "Training started", "Epoch 3/12", "loading 1797 images from disk", "INFO: starting the run now", "12:30:01 5"],
)
def test_prose_lines_are_not_metrics(line: str) -> None:
    assert parse_output_line(line) is None


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("accuracy=95%", "accuracy: '95%' is not a number"),
        ("epoch=3 val_accuracy=high", "val_accuracy: 'high' is not a number"),
        ("Note: done", "Note: 'done' is not a number"),
    ],
)
def test_metric_shaped_line_with_bad_value_raises(line: str, reason: str) -> None:
    with pytest.raises(MetricLineError) as raised:
        parse_output_line(line)

    assert str(raised.value) == reason


def test_smac_result_line_parses() -> None:
    parsed = parse_output_line("Result of this algorithm run: SAT, 12.5, 3, 0.125, 42")

    assert parsed == SmacResult(status="SAT", runtime=12.5, runlength=3.0, quality=0.125, seed=42)


def test_smac_result_line_with_additional_info_parses() -> None:
    parsed = parse_output_line("Result of this algorithm run: UNSAT, 0, 0, 0, 7, out of memory")

    assert parsed == SmacResult(status="UNSAT", runtime=0.0, runlength=0.0, quality=0.0, seed=7)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (
            "Result of this algorithm run: SAT, 1, 2",
            "a SMAC result needs 5 comma-separated fields (status, runtime, runlength, quality, seed), got 3",
        ),
        (
            "Result of this algorithm run: DONE, 1, 2, 3, 4",
            "SMAC status must be one of SAT, SUCCESS, UNSAT, TIMEOUT, CRASHED, ABORT, MEMOUT, got 'DONE'",
        ),
        ("Result of this algorithm run: SAT, 1, 2, good, 4", "SMAC fields must be numbers: could not convert string to float: 'good'"),
    ],
)
def test_malformed_smac_line_raises(line: str, reason: str) -> None:
    with pytest.raises(MetricLineError) as raised:
        parse_output_line(line)

    assert str(raised.value) == reason


def test_progress_line_is_reported_with_earlier_metrics() -> None:
    collector = MetricCollector("val_accuracy")

    assert collector.add_line("loss 0.5\n") is None
    result = collector.add_line("epoch=1 val_accuracy=0.8\n")

    assert result == {"loss": 0.5, "epoch": 1, "val_accuracy": 0.8}
    assert collector.n_results == 1
    assert collector.final_result() is None


def test_training_iteration_is_not_passed_to_ray() -> None:
    collector = MetricCollector("value")

    result = collector.add_line("training_iteration=4 value=1.5")

    assert result == {"value": 1.5}


def test_progress_line_without_metric_waits_for_it(caplog: pytest.LogCaptureFixture) -> None:
    collector = MetricCollector("val_accuracy")

    with caplog.at_level(logging.WARNING, logger="trainables.command_output"):
        first = collector.add_line("step=100 loss=0.4")
        second = collector.add_line("step=200 loss=0.3")
        result = collector.add_line("epoch=1 val_accuracy=0.9")

    assert first is None
    assert second is None
    assert result == {"step": 200, "loss": 0.3, "epoch": 1, "val_accuracy": 0.9}
    warnings = [record.getMessage() for record in caplog.records]
    assert warnings == [
        "output line 1 carries epoch, step or training_iteration but no val_accuracy, so it is not reported as "
        "a result on its own; print the experiment's metric on the same line, or before it: 'step=100 loss=0.4'"
    ]


def test_metrics_after_last_progress_line_form_final_result() -> None:
    collector = MetricCollector("val_accuracy")
    collector.add_line("epoch=1 val_accuracy=0.8")
    collector.add_line("epoch=2 val_accuracy=0.9")

    collector.add_line("test_accuracy=0.85")

    assert collector.final_result() == {"test_accuracy": 0.85, "val_accuracy": 0.9}
    assert collector.n_results == 3


def test_lines_without_progress_form_one_final_result() -> None:
    collector = MetricCollector("value")

    for line in ["value: 2.5", "regret 0.1", "value=2.25"]:
        assert collector.add_line(line) is None

    assert collector.final_result() == {"value": 2.25, "regret": 0.1}


def test_smac_sat_gives_metric_its_quality() -> None:
    collector = MetricCollector("cost")

    collector.add_line("Result of this algorithm run: SAT, 1.5, 10, 0.25, 3")

    assert collector.smac_status == "SAT"
    assert collector.final_result() == {"cost": 0.25, "quality": 0.25, "runtime": 1.5, "runlength": 10.0}


def test_smac_unsat_gives_no_result() -> None:
    collector = MetricCollector("cost")

    collector.add_line("Result of this algorithm run: UNSAT, 0.1, 0, 0, 3")

    assert collector.smac_status == "UNSAT"
    assert collector.final_result() is None


def test_unparsed_metric_line_warned_once(caplog: pytest.LogCaptureFixture) -> None:
    collector = MetricCollector("value")

    with caplog.at_level(logging.WARNING, logger="trainables.command_output"):
        for _ in range(3):
            collector.add_line("value=fast\n")

    assert [record.getMessage() for record in caplog.records] == [
        "output line 1 looks like metrics but does not parse (value: 'fast' is not a number), so it is ignored: "
        "'value=fast'"
    ]
    assert collector.final_result() is None


def test_warnings_passed_to_callback() -> None:
    messages: list[str] = []
    collector = MetricCollector("value", on_warning=messages.append)

    collector.add_line("value=fast")
    collector.add_line("epoch=1 loss=0.2")

    assert messages == [
        "output line 1 looks like metrics but does not parse (value: 'fast' is not a number), so it is ignored: "
        "'value=fast'",
        "output line 2 carries epoch, step or training_iteration but no value, so it is not reported as a result "
        "on its own; print the experiment's metric on the same line, or before it: 'epoch=1 loss=0.2'",
    ]


def test_unparsed_metric_warnings_are_capped(caplog: pytest.LogCaptureFixture) -> None:
    collector = MetricCollector("value")

    with caplog.at_level(logging.WARNING, logger="trainables.command_output"):
        for index in range(30):
            collector.add_line(f"value=fast{index}")

    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 11
    assert messages[-1] == "more output lines look like metrics but do not parse; further ones are not logged"


def test_post_command_lines_join_final_result() -> None:
    collector = MetricCollector("value")
    collector.add_line("epoch=1 value=3.0")

    collector.add_final_lines(["value 2.0", "epoch=2 size=10", "nothing to see"])

    assert collector.final_result() == {"value": 2.0, "epoch": 2, "size": 10}
