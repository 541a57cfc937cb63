"""Public checks of notebook 03 (sentiment, many-to-one)."""

from __future__ import annotations

import numpy as np

from seqcourse.grading.public_checks import (
    CheckFailed,
    assert_close,
    assert_shape,
    judge_in_kernel,
    public_check,
)

VOCAB, EMBED, UNITS = 50, 8, 6

judge_in_kernel("3.1")  # returns a Keras model: judged in the kernel (not tamper-proof)


def _ids(seed: int, batch: int = 4, time: int = 7) -> np.ndarray:
    return np.random.default_rng(seed).integers(1, VOCAB, size=(batch, time)).astype("int64")


def _build(build_lstm_classifier, bidirectional: bool):
    import keras

    model = build_lstm_classifier(VOCAB, EMBED, UNITS, bidirectional=bidirectional)
    if not isinstance(model, keras.Model):
        raise CheckFailed(
            f"build_lstm_classifier should return a keras.Model, got {type(model).__name__}"
        )
    return model


# ---------------------------------------------------------------- 3.1 build_lstm_classifier


@public_check("3.1", "maps token ids (batch, time) to probabilities (batch, 1)")
def _classifier_shape(build_lstm_classifier):
    out = np.asarray(_build(build_lstm_classifier, False)(_ids(1)))
    assert_shape(out, (4, 1), "the model's output")
    if not np.all((out > 0) & (out < 1)):
        raise CheckFailed("outputs should be probabilities in (0, 1): end with a sigmoid unit")


@public_check("3.1", "ignores padding: the same review padded longer gives the same output")
def _classifier_masks(build_lstm_classifier):
    model = _build(build_lstm_classifier, False)
    ids = _ids(2)
    padded = np.concatenate([ids, np.zeros((4, 9), "int64")], axis=1)
    assert_close(
        np.asarray(model(padded)), np.asarray(model(ids)), "output on the padded batch", atol=1e-5
    )


@public_check("3.1", "has the requested sizes (Embedding, LSTM or Bidirectional(LSTM), Dense)")
def _classifier_sizes(build_lstm_classifier):
    lstm = 4 * (EMBED * UNITS + UNITS * UNITS + UNITS)
    for bidirectional, expected in [(False, lstm + UNITS + 1), (True, 2 * lstm + 2 * UNITS + 1)]:
        model = _build(build_lstm_classifier, bidirectional)
        model(_ids(3))
        got = model.count_params() - VOCAB * EMBED
        if got != expected:
            raise CheckFailed(
                f"with bidirectional={bidirectional}, expected {expected} weights besides the "
                f"embedding ({VOCAB}x{EMBED}), found {got}"
            )


# ---------------------------------------------------------------- 3.2 pair_accuracy


@public_check("3.2", "counts a pair only when both reviews are classified correctly")
def _pair_accuracy_values(pair_accuracy):
    p_first = np.array([0.9, 0.2, 0.6, 0.7])
    p_second = np.array([0.1, 0.3, 0.4, 0.8])
    labels_first = np.array([1, 0, 1, 0])
    assert_close(
        np.float64(pair_accuracy(p_first, p_second, labels_first)), 0.5, "pair accuracy", atol=1e-9
    )


@public_check("3.2", "accepts model outputs of shape (n, 1)")
def _pair_accuracy_column(pair_accuracy):
    p = np.array([[0.8], [0.3]])
    value = pair_accuracy(p, 1 - p, np.array([1, 0]))
    assert_close(value, 1.0, "pair accuracy", atol=1e-9)
