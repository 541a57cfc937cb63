"""Reference models the notebooks build on when an exercise that writes them is not attempted
(see :func:`seqcourse.answer_or_reference`)."""

from __future__ import annotations


def _embedding_lstm_dense(vocab_size, embedding_dim, units, bidirectional, sequences, head):
    """``Embedding(mask_zero=True)`` -> ``LSTM`` (``Bidirectional`` if asked) -> ``head``."""
    import keras

    recurrent = keras.layers.LSTM(units, return_sequences=sequences)
    if bidirectional:
        recurrent = keras.layers.Bidirectional(recurrent)
    return keras.Sequential(
        [
            keras.Input((None,), dtype="int64"),
            keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True),
            recurrent,
            head,
        ]
    )


def build_lstm_classifier(vocab_size: int, embedding_dim=32, units=32, bidirectional=False):
    """A many-to-one sentiment model: token ids (batch, time) int64, 0 = padding ->
    P(positive) (batch, 1).

    ``Embedding(mask_zero=True)`` -> ``LSTM(units)`` (wrapped in ``Bidirectional`` when
    ``bidirectional``) -> ``Dense(1, sigmoid)``, uncompiled.
    """
    import keras

    head = keras.layers.Dense(1, activation="sigmoid")
    return _embedding_lstm_dense(vocab_size, embedding_dim, units, bidirectional, False, head)


def build_tagger(vocab_size: int, n_tags: int, embedding_dim=64, units=64, bidirectional=True):
    """A sequence tagger: word ids (batch, time) int64, 0 = padding -> tag logits
    (batch, time, n_tags).

    ``Embedding(mask_zero=True)`` -> ``LSTM(units, return_sequences=True)`` (wrapped in
    ``Bidirectional`` when ``bidirectional``) -> ``Dense(n_tags)``, uncompiled.

    Example:
        >>> import numpy as np
        >>> tuple(build_tagger(100, 8, units=4)(np.array([[5, 7, 0]])).shape)
        (1, 3, 8)
    """
    import keras

    head = keras.layers.Dense(n_tags)
    return _embedding_lstm_dense(vocab_size, embedding_dim, units, bidirectional, True, head)


def last_real_step(outputs, mask):
    """The output of a recurrent layer at each sequence's last real step.

    Args:
        outputs: (batch, time, units), a recurrent layer's outputs at every step
            (``return_sequences=True``).
        mask: (batch, time) bool, true at real steps: a run from step 0, then padding. Every
            sequence has at least one real step.

    Returns:
        (batch, units): ``outputs[b, length_b - 1]`` for each row ``b``. Written with
        ``keras.ops``: it also runs inside a model, on tensors of unknown batch and time.

    Example:
        >>> import numpy as np
        >>> outputs = np.arange(6.0).reshape(2, 3, 1)
        >>> np.asarray(last_real_step(outputs, [[True, True, False], [True, False, False]]))
        array([[1.],
               [3.]], dtype=float32)
    """
    import keras

    ops = keras.ops
    outputs = ops.convert_to_tensor(outputs, dtype="float32")
    lengths = ops.sum(ops.cast(ops.convert_to_tensor(mask), "int32"), axis=1)
    last = ops.expand_dims(ops.expand_dims(lengths - 1, -1), -1)  # (batch, 1, 1)
    return ops.take_along_axis(outputs, last, axis=1)[:, 0]
