"""Public checks of notebook 04 (character language model). Oracles: keras.ops.softmax and
Keras' sparse categorical cross-entropy."""

from __future__ import annotations

import numpy as np

from seqcourse.grading.public_checks import (
    CheckFailed,
    assert_close,
    judge_in_kernel,
    public_check,
)

LOGITS = np.array([2.0, 1.0, 0.0, -1.0, 0.5])

judge_in_kernel("4.1")  # thousands of draws from one generator: judged in the kernel


def _softmax(logits, temperature=1.0):
    import keras

    return np.asarray(keras.ops.softmax(np.asarray(logits, "float64") / temperature))


def _frequencies(sample, temperature: float, draws: int = 4000) -> np.ndarray:
    rng = np.random.default_rng(0)
    counts = np.zeros(len(LOGITS))
    for _ in range(draws):
        index = sample(LOGITS.copy(), temperature, rng)
        if not isinstance(index, (int, np.integer)) or not 0 <= index < len(LOGITS):
            raise CheckFailed(f"expected an int index in [0, {len(LOGITS)}), got {index!r}")
        counts[index] += 1
    return counts / draws


# ---------------------------------------------------------------- 4.1 sample_with_temperature


@public_check("4.1", "temperature 1 samples from softmax(logits) (4,000 draws, ±0.03)")
def _sample_t1(sample_with_temperature):
    assert_close(
        _frequencies(sample_with_temperature, 1.0),
        _softmax(LOGITS),
        "sampling frequencies",
        atol=0.03,
    )


@public_check("4.1", "temperature 0.5 samples from softmax(logits / 0.5)")
def _sample_t05(sample_with_temperature):
    assert_close(
        _frequencies(sample_with_temperature, 0.5),
        _softmax(LOGITS, 0.5),
        "sampling frequencies",
        atol=0.03,
    )


@public_check("4.1", "a tiny temperature picks the argmax, even for huge logits")
def _sample_cold(sample_with_temperature):
    rng = np.random.default_rng(1)
    close_calls = (
        1000.0 + LOGITS * 0.01
    )  # huge values, gaps of 0.01: only the temperature separates them
    for _ in range(20):
        index = sample_with_temperature(close_calls, 1e-3, rng)
        if index != 0:
            raise CheckFailed(f"with temperature 1e-3 the argmax (0) should win, got {index!r}")


# ---------------------------------------------------------------- 4.2 bits_per_character


def _compare_with_keras(bits_per_character, seed: int, shape: tuple, scale: float, atol: float):
    """Random logits of ``shape`` (batch, time, vocab) times ``scale``: the student's bits per
    character against Keras' sparse cross-entropy / ln 2."""
    import keras

    rng = np.random.default_rng(seed)
    logits, targets = rng.normal(size=shape) * scale, rng.integers(0, shape[-1], size=shape[:2])
    ce = keras.losses.sparse_categorical_crossentropy(targets, logits, from_logits=True)
    expected = float(np.mean(np.asarray(ce))) / np.log(2)
    assert_close(bits_per_character(logits, targets), expected, "bits per character", atol=atol)


@public_check("4.2", "matches Keras' cross-entropy divided by ln 2")
def _bpc_value(bits_per_character):
    _compare_with_keras(bits_per_character, seed=2, shape=(3, 7, 11), scale=2.0, atol=1e-6)


@public_check("4.2", "is numerically stable for large logits")
def _bpc_stable(bits_per_character):
    _compare_with_keras(bits_per_character, seed=3, shape=(2, 5, 4), scale=1000.0, atol=1e-4)
