"""Public checks of notebook 09 (video activity recognition)."""

from __future__ import annotations

import numpy as np

from seqcourse.grading.public_checks import CheckFailed, assert_close, assert_shape, public_check

# ---------------------------------------------------------------- 9.1 reverse_in_time


@public_check("9.1", "reverses axis 1 (time) of a (batch, time, height, width, channels) array")
def _reverse_time(reverse_in_time):
    clips = np.random.default_rng(0).random((2, 5, 3, 4, 1))
    got = assert_shape(reverse_in_time(clips), clips.shape, "reversed clips")
    for t in range(5):
        if not np.array_equal(got[:, t], clips[:, 4 - t]):
            raise CheckFailed(
                f"frame {t} of the result should be frame {4 - t} of the input (time is axis 1; "
                "batch, height and width stay as they are)"
            )


@public_check("9.1", "leaves the input unchanged and keeps each clip in its place")
def _reverse_pure(reverse_in_time):
    clips = np.arange(3 * 4).reshape(3, 4, 1, 1, 1).astype(float)
    before = clips.copy()
    got = np.asarray(reverse_in_time(clips))
    if not np.array_equal(clips, before):
        raise CheckFailed("the input array was modified; return a new array")
    if not np.array_equal(got[:, :, 0, 0, 0], before[:, ::-1, 0, 0, 0]):
        raise CheckFailed("clips were reordered or mixed: only the frames inside each clip reverse")


# ---------------------------------------------------------------- 9.2 pair_accuracy


@public_check("9.2", "counts only examples whose true class is in a pair")
def _pair_accuracy(pair_accuracy):
    y_true = np.array([0, 1, 2, 3, 8, 9, 0, 1])
    y_pred = np.array([0, 0, 2, 3, 1, 1, 1, 1])
    got = pair_accuracy(y_true, y_pred, [(0, 1), (2, 3)])
    assert_close(got, 4 / 6, "accuracy on the pair classes", atol=1e-9)


@public_check("9.2", "a prediction of another pair's class is wrong; returns a float")
def _pair_accuracy_other(pair_accuracy):
    got = pair_accuracy([4, 5, 6], [6, 5, 6], [(4, 5), (6, 7)])
    assert_close(got, 2 / 3, "accuracy", atol=1e-9)
    if not isinstance(got, (float, np.floating)):
        raise CheckFailed(f"expected a float, got {type(got).__name__}")
