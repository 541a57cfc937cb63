"""The checks of notebook 05's exercises name the classic mistakes (5.1: the masked loss and
accuracy; 5.2: the tagger builder), and its hidden-test judges pass the reference answers."""

import keras
import numpy as np
import pytest

from seqcourse.grading import run_public_checks
from seqcourse.grading.checks.nb05 import assert_masked_loss, assert_tagger
from seqcourse.grading.public_checks import CheckFailed
from seqcourse.metrics import masked_loss_and_accuracy
from seqcourse.models import build_tagger

ops = keras.ops


def _per_word(y_true, logits):
    return ops.sparse_categorical_crossentropy(y_true, logits, from_logits=True)


def _right(y_true, logits):
    return ops.cast(ops.equal(ops.argmax(logits, axis=-1), ops.cast(y_true, "int32")), "float32")


def batch_times_time(y_true, logits, mask):
    weights = ops.cast(mask, "float32")
    return ops.mean(_per_word(y_true, logits) * weights), ops.mean(_right(y_true, logits) * weights)


def summed(y_true, logits, mask):
    weights = ops.cast(mask, "float32")
    loss = ops.sum(_per_word(y_true, logits) * weights)
    return loss, ops.sum(_right(y_true, logits) * weights) / ops.sum(weights)


def per_sentence(y_true, logits, mask):
    weights = ops.cast(mask, "float32")
    per_row = ops.sum(_per_word(y_true, logits) * weights, axis=1) / ops.sum(weights, axis=1)
    return ops.mean(per_row), ops.sum(_right(y_true, logits) * weights) / ops.sum(weights)


def in_numpy(y_true, logits, mask):
    y_true, logits, mask = np.asarray(y_true), np.asarray(logits, "float64"), np.asarray(mask)
    z = logits - logits.max(-1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(-1, keepdims=True))
    picked = np.take_along_axis(log_p, y_true[..., None].astype(int), -1)[..., 0]
    return -picked[mask].mean(), (logits.argmax(-1) == y_true)[mask].mean()


@pytest.mark.parametrize(
    ("answer", "failed", "words"),
    [
        (batch_times_time, [1, 2, 3], "divides by batch x time"),
        (summed, [1, 3], "returns the sum over the real tokens"),
        (per_sentence, [1, 3], "averages each sentence"),
        (in_numpy, [3], "compute it with keras.ops"),
    ],
)
def test_masked_loss_mistakes_are_named(answer, failed, words):
    results = run_public_checks("5.1", answer)
    assert [i for i, r in enumerate(results) if not r.passed] == failed
    assert words in results[failed[0]].message


def test_masked_loss_must_return_a_pair_of_scalars():
    results = run_public_checks("5.1", lambda y, z, m: in_numpy(y, z, m)[0])
    assert results[0].gate and not results[0].passed and "a pair" in results[0].message
    vectors = run_public_checks("5.1", lambda y, z, m: (_per_word(y, z), _right(y, z)))
    assert "one number (a scalar)" in vectors[0].message


def test_keras_loss_classes_are_banned():
    def keras_loss(y_true, logits, mask):
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        return loss(y_true, logits, sample_weight=mask), 0.0

    results = run_public_checks("5.1", keras_loss)
    assert len(results) == 1 and "SparseCategoricalCrossentropy" in results[0].message


def test_hidden_judges_pass_the_references_and_fail_mistakes():
    assert_masked_loss(masked_loss_and_accuracy, seed=7)
    with pytest.raises(CheckFailed, match="brute force"):
        assert_masked_loss(batch_times_time, seed=7)
    assert_tagger(build_tagger, vocab_size=30, n_tags=3, embedding_dim=4, units=3, seed=7)


def _tagger(mask_zero=True, return_sequences=True, activation=None):
    def build(vocab_size, n_tags, embedding_dim=64, units=64, bidirectional=True):
        lstm = keras.layers.LSTM(units, return_sequences=return_sequences)
        return keras.Sequential(
            [
                keras.Input((None,), dtype="int64"),
                keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=mask_zero),
                keras.layers.Bidirectional(lstm) if bidirectional else lstm,
                keras.layers.Dense(n_tags, activation=activation),
            ]
        )

    return build


@pytest.mark.parametrize(
    ("build", "words"),
    [
        (_tagger(mask_zero=False), "Embedding needs mask_zero=True"),
        (_tagger(return_sequences=False), "return_sequences=True"),
        (_tagger(activation="softmax"), "no activation"),
    ],
)
def test_tagger_mistakes_are_named(build, words):
    results = run_public_checks("5.2", build)
    assert results[0].passed and not results[1].passed and not results[2].passed
    assert words in results[1].message


def test_tagger_of_other_sizes_fails_the_gate():
    def wider(vocab_size, n_tags, embedding_dim=64, units=64, bidirectional=True):
        return _tagger()(vocab_size, n_tags, embedding_dim, units + 1, bidirectional)

    results = run_public_checks("5.2", wider)
    assert results[0].gate and not any(r.passed for r in results)
    assert "LSTM(4, return_sequences=True)" in results[0].message


def test_calling_the_course_reference_scores_zero():
    results = run_public_checks(
        "5.2", lambda v, n, e=64, u=64, bidirectional=True: build_tagger(v, n)
    )
    assert len(results) == 1 and "uses build_tagger" in results[0].message
