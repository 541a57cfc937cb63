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


ROWS = [("great film", "1"), ("dull plot", "0"), ("not bad at all", "1"), ("not good", "0")] * 3


def _bytes(tmp_path, data: bytes):
    path = tmp_path / "reviews.csv"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("case", "data"),
    [
        ("Excel's CSV UTF-8 (byte-order mark)", "\ufefftext,label\n".encode() + b"".join(
            f"{t},{y}\n".encode() for t, y in ROWS)),
        ("Windows line endings", b"text,label\r\n" + b"".join(
            f"{t},{y}\r\n".encode() for t, y in ROWS)),
        ("labels written 0.0 and 1.0", b"text,label\n" + b"".join(
            f"{t},{y}.0\n".encode() for t, y in ROWS)),
        ("extra columns, in another order", b"id,label,text,stars\n" + b"".join(
            f"{k},{y},{t},5\n".encode() for k, (t, y) in enumerate(ROWS))),
    ],
)  # fmt: skip
def test_csv_loader_takes_what_spreadsheets_write(tmp_path, case, data):
    texts, labels = load_csv_reviews(_bytes(tmp_path, data), for_training=True)
    assert texts.tolist() == [t for t, _ in ROWS], case
    assert labels.tolist() == [int(y) for _, y in ROWS], case


@pytest.mark.parametrize(
    ("case", "data", "words"),
    [
        ("Windows-1252 bytes", b"text,label\ngood,1\ncaf\xe9 was bad,0\n",
         r"reviews.csv, row 3: byte 0xe9 is not UTF-8 .*CSV UTF-8.*iconv -f cp1252"),
        ("separated by semicolons", b"text;label\ngood;1\nbad;0\n",
         r"missing column\(s\) .* The delimiter looks like ';', not ','"),
        ("separated by tabs", b"text\tlabel\ngood\t1\n", "The delimiter looks like a tab"),
        ("one class", b"text,label\n" + b"good,1\n" * 12,
         r"reviews.csv: every row has label 1; .* both classes"),
        ("too few rows to split", b"text,label\ngood,1\nbad,0\n",
         r"reviews.csv: 2 row\(s\); splitting 80/10/10 .* at least 10"),
        ("a label 0.5", b"text,label\nok,0.5\n", r"row 2: label '0.5' is not binary"),
    ],
)  # fmt: skip
def test_csv_loader_refuses_with_file_row_and_fix(tmp_path, case, data, words):
    with pytest.raises(ValueError, match=words):
        load_csv_reviews(_bytes(tmp_path, data), for_training=True)


def test_scoring_a_few_reviews_needs_neither_both_classes_nor_ten_rows(tmp_path):
    texts, labels = load_csv_reviews(_bytes(tmp_path, b"text,label\ngood,1\n"))
    assert texts.tolist() == ["good"] and labels.tolist() == [1]


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
