"""Notebook 11's checks diagnose the classic mistakes of attention and positional encodings,
and the hidden-test judges reject what the public checks reject."""

import numpy as np
import pytest
from keras import ops

from seqcourse.grading import run_public_checks
from seqcourse.grading.checks.nb11 import assert_attention, assert_positions
from seqcourse.grading.public_checks import CheckFailed


def attention(scale="sqrt", axis=-1, shift=0, causal_mask=True):
    """Scaled dot-product attention in keras.ops, with one knob per classic mistake."""

    def scaled_dot_product_attention(q, k, v, causal=False):
        d_k = q.shape[-1]
        divisor = {"sqrt": np.sqrt(d_k), "none": 1.0, "d_k": float(d_k)}[scale]
        scores = ops.matmul(q, ops.swapaxes(k, -1, -2)) / divisor
        if causal and causal_mask:
            t_q, t_k = ops.shape(q)[1], ops.shape(k)[1]
            allowed = ops.arange(t_q)[:, None] + shift >= ops.arange(t_k)[None, :]
            scores = ops.where(allowed, scores, -1e9)
        weights = ops.softmax(scores, axis=axis)
        return ops.matmul(weights, v), weights

    return scaled_dot_product_attention


def positions(concatenate=False, exponent=2, swap=False):
    def sinusoidal_positions(length, depth):
        i = np.arange(depth // 2)
        angles = np.arange(length)[:, None] / 10000 ** (exponent * i / depth)
        first, second = (
            (np.cos(angles), np.sin(angles)) if swap else (np.sin(angles), np.cos(angles))
        )
        if concatenate:
            return np.concatenate([first, second], axis=1)
        return np.stack([first, second], axis=-1).reshape(length, depth)

    return sinusoidal_positions


def messages(exercise, answer):
    return " ".join(r.message for r in run_public_checks(exercise, answer) if not r.passed)


def test_correct_answers_pass_public_checks_and_hidden_judges():
    assert messages("11.1", attention()) == ""
    assert messages("11.2", positions()) == ""
    assert_attention(attention(), seed=3)
    assert_positions(positions(), seed=3)


def test_the_package_references_pass():
    from seqcourse.layers.transformer import scaled_dot_product_attention, sinusoidal_positions

    assert_attention(scaled_dot_product_attention, seed=5)
    assert_positions(sinusoidal_positions, seed=5)


@pytest.mark.parametrize(
    ("answer", "named"),
    [
        (attention(scale="none"), "not divided by sqrt(d_k)"),
        (attention(scale="d_k"), "divided by d_k, not by sqrt(d_k)"),
        (attention(axis=-2), "softmax runs over the queries"),
        (attention(shift=1), "off by one"),
        (attention(shift=-1), "hides the diagonal"),
        (attention(causal_mask=False), "causal mask is missing"),
    ],
)
def test_attention_mistakes_are_named(answer, named):
    assert named in messages("11.1", answer)
    with pytest.raises(CheckFailed):
        assert_attention(answer, seed=3)


@pytest.mark.parametrize(
    ("answer", "named"),
    [
        (positions(concatenate=True), "concatenated"),
        (positions(swap=True), "swapped"),
        (positions(exponent=1), "exponent is i / depth"),
    ],
)
def test_position_mistakes_are_named(answer, named):
    assert named in messages("11.2", answer)
    with pytest.raises(CheckFailed, match=named.split()[0]):
        assert_positions(answer, seed=3)


def test_constant_positions_are_not_distinct():
    assert "get the same vector" in messages(
        "11.2", lambda length, depth: np.zeros((length, depth))
    )


@pytest.mark.parametrize("api", ["MultiHeadAttention", "dot_product_attention"])
def test_keras_attention_is_banned(api):
    namespace = {}
    exec(  # noqa: S102 - a student's answer, as source the ban can read
        "import keras\n"
        "def scaled_dot_product_attention(q, k, v, causal=False):\n"
        f"    return keras.ops.{api}(q, k, v), None\n",
        namespace,
    )
    results = run_public_checks("11.1", namespace["scaled_dot_product_attention"])
    assert not results[0].passed


def test_a_numpy_only_attention_fails_the_traced_check_and_says_why():
    """Right numbers in NumPy, but the Transformer calls 11.1 on symbolic tensors."""

    def numpy_only(q, k, v, causal=False):
        scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
        if causal:
            scores = np.where(np.tril(np.ones(scores.shape[-2:], bool)), scores, -np.inf)
        weights = np.exp(scores - scores.max(-1, keepdims=True))
        weights /= weights.sum(-1, keepdims=True)
        return weights @ v, weights

    results = run_public_checks("11.1", numpy_only)
    assert [r.passed for r in results] == [True] * 5 + [False]
    assert "inside tf.function" in results[5].message and "keras.ops" in results[5].message
