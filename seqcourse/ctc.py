"""CTC helpers of notebook 08: the references the lesson falls back on while its exercises are
stubs — Keras' CTC loss for one utterance, and the collapse rule."""

from __future__ import annotations

import itertools

import numpy as np


def keras_ctc_log_likelihood(log_probs, labels, blank: int = 0) -> float:
    """log p(labels | frames) from ``keras.ops.ctc_loss``: ``log_probs`` (frames, classes)
    per-frame log-probabilities, ``labels`` a sequence of class ids without blanks.

    Example:
        >>> round(keras_ctc_log_likelihood(np.log(np.full((2, 2), 0.5)), [1]), 4)  # 3 of 4 paths
        -0.2877
    """
    import keras

    log_probs = np.asarray(log_probs, "float32")[None]
    labels = np.asarray(labels, "int32").reshape(1, -1)
    loss = keras.ops.ctc_loss(
        labels, log_probs, np.array([labels.shape[1]]), np.array([log_probs.shape[1]]), blank
    )
    return -float(np.asarray(loss)[0])


def collapse_path(frame_ids, blank: int = 0) -> list[int]:
    """The CTC collapse rule: merge runs of the same id, then drop the blanks.

    Example:
        >>> collapse_path([1, 1, 0, 2, 2, 0, 0, 2])
        [1, 2, 2]
    """
    return [int(key) for key, _ in itertools.groupby(frame_ids) if key != blank]
