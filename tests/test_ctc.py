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


def _in_word_loop(labels, words, separator) -> bool:
    """Whether ``labels`` is w1 sep w2 sep ... wn (n >= 1) with every w in ``words``."""
    pieces, current = [], []
    for label in labels:
        if label == separator:
            pieces.append(current)
            current = []
        else:
            current.append(label)
    return bool(labels) and all(p in words for p in [*pieces, current])


@pytest.mark.parametrize("seed", range(10))
def test_lexicon_decoder_finds_the_best_path_the_lexicon_allows(seed):
    """Against brute force: every frame path of 7 frames over 4 classes (16,384), kept when its
    collapse is a word-loop sentence; the decoder must return the collapse of the best one. The
    lexicon has a word with a doubled letter (needs a blank between) and a one-letter word."""
    import itertools

    from seqcourse.ctc import LexiconDecoder

    words, separator = [[1, 2], [2], [1, 1]], 3
    rng = np.random.default_rng(seed)
    log_probs = np.log(rng.dirichlet(np.full(4, 0.5), size=7))
    best, best_score = None, -np.inf
    for path in itertools.product(range(4), repeat=7):
        labels = collapse_path(path)
        score = log_probs[np.arange(7), path].sum()
        if _in_word_loop(labels, words, separator) and score > best_score:
            best, best_score = labels, score
    got = LexiconDecoder(words, separator)(log_probs)
    assert got == best


def test_lexicon_decoder_rejects_an_empty_word_and_decodes_too_few_frames_to_nothing():
    from seqcourse.ctc import LexiconDecoder

    with pytest.raises(ValueError, match="empty word"):
        LexiconDecoder([[1], []], separator=2)
    assert LexiconDecoder([[1]], separator=2)(np.zeros((0, 3))) == []
    assert LexiconDecoder([[1, 1]], separator=2)(np.zeros((2, 3))) == []  # needs 3 frames
