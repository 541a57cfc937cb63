"""Datasets of notebook 03: generated reviews, the probe pairs, a reader's CSV and IMDB (mocked)."""

from collections import Counter

import numpy as np
import pytest

from seqcourse.datasets import load_csv_reviews, load_probe_pairs, load_reviews
from seqcourse.datasets.reviews import DISTANT, NEGATORS, POSITIVE


def _clause_polarity(clause: str) -> int:
    """An independent reading of the grammar: the last word is the adjective; a negator or a
    distant negation flips it."""
    words = clause.split()
    polarity = int(words[-1] in POSITIVE)
    negated = any(w in NEGATORS for w in words) or any(
        clause.startswith(d) or f" {d} " in f" {clause} " for d in DISTANT
    )
    return 1 - polarity if negated else polarity


def _label(review: str) -> int:
    if " but " in review:
        return _clause_polarity(review.split(" but ")[1])
    return _clause_polarity(review.split(" and ")[-1])


def test_reviews_are_deterministic_and_sized():
    texts, labels = load_reviews("validation")
    again, _ = load_reviews("validation")
    assert texts.shape == labels.shape == (1000,) and labels.dtype == np.int32
    np.testing.assert_array_equal(texts, again)
    assert 0.4 < labels.mean() < 0.6
    assert not np.array_equal(texts, load_reviews("validation", seed=1)[0])


def test_review_labels_follow_the_grammar():
    texts, labels = load_reviews("test")
    assert [_label(t) for t in texts] == labels.tolist()
    assert any(" but " in t for t in texts) and any(" and " in t for t in texts)
    assert any(
        t.split()[0] in {"i", "nobody", "it"} and " that " in t for t in texts
    )  # distant negation


def test_splits_do_not_share_a_review():
    train, validation, test = (set(load_reviews(s)[0]) for s in ("train", "validation", "test"))
    assert len(train) == 8000 and not (train & validation or train & test or validation & test)


def test_probe_pairs_share_their_words_and_have_opposite_labels():
    first, second, labels = load_probe_pairs(200)
    for a, b in zip(first, second, strict=True):
        assert Counter(a.split()) == Counter(b.split()) and a != b
    assert [_label(a) for a in first] == labels.tolist()
    assert [_label(b) for b in second] == (1 - labels).tolist()
    assert 0.4 < labels.mean() < 0.6
    texts, flat = load_reviews("probe")
    assert (
        texts.shape == (1000,) and texts[0] == load_probe_pairs()[0][0] and flat[0] + flat[1] == 1
    )


def test_unknown_split_is_named():
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        load_reviews("dev")


# ---------------------------------------------------------------- a reader's CSV


def _csv(tmp_path, text):
    path = tmp_path / "reviews.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_loader_reads_texts_and_label_spellings(tmp_path):
    texts, labels = load_csv_reviews(
        _csv(tmp_path, 'text,label\n"good, really",pos\nbad,0\nfine,True\n')
    )
    assert texts.tolist() == ["good, really", "bad", "fine"] and labels.tolist() == [1, 0, 1]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("review,label\nok,1\n", r"missing column\(s\) \['text'\]"),
        ("text,label\nok,1\n  ,0\n", "row 3: the text is empty"),
        ("text,label\nok,1\nmeh,3\n", "row 3: label '3' is not binary"),
        ("text,label\n", "no rows"),
    ],
)
def test_csv_loader_errors_name_the_problem(tmp_path, content, words):
    with pytest.raises(ValueError, match=words):
        load_csv_reviews(_csv(tmp_path, content))


def test_csv_loader_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_csv_reviews(tmp_path / "nope.csv")


# ---------------------------------------------------------------- IMDB via TFDS, offline


def test_imdb_loader_under_tfds_mock_data(tmp_path):
    import tensorflow as tf
    import tensorflow_datasets as tfds

    from seqcourse.datasets import load_imdb_reviews

    with tfds.testing.mock_data(num_examples=5):
        ds = load_imdb_reviews("train", data_dir=tmp_path)
        assert ds.element_spec == (tf.TensorSpec((), tf.string), tf.TensorSpec((), tf.int64))
        examples = list(ds.take(5))
    assert len(examples) == 5 and all(int(label) in (0, 1) for _, label in examples)
