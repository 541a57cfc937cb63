"""Windows over a token stream for next-token prediction, as a ``tf.data`` pipeline."""

from __future__ import annotations

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
