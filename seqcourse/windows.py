"""Windows as ``tf.data`` pipelines: over a token stream for next-token prediction (notebook
04), and over a time series for forecasting (notebook 10)."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


def next_step_windows(ids, window: int, batch_size: int = 64, shuffle: bool = False, seed: int = 0):
    """Cut a 1-D stream of token ids into (input, target) windows, the target shifted by one.

    Consecutive, non-overlapping chunks of ``window + 1`` ids become
    ``input = chunk[:-1]`` and ``target = chunk[1:]`` (the leftover tail is dropped).

    Args:
        ids: 1-D integer tensor or array, shape (n,).
        window: steps per window.
        shuffle: shuffle the windows (training); batches are then all full.

    Returns:
        A ``tf.data.Dataset`` of ``(inputs, targets)``, each (batch, window) int.

    Raises:
        ValueError: if ``ids`` is not 1-D or shorter than one window.
    """
    ids = tf.convert_to_tensor(ids)
    if ids.shape.rank != 1:
        raise ValueError(f"ids must be a 1-D stream of token ids, got shape {tuple(ids.shape)}")
    if ids.shape[0] is not None and ids.shape[0] < window + 1:
        raise ValueError(
            f"a stream of {ids.shape[0]} ids is shorter than one window of {window} + 1"
        )
    ds = tf.data.Dataset.from_tensor_slices(ids).batch(window + 1, drop_remainder=True)
    ds = ds.map(lambda chunk: (chunk[:-1], chunk[1:]))
    if shuffle:
        ds = ds.shuffle(10_000, seed=seed)
    return ds.batch(batch_size, drop_remainder=shuffle).prefetch(tf.data.AUTOTUNE)


def forecast_windows(
    values,
    window: int,
    horizon: int,
    first_target: int,
    end: int,
    target_column: int = 0,
    batch_size: int = 64,
    shuffle: bool = False,
    seed: int = 0,
):
    """Sliding (history, future) windows for forecasting, via
    ``keras.utils.timeseries_dataset_from_array``.

    For every origin ``t`` (the last observed step), the input is ``values[t - window + 1 : t + 1]``
    and the target is ``values[t + 1 : t + horizon + 1, target_column]``. Only origins whose
    **targets all lie in** ``[first_target, end)`` are used, so the windows of a split never
    look at a target outside it (their inputs may reach back before ``first_target``: that
    history is known at forecast time).

    Args:
        values: (steps,) or (steps, features) float array, already normalised.
        window: input steps; horizon: steps to predict (1 = next step).
        first_target, end: the split's first target step and the step after its last.

    Returns:
        A ``tf.data.Dataset`` of ``(inputs (batch, window, features), targets (batch, horizon))``.

    Raises:
        ValueError: if there is not enough history before ``first_target`` or the split is
            shorter than one horizon.
    """
    values = np.asarray(values, "float32")
    values = values[:, None] if values.ndim == 1 else values
    if first_target - window < 0:
        raise ValueError(
            f"the first target step {first_target} needs {window} steps of history before it"
        )
    if end > len(values) or end - first_target < horizon:
        raise ValueError(
            f"targets [{first_target}, {end}) do not fit {horizon} step(s) inside the "
            f"{len(values)} steps of the series"
        )
    span = values[first_target - window : end]
    ds = keras.utils.timeseries_dataset_from_array(
        span, None, sequence_length=window + horizon, batch_size=None, shuffle=False
    )
    ds = ds.map(lambda s: (s[:window], s[window:, target_column]))
    if shuffle:
        ds = ds.shuffle(10_000, seed=seed)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
