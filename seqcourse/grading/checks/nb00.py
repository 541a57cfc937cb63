"""Public checks of notebook 00 (sequence data). Oracles: ``keras.utils.pad_sequences`` and
``keras.layers.GlobalAveragePooling1D`` with a mask."""

from __future__ import annotations

import numpy as np

from seqcourse.grading.public_checks import (
    CheckFailed,
    assert_close,
    assert_shape,
    fresh_rng,
    public_check,
)


def _sequences(seed: int) -> list[list[int]]:
    """Four fresh token sequences of lengths 1 to 6 (one of length 1, one of 6), ids 1 to 9."""
    rng = fresh_rng(seed)
    lengths = rng.permutation([1, 6, *rng.integers(1, 7, size=2)])
    return [rng.integers(1, 10, size=n).tolist() for n in lengths]


@public_check("0.1", "padded batch matches keras.utils.pad_sequences(padding='post')")
def _pad(pad_and_mask):
    import keras

    sequences = _sequences(0)
    padded, _ = pad_and_mask(sequences)
    expected = keras.utils.pad_sequences(sequences, padding="post")
    padded = assert_shape(padded, expected.shape, "padded")
    if not np.array_equal(padded, expected):
        raise CheckFailed(f"padded batch\n{padded}\nexpected\n{expected}")


@public_check("0.1", "mask is bool and true exactly on the real steps")
def _mask(pad_and_mask):
    sequences = _sequences(1)
    _, mask = pad_and_mask(sequences)
    mask = np.asarray(mask)
    if mask.dtype != bool:
        raise CheckFailed(f"mask has dtype {mask.dtype}, expected bool")
    lengths, want = mask.sum(axis=1).tolist(), [len(s) for s in sequences]
    if lengths != want or not np.all(mask[:, :1]):
        raise CheckFailed(f"mask marks {lengths} real steps per row, expected {want} at the start")


@public_check("0.2", "equals GlobalAveragePooling1D with the mask")
def _masked_mean(masked_mean):
    import keras

    rng = fresh_rng(0)
    x = rng.normal(size=(3, 5, 2)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 0, 0, 0, 0], [1, 1, 1, 1, 1]], bool)
    got = assert_shape(masked_mean(x, mask), (3, 2), "masked mean")
    expected = np.asarray(keras.layers.GlobalAveragePooling1D()(x, mask=mask))
    assert_close(got, expected, "masked mean", atol=1e-5)


@public_check("0.2", "padding values do not matter")
def _masked_mean_padding(masked_mean):
    rng = fresh_rng(2)
    x = rng.normal(size=(1, 4, 1))
    x[0, 2:, 0] = rng.uniform(500, 1000, size=2)  # huge values on the padded steps
    got = np.asarray(masked_mean(x, np.array([[True, True, False, False]])))
    want = [x[0, :2, 0].mean()]
    what = f"mean of {np.round(x[0, :2, 0], 3).tolist()} with two padded steps"
    assert_close(got.reshape(-1), want, what, atol=1e-9)
