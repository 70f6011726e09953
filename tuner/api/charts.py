"""PNG charts of an experiment, drawn with matplotlib's Agg renderer.

Figures are built with the object-oriented API and never through pyplot, so requests served on
several threads do not share pyplot's global figure state.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from matplotlib.figure import Figure

STATUS_COLORS = {
    "TERMINATED": "#1f77b4",
    "STOPPED": "#ff7f0e",
    "RUNNING": "#2ca02c",
    "PENDING": "#7f7f7f",
    "ERROR": "#d62728",
}
_DPI = 100


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI)
    return buffer.getvalue()


def _empty_chart(message: str, width_in: float = 8.0, height_in: float = 3.0) -> bytes:
    figure = Figure(figsize=(width_in, height_in))
    axes = figure.add_subplot()
    axes.axis("off")
    axes.text(0.5, 0.5, message, ha="center", va="center", fontsize=12, color="#555555")
    return _png(figure)


def _scored(trials: pa.Table, metric: str) -> pa.Table:
    """Trials with a finite value of ``metric``, in the order they started."""
    if metric not in trials.column_names or trials.num_rows == 0:
        return trials.slice(0, 0)
    if "started_at" in trials.column_names:
        trials = trials.sort_by([("started_at", "ascending")])
    return trials.filter(pc.is_finite(trials[metric]))


def progress_chart(trials: pa.Table, metric: str, mode: str) -> bytes:
    """Draw the metric of each trial in the order trials started, coloured by status, with the best so far."""
    scored = _scored(trials, metric)
    if scored.num_rows == 0:
        return _empty_chart(f"no trial has reported {metric} yet")

    values = scored[metric].to_numpy(zero_copy_only=False)
    order = np.arange(1, len(values) + 1)
    best_so_far = np.maximum.accumulate(values) if mode == "max" else np.minimum.accumulate(values)
    statuses = scored["status"].to_pylist()

    figure = Figure(figsize=(8, 4))
    axes = figure.add_subplot()
    for status, color in STATUS_COLORS.items():
        chosen = np.array([item == status for item in statuses])
        if chosen.any():
            axes.scatter(order[chosen], values[chosen], s=14, color=color, label=status, rasterized=True)
    axes.step(order, best_so_far, where="post", color="black", linewidth=1.5, label=f"best so far ({mode})")
    axes.set_xlabel("trial, in the order trials started")
    axes.set_ylabel(metric)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8, loc="best")
    figure.tight_layout()
    return _png(figure)


def hyperparameter_chart(trials: pa.Table, metric: str) -> bytes:
    """Draw one small scatter per hyperparameter: the metric against the hyperparameter's value.

    Numeric hyperparameters get a numeric axis, logarithmic when all values are positive and
    span more than two decades. Other hyperparameters get one column per value, with points
    spread sideways by a fixed-seed jitter so that they do not hide each other.
    """
    scored = _scored(trials, metric)
    names = [name for name in trials.column_names if name.startswith("config.")]
    if scored.num_rows == 0 or not names:
        return _empty_chart(f"no trial has reported {metric} yet")

    n_columns = min(3, len(names))
    n_rows = math.ceil(len(names) / n_columns)
    figure = Figure(figsize=(4 * n_columns, 3 * n_rows))
    values = scored[metric].to_numpy(zero_copy_only=False)
    jitter = np.random.default_rng(0).uniform(-0.2, 0.2, size=len(values))
    for position, name in enumerate(names, start=1):
        axes = figure.add_subplot(n_rows, n_columns, position)
        column = scored[name]
        present = pc.invert(pc.is_null(column)).to_numpy(zero_copy_only=False)
        if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
            settings = column.to_numpy(zero_copy_only=False).astype(float)
            axes.scatter(settings[present], values[present], s=10, alpha=0.7, rasterized=True)
            present_settings = settings[present]
            spans_decades = len(present_settings) and present_settings.min() > 0
            if spans_decades and present_settings.max() / present_settings.min() > 100:
                axes.set_xscale("log")
        else:
            labels = [str(item) for item in column.to_pylist()]
            categories = sorted({label for label, keep in zip(labels, present, strict=True) if keep})
            positions = np.array(
                [categories.index(label) if keep else -1 for label, keep in zip(labels, present, strict=True)]
            )
            axes.scatter(positions[present] + jitter[present], values[present], s=10, alpha=0.7, rasterized=True)
            axes.set_xticks(range(len(categories)), categories, fontsize=8)
        axes.set_xlabel(name.removeprefix("config."))
        axes.set_ylabel(metric)
        axes.grid(alpha=0.3)
    figure.tight_layout()
    return _png(figure)


def learning_curves_chart(trials: pa.Table, results: pa.Table, metric: str, mode: str, top: int) -> bytes:
    """Draw the metric per epoch of the ``top`` best trials."""
    scored = _scored(trials, metric)
    if scored.num_rows == 0 or metric not in results.column_names:
        return _empty_chart(f"no trial has reported {metric} yet")

    ranked = scored.sort_by([(metric, "descending" if mode == "max" else "ascending")]).slice(0, top)
    figure = Figure(figsize=(8, 4))
    axes = figure.add_subplot()
    for trial_id, best in zip(ranked["trial_id"].to_pylist(), ranked[metric].to_pylist(), strict=True):
        rows = results.filter(pc.equal(results["trial_id"], trial_id)).sort_by("training_iteration")
        axes.plot(
            rows["training_iteration"].to_numpy(zero_copy_only=False),
            rows[metric].to_numpy(zero_copy_only=False),
            marker="o",
            markersize=3,
            label=f"{trial_id} ({best:.4g})",
        )
    axes.set_xlabel("epoch (training_iteration)")
    axes.set_ylabel(metric)
    axes.set_title(f"learning curves of the {ranked.num_rows} best trials", fontsize=10)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8, loc="best")
    figure.tight_layout()
    return _png(figure)
