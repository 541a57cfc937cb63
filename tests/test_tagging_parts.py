"""Pieces of notebook 05: the punctuation data builder, masked metrics, entity F1, CoNLL via TFDS."""

import numpy as np
import pytest

from seqcourse.datasets.punctuation import (
    PUNCTUATION,
    canonical_text,
    load_punctuation_data,
    normalise,
    text_to_tags,
)
from seqcourse.datasets.pydoc_text import load_pydoc_text
from seqcourse.metrics import bio_spans, confusion_matrix, entity_f1, per_class_prf


def _restore(words, punctuation, capital):
    """Independent inverse of text_to_tags, for the round-trip test."""
    marks = ["", ",", ".", "?"]
    return " ".join(
        (w[:1].upper() + w[1:] if c else w) + marks[p]
        for w, p, c in zip(words, punctuation, capital, strict=True)
    )


def test_normalise_maps_marks_and_drops_symbols():
    assert normalise('Hello, "world"! (See: x.y()) ok?') == "Hello, world. See, x.y ok?"
    assert normalise("a ; b") == "a, b"


def test_text_to_tags_example():
    words, punctuation, capital = text_to_tags("If not, TypeError is raised.")
    assert words == ["if", "not", "typeerror", "is", "raised"]
    assert [PUNCTUATION[p] for p in punctuation] == ["none", "comma", "none", "none", "period"]
    assert capital == [1, 0, 1, 0, 0]


def test_round_trip_reconstructs_every_cleaned_paragraph():
    for paragraph in load_pydoc_text("validation").splitlines():
        assert _restore(*text_to_tags(paragraph)) == canonical_text(paragraph)


def test_sequences_are_aligned_and_bounded():
    words, punctuation, capital = load_punctuation_data("validation", max_words=30)
    assert len(words) == len(punctuation) == len(capital) > 50
    for w, p, c in zip(words, punctuation, capital, strict=True):
        assert 1 <= len(w) == len(p) == len(c) <= 30
        assert all(x == x.lower() and x for x in w)
    counts = np.bincount([x for seq in punctuation for x in seq], minlength=4)
    assert counts[0] > counts[1] > 0 and counts[2] > 0


def test_masked_metrics_ignore_padding():
    y_true = np.array([[0, 1, 1, 2], [2, 2, 0, 0]])
    y_pred = np.array([[0, 1, 2, 2], [2, 1, 1, 1]])
    mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0]], bool)
    matrix = confusion_matrix(y_true, y_pred, 3, mask)
    assert matrix.sum() == 6 and matrix.tolist() == [[1, 0, 0], [0, 1, 1], [0, 1, 2]]
    prf = per_class_prf(y_true, y_pred, 3, mask)
    np.testing.assert_allclose(prf["precision"], [1, 0.5, 2 / 3])
    np.testing.assert_allclose(prf["recall"], [1, 0.5, 2 / 3])
    np.testing.assert_array_equal(prf["support"], [1, 2, 3])
    assert confusion_matrix(y_true, y_pred, 3).sum() == 8  # no mask: padding counted


def test_metrics_reject_mismatched_shapes():
    with pytest.raises(ValueError, match="shape"):
        per_class_prf(np.zeros((2, 3), int), np.zeros((2, 4), int), 2)
    with pytest.raises(ValueError, match="mask has shape"):
        confusion_matrix(np.zeros((2, 3), int), np.zeros((2, 3), int), 2, mask=np.ones((3, 2)))


def test_bio_spans_and_entity_f1():
    assert bio_spans(["B-PER", "I-PER", "O", "B-LOC"]) == {("PER", 0, 2), ("LOC", 3, 4)}
    assert bio_spans(["I-ORG", "I-ORG", "B-ORG"]) == {("ORG", 0, 2), ("ORG", 2, 3)}
    assert bio_spans(["B-PER", "I-LOC"]) == {("PER", 0, 1), ("LOC", 1, 2)}
    true = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    pred = [["B-PER", "O", "O", "B-LOC"], ["B-ORG", "O"]]  # PER boundary wrong
    scores = entity_f1(true, pred)
    assert scores["precision"] == pytest.approx(2 / 3) and scores["recall"] == pytest.approx(2 / 3)
    assert entity_f1(true, true)["f1"] == 1.0
    with pytest.raises(ValueError, match="sentence 1"):
        entity_f1(true, [pred[0], ["O"]])


def test_conll2003_loader_under_tfds_mock_data(tmp_path):
    import tensorflow as tf
    import tensorflow_datasets as tfds

    from seqcourse.datasets import load_conll2003

    with tfds.testing.mock_data(num_examples=3):
        ds, names = load_conll2003("train", data_dir=tmp_path)
        tokens, tags = next(iter(ds))
    assert names[:3] == ["O", "B-PER", "I-PER"]
    assert (
        tokens.dtype == tf.string
        and tags.dtype == tf.int64
        and tokens.shape.rank == tags.shape.rank == 1
    )


def test_sequence_ends_are_cut_independently_of_punctuation():
    """Lengths vary (batches need padding), and a sequence's last word carries a period about
    as often as any other word (the old cut after a period made it 55% of periods)."""
    words, punctuation, _ = load_punctuation_data("validation")
    lengths = [len(w) for w in words]
    assert all(10 <= n <= 60 for n in lengths[:-1]) and 1 <= lengths[-1] <= 60
    assert len(set(lengths)) > 20
    final_periods = sum(p[-1] == 2 for p in punctuation)
    all_periods = sum(x == 2 for p in punctuation for x in p)
    assert final_periods / all_periods < 0.15
    assert load_punctuation_data("validation") == (words, punctuation, _)  # fixed seed
    with pytest.raises(ValueError, match="min_words"):
        load_punctuation_data("validation", min_words=0)
