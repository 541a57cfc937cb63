"""Video models of notebook 09: the per-frame mechanism the lesson falls back on."""

from __future__ import annotations


def per_frame(frame_model, clips):
    """``frame_model`` on every frame of ``clips``, in one call: what
    ``keras.layers.TimeDistributed`` does (the reference of notebook 09's exercise 9.1).

    Time is folded into the batch — clips ``(batch, time, height, width, channels)`` become
    frames ``(batch * time, height, width, channels)`` — the frame model maps them to
    ``(batch * time, features)``, and the result is unfolded to ``(batch, time, features)``.
    Works in ``keras.ops`` on arrays and on symbolic tensors of unknown batch and time.

    Example:
        >>> import keras, numpy as np
        >>> flat = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten()])
        >>> tuple(per_frame(flat, np.zeros((2, 5, 8, 8, 1), "float32")).shape)
        (2, 5, 64)
    """
    from keras import ops

    batch, time = ops.shape(clips)[0], ops.shape(clips)[1]
    frames = ops.reshape(clips, (-1, *clips.shape[2:]))  # (batch * time, height, width, ch)
    features = frame_model(frames)  # (batch * time, features)
    return ops.reshape(features, (batch, time, features.shape[-1]))
