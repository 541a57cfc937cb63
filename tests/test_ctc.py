"""Notebook 08's CTC references: the collapse rule and Keras' CTC loss for one utterance,
against brute-force enumeration of every frame path."""

import numpy as np
import pytest

from seqcourse.ctc import collapse_path, keras_ctc_log_likelihood
from seqcourse.grading.checks.nb08 import all_paths_log_likelihood, assert_collapse


def test_collapse_path_merges_repeats_before_dropping_blanks():
    assert collapse_path([2, 2, 0, 2, 1, 1, 0]) == [2, 2, 1]
    assert_collapse(collapse_path, seed=1)


@pytest.mark.parametrize("labels", [[1], [1, 1], [2, 1, 2]])
def test_keras_ctc_equals_the_sum_over_all_paths(labels):
    rng = np.random.default_rng(len(labels))
    logits = rng.normal(size=(6, 3))
    log_probs = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
    got = keras_ctc_log_likelihood(log_probs, labels)
    assert got == pytest.approx(all_paths_log_likelihood(log_probs, labels), abs=1e-5)


def test_packed_targets_give_each_utterance_its_own_ctc_loss():
    """seqcourse.speech packs [output frames, *char ids, 0...] per utterance; its ctc_loss must
    equal the loss of each utterance cut to its real frames, whatever the padding."""
    from seqcourse.speech import ctc_loss

    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 7, 4)).astype("float32")
    targets = np.array([[7, 1, 2, 2], [4, 3, 0, 0]], "int32")  # frames, then labels (0: none)
    losses = np.asarray(ctc_loss(targets, logits))
    for row, loss, utterance in zip(targets, losses, logits, strict=True):
        log_probs = utterance - np.logaddexp.reduce(utterance, axis=1, keepdims=True)
        expected = -keras_ctc_log_likelihood(log_probs[: row[0]], [c for c in row[1:] if c])
        assert loss == pytest.approx(expected, abs=1e-4)
