"""Plots shared by the notebooks: training curves and hidden states over time."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator


def plot_history(histories: dict, metric: str = "loss", ax=None, title: str | None = None):
    """Plot ``metric`` (and ``val_<metric>`` if present) per epoch for several training runs.

    Args:
        histories: ``{label: keras History or its .history dict}``.
        metric: the key to plot, e.g. ``"loss"`` or ``"accuracy"``.
    Returns:
        The matplotlib Axes.
    """
    ax = ax or plt.subplots(figsize=(6, 3.5))[1]
    for label, history in histories.items():
        logs = getattr(history, "history", history)
        if metric not in logs:
            raise KeyError(f"{label!r} has no {metric!r} in its history; it has {sorted(logs)}")
        epochs = np.arange(1, len(logs[metric]) + 1)
        line = ax.plot(epochs, logs[metric], marker="o", ms=3, label=f"{label} (train)")[0]
        if f"val_{metric}" in logs:
            ax.plot(
                epochs,
                logs[f"val_{metric}"],
                ls="--",
                marker="s",
                ms=3,
                color=line.get_color(),
                label=f"{label} (validation)",
            )
    ax.set(xlabel="epoch", ylabel=metric, title=title or metric)
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    return ax


def plot_hidden_states(
    hs,
    labels=None,
    ax=None,
    title: str = "hidden state over time",
    xlabel: str | None = None,
):
    """Heatmap of one sequence's hidden states: units on the y axis, time on the x axis.

    Args:
        hs: array of shape ``(time, units)``.
        labels: optional per-step labels (e.g. the input symbols) written under the time axis,
            in place of the step numbers.
        xlabel: the x axis label; by default "time step", or "input at each time step" when
            ``labels`` replace the step numbers.
    """
    hs = np.asarray(hs)
    if hs.ndim != 2:
        raise ValueError(
            f"hs must have shape (time, units), got {hs.shape}; pick one sequence first"
        )
    ax = ax or plt.subplots(figsize=(8, 3))[1]
    image = ax.imshow(hs.T, aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
    ax.figure.colorbar(image, ax=ax, label="activation")
    if xlabel is None:
        xlabel = "time step" if labels is None else "input at each time step"
    ax.set(xlabel=xlabel, ylabel="hidden unit", title=title)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # units and steps are whole numbers
    if labels is not None:
        ax.set_xticks(range(len(labels)), [str(v) for v in labels])
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return ax
