"""Public checks of notebook 05 (sequence tagging). Oracles: keras.metrics.Accuracy with
sample weights, and the data builder run in the other direction (text -> tags)."""

from __future__ import annotations

import numpy as np

from seqcourse.grading.public_checks import CheckFailed, assert_close, public_check

# ---------------------------------------------------------------- 5.1 masked_token_accuracy


def _batch(seed: int):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 4, size=(5, 9))
    y_pred = np.where(rng.random((5, 9)) < 0.6, y_true, rng.integers(0, 4, size=(5, 9)))
    lengths = rng.integers(1, 10, size=5)
    mask = np.arange(9)[None, :] < lengths[:, None]
    return y_true, y_pred, mask


@public_check("5.1", "matches keras.metrics.Accuracy weighted by the mask")
def _masked_accuracy_value(masked_token_accuracy):
    import keras

    y_true, y_pred, mask = _batch(1)
    metric = keras.metrics.Accuracy()
    metric.update_state(y_true, y_pred, sample_weight=mask.astype("float32"))
    assert_close(
        masked_token_accuracy(y_true, y_pred, mask), float(metric.result()), "accuracy", atol=1e-6
    )


@public_check("5.1", "padding never changes the result")
def _masked_accuracy_padding(masked_token_accuracy):
    y_true, y_pred, mask = _batch(2)
    wrong_padding = np.where(mask, y_pred, (y_true + 1) % 4)
    right_padding = np.where(mask, y_pred, y_true)
    a = masked_token_accuracy(y_true, wrong_padding, mask)
    b = masked_token_accuracy(y_true, right_padding, mask)
    assert_close(a, b, "accuracy with different predictions on padding", atol=1e-9)


# ---------------------------------------------------------------- 5.2 restore_text

SENTENCES = [
    "The values are compared, and the result is True.",
    "Is it an iterator? If not, TypeError is raised: see the section on Iterators!",
    "the name is bound in the current local namespace",
]


@public_check(
    "5.2", "words + tags give back the cleaned sentence (round trip through the data builder)"
)
def _restore_round_trip(restore_text):
    from seqcourse.datasets.punctuation import canonical_text, text_to_tags

    for sentence in SENTENCES:
        got = restore_text(*text_to_tags(sentence))
        if got != canonical_text(sentence):
            raise CheckFailed(
                f"for {sentence!r} expected {canonical_text(sentence)!r}, got {got!r}"
            )


@public_check("5.2", "an empty sequence gives an empty string")
def _restore_empty(restore_text):
    got = restore_text([], [], [])
    if got != "":
        raise CheckFailed(f"expected '', got {got!r}")
