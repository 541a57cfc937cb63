"""Public checks of notebook 00 (sequence data). Oracles: ``keras.utils.pad_sequences`` and
``keras.layers.GlobalAveragePooling1D`` with a mask."""

from __future__ import annotations

import numpy as np

from seqcourse.grading.public_checks import CheckFailed, assert_close, assert_shape, public_check

SEQUENCES = [[4, 7, 1], [9], [2, 5, 8, 3, 6], [1, 1]]


@public_check("0.1", "padded batch matches keras.utils.pad_sequences(padding='post')")
def _pad(pad_and_mask):
    import keras

    padded, _ = pad_and_mask(SEQUENCES)
    expected = keras.utils.pad_sequences(SEQUENCES, padding="post")
    padded = assert_shape(padded, expected.shape, "padded")
    if not np.array_equal(padded, expected):
        raise CheckFailed(f"padded batch\n{padded}\nexpected\n{expected}")


@public_check("0.1", "mask is bool and true exactly on the real steps")
def _mask(pad_and_mask):
    _, mask = pad_and_mask(SEQUENCES)
    mask = np.asarray(mask)
    if mask.dtype != bool:
        raise CheckFailed(f"mask has dtype {mask.dtype}, expected bool")
    lengths = mask.sum(axis=1).tolist()
    if lengths != [3, 1, 5, 2] or not np.all(mask[:, :1]):
        raise CheckFailed(
            f"mask marks {lengths} real steps per row, expected [3, 1, 5, 2] at the start"
        )


@public_check("0.2", "equals GlobalAveragePooling1D with the mask")
def _masked_mean(masked_mean):
    import keras

    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 5, 2)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 0, 0, 0, 0], [1, 1, 1, 1, 1]], bool)
    got = assert_shape(masked_mean(x, mask), (3, 2), "masked mean")
    expected = np.asarray(keras.layers.GlobalAveragePooling1D()(x, mask=mask))
    assert_close(got, expected, "masked mean", atol=1e-5)


@public_check("0.2", "padding values do not matter")
def _masked_mean_padding(masked_mean):
    x = np.zeros((1, 4, 1))
    x[0, :2, 0] = [1.0, 3.0]
    x[0, 2:, 0] = 1000.0
    got = np.asarray(masked_mean(x, np.array([[True, True, False, False]])))
    assert_close(got.reshape(-1), [2.0], "mean of [1, 3] with two padded steps", atol=1e-9)
