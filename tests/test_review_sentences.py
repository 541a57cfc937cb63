"""The real review sentences shipped for notebook 03: loaded offline, checked, split by source."""

from importlib.resources import files

import numpy as np
import pytest

from seqcourse.datasets import DataError, load_review_sentences, source_splits
from seqcourse.datasets.review_sentences import FILE, SOURCES


def test_the_3000_sentences_load_offline_balanced_by_source_and_label():
    texts, labels, sources = load_review_sentences()
    assert texts.shape == labels.shape == sources.shape == (3000,)
    assert labels.dtype == np.int32 and set(np.unique(labels)) == {0, 1}
    for source in SOURCES:
        assert np.sum((sources == source) & (labels == 1)) == 500
        assert np.sum((sources == source) & (labels == 0)) == 500
    assert all(isinstance(t, str) and t.strip() for t in texts)
    assert "slow-moving, aimless movie" in texts[0]  # quoting in the CSV is undone


def test_licence_and_citation_ship_next_to_the_file():
    notice = (files("seqcourse") / "data" / "NOTICE.md").read_text(encoding="utf-8")
    section = notice.split("## review_sentences.csv")[1].split("\n## ")[0]
    assert "Kotzias" in section and "KDD 2015" in section and "UCI" in section
    assert "CC BY 4.0" in section and "creativecommons.org/licenses/by/4.0" in section
    assert "unchanged" in section  # the licence asks to say what was changed


def test_a_corrupted_copy_is_refused_with_the_fix(tmp_path):
    shipped = files("seqcourse") / "data" / FILE
    damaged = tmp_path / FILE
    damaged.write_bytes(shipped.read_bytes().replace(b",1,imdb", b",0,imdb", 1))
    with pytest.raises(DataError, match="corrupted.*reinstall"):
        load_review_sentences(damaged)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(DataError, match=r"missing\.csv are missing; reinstall"):
        load_review_sentences(tmp_path / "missing.csv")


@pytest.mark.parametrize(
    "content, problem",
    [
        ("text,label\nfine,1\n", "expected the columns text,label,source"),
        (
            "text,label,source\nfine,1,imdb\nbad label,2,imdb\n",
            "row 3: expected a text, a label 0 or 1",
        ),
        ("text,label,source\nfine,1,twitter\n", "row 2: .*a source in"),
    ],
)
def test_a_malformed_copy_names_its_row(tmp_path, content, problem):
    path = tmp_path / "mine.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=problem):
        load_review_sentences(path)


def test_splits_are_fixed_disjoint_and_hold_a_source_out():
    _, labels, sources = load_review_sentences()
    splits = source_splits(sources)
    assert list(splits) == ["mixed", "test on imdb", "test on amazon", "test on yelp"]
    for train, test in splits.values():
        assert not np.any(train & test) and np.all(train | test)
    train, test = splits["mixed"]
    assert test.sum() == 600 and set(sources[test]) == set(SOURCES)
    assert np.array_equal(test, source_splits(sources)["mixed"][1])  # the same split every run
    train, test = splits["test on yelp"]
    assert set(sources[test]) == {"yelp"} and "yelp" not in set(sources[train])
    assert train.sum() == 2000 and labels[test].mean() == 0.5
