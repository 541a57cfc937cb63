"""Corpus BLEU computed from a clipped-precision function equals NLTK's corpus_bleu."""

import numpy as np
import pytest
from nltk.translate.bleu_score import SmoothingFunction, modified_precision
from nltk.translate.bleu_score import corpus_bleu as nltk_corpus_bleu

from seqcourse.metrics import clipped_precision, corpus_bleu


def _corpus(rng):
    words = list("abcdefg")
    n = int(rng.integers(1, 6))
    refs = [
        [list(rng.choice(words, rng.integers(1, 9))) for _ in range(rng.integers(1, 3))]
        for _ in range(n)
    ]
    hyps = [list(rng.choice(words, rng.integers(0, 9))) for _ in range(n)]
    to_str = lambda ws: [str(w) for w in ws]  # noqa: E731
    return [[to_str(r) for r in rs] for rs in refs], [to_str(h) for h in hyps]


def test_equals_nltk_on_random_corpora():
    rng = np.random.default_rng(0)
    smooth = SmoothingFunction().method1
    for _ in range(300):
        refs, hyps = _corpus(rng)
        assert corpus_bleu(refs, hyps) == pytest.approx(
            nltk_corpus_bleu(refs, hyps, smoothing_function=smooth), abs=1e-12
        )


def test_clipped_precision_equals_nltk_modified_precision():
    rng = np.random.default_rng(1)
    for _ in range(200):
        refs, hyps = _corpus(rng)
        for n in (1, 2, 3):
            fraction = modified_precision(refs[0], hyps[0], n)
            matches, total = clipped_precision(hyps[0], refs[0], n)
            assert (matches, max(total, 1)) == (fraction.numerator, fraction.denominator)


def test_uses_the_precision_it_is_given():
    refs, hyps = [[["a", "b"]]], [["a", "b"]]
    assert corpus_bleu(refs, hyps, max_n=2) == pytest.approx(1.0)
    assert corpus_bleu(refs, hyps, precision=lambda c, r, n: (0, 1), max_n=2) == 0.0


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="one list each"):
        corpus_bleu([[["a"]]], [["a"], ["b"]])
