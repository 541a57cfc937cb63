"""Public checks of notebook 04 (character language model). Oracles: keras.ops.softmax and
Keras' sparse categorical cross-entropy."""

from __future__ import annotations

import numpy as np

from seqcourse.grading.public_checks import (
    CheckFailed,
    assert_close,
    fresh_rng,
    probe_with,
    public_check,
)

VOCAB = 6  # logits per draw
DRAWS = 10_000  # per temperature: a frequency's standard error is at most 0.005


def _softmax(logits, temperature=1.0):
    import keras

    return np.asarray(keras.ops.softmax(np.asarray(logits, "float64") / temperature))


# ---------------------------------------------------------------- 4.1 sample_with_temperature
#
# Probe (in the student's kernel): thousands of calls of the sampler with one generator seeded
# from the run's fresh seed, on logits drawn from it too; the draws come back as int arrays.
# Judge (here): indices in range (a gate), frequencies against its own softmax.


def sampler_probe(sample, requests, rng):
    """Kernel side of 4.1 (see :func:`~seqcourse.grading.public_checks.probe_with`): for each
    ``(logits, temperature, n)`` of ``requests``, ``n`` draws of ``sample(logits, temperature,
    rng)`` from the one generator ``rng``, as ``{"draws": [int arrays]}``; at the first value
    that is not an index, ``{"bad": its repr, "request": k}``."""
    draws = []
    for k, (logits, temperature, n) in enumerate(requests):
        got = np.empty(int(n), "int64")
        for i in range(int(n)):
            index = sample(np.array(logits, dtype="float64"), temperature, rng)
            if not isinstance(index, (int, np.integer)) or not 0 <= index < len(logits):
                return {"bad": repr(index)[:100], "request": k}
            got[i] = index
        draws.append(got)
    return {"draws": draws}


def draws(sample, logits, temperature: float, n: int, rng) -> np.ndarray:
    """``n`` draws of the student's ``sample(logits, temperature, rng)`` from ``rng``, checked
    to be indices into ``logits`` (CheckFailed if not)."""
    logits = np.asarray(logits, dtype="float64")
    reply = probe_with(sample, sampler_probe, [(logits, float(temperature), int(n))], rng)
    if type(reply) is dict and type(reply.get("bad")) is str:
        raise CheckFailed(f"expected an int index in [0, {len(logits)}), got {reply['bad']}")
    got = reply.get("draws") if type(reply) is dict else None
    if (
        type(got) is not list
        or len(got) != 1
        or type(got[0]) is not np.ndarray
        or got[0].dtype.kind not in "iu"
        or got[0].shape != (n,)
        or not np.all((got[0] >= 0) & (got[0] < len(logits)))
    ):
        raise CheckFailed(
            f"the sampler could not be probed: expected {n} int indices in [0, {len(logits)}) "
            "back from its probe, got something else"
        )
    return got[0]


def _logits(seed: int):
    """Fresh logits and the generator that drew them (which then seeds the sampler): spread
    over about 3, in a random order, with a random offset. The most likely index then has p
    of 0.4-0.55 at temperature 1 and 0.5-0.85 at 0.5: always picking it, or ignoring the
    temperature, is off by 0.14 or more."""
    rng = fresh_rng(seed)
    spread = np.linspace(0.0, 3.0, VOCAB) + rng.uniform(-0.2, 0.2, size=VOCAB)
    return rng.permutation(spread) + rng.normal() * 5, rng


def _frequencies_match(sample, temperature: float, seed: int) -> None:
    logits, rng = _logits(seed)
    got = draws(sample, logits, temperature, DRAWS, rng)
    assert_close(
        np.bincount(got, minlength=VOCAB) / DRAWS,
        _softmax(logits, temperature),
        "sampling frequencies",
        atol=0.03,
    )


@public_check("4.1", "returns an int index in [0, len(logits))", gate=True)
def _sample_type(sample_with_temperature):
    logits, rng = _logits(1)
    draws(sample_with_temperature, logits, 1.0, 100, rng)


@public_check("4.1", "temperature 1 samples from softmax(logits) (10,000 draws, ±0.03)")
def _sample_t1(sample_with_temperature):
    _frequencies_match(sample_with_temperature, 1.0, seed=2)


@public_check("4.1", "temperature 0.5 samples from softmax(logits / 0.5)")
def _sample_t05(sample_with_temperature):
    _frequencies_match(sample_with_temperature, 0.5, seed=3)


@public_check("4.1", "a tiny temperature picks the argmax, even for huge logits")
def _sample_cold(sample_with_temperature):
    logits, rng = _logits(4)
    best = int(rng.integers(VOCAB))
    logits[best] = logits.max() + 2.0
    # huge values, gaps of 0.02 or more: only the temperature separates them (by 20 or more)
    got = draws(sample_with_temperature, 1000.0 + logits * 0.01, 1e-3, 20, rng)
    if np.any(got != best):
        raise CheckFailed(
            f"with temperature 1e-3 the argmax ({best}) should win, got {int(got[got != best][0])}"
        )


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
