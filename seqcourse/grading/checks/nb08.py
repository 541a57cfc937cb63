"""Public checks of notebook 08 (speech recognition). Oracles: ``keras.ops.ctc_decode``
(greedy) for the collapse rule and ``tf.edit_distance`` for error rates."""

from __future__ import annotations

import numpy as np

from seqcourse.grading.public_checks import CheckFailed, assert_close, public_check


def _keras_collapse(frame_ids) -> list[int]:
    import keras

    frame_ids = np.asarray(frame_ids)
    one_hot = np.eye(6)[frame_ids][None].astype("float32")  # argmax = the given ids
    decoded, _ = keras.ops.ctc_decode(one_hot, np.array([len(frame_ids)]), strategy="greedy")
    return [int(i) for i in np.asarray(decoded[0][0]) if i >= 0]


# ---------------------------------------------------------------- 8.1 collapse


@public_check("8.1", "merges repeats, then drops blanks: [1,1,0,2,2,0,0,2] -> [1, 2, 2]")
def _collapse_example(collapse):
    got = collapse([1, 1, 0, 2, 2, 0, 0, 2])
    if list(map(int, got)) != [1, 2, 2]:
        raise CheckFailed(
            f"collapse([1, 1, 0, 2, 2, 0, 0, 2]) returned {got!r}, expected [1, 2, 2] "
            "(the blank between the 2s keeps them apart)"
        )


@public_check("8.1", "agrees with keras.ops.ctc_decode on 100 random frame paths")
def _collapse_random(collapse):
    rng = np.random.default_rng(0)
    for _ in range(100):
        path = rng.integers(0, 6, rng.integers(1, 20))
        got = collapse(path)
        expected = _keras_collapse(path)
        if list(map(int, got)) != expected:
            raise CheckFailed(f"collapse({path.tolist()}) returned {got!r}, expected {expected}")


# ---------------------------------------------------------------- 8.2 error_rate


def _distance(a, b) -> int:
    from seqcourse.metrics import edit_distances

    return int(edit_distances([a], [b])[0])


@public_check("8.2", "total distance over total reference length (not a mean of ratios)")
def _rate_corpus(error_rate):
    hypotheses, references = ["tw", "one two three four"], ["two", "one two three four"]
    got = error_rate(hypotheses, references, _distance)
    assert_close(got, 1 / 21, "error rate", atol=1e-9)


@public_check("8.2", "works on word lists (WER) with the given distance function")
def _rate_words(error_rate):
    references = [["four", "one", "five"], ["nine", "nine"]]
    hypotheses = [["four", "five"], ["nine", "nine", "two"]]
    got = error_rate(hypotheses, references, _distance)
    assert_close(got, 2 / 5, "word error rate", atol=1e-9)
    if not isinstance(got, (float, np.floating)):
        raise CheckFailed(f"expected a float, got {type(got).__name__}")
