"""3,000 real review sentences with sentiment labels (notebook 03, section 8), shipped in the package.

``seqcourse/data/review_sentences.csv`` is the UCI "Sentiment Labelled Sentences" data set:
1,000 sentences from each of IMDb (films), Amazon (mobile phones) and Yelp (restaurants), 500
positive and 500 negative per source, columns ``text,label,source``.

Source: D. Kotzias, M. Denil, N. de Freitas, P. Smyth, "From Group to Individual Labels using
Deep Features", KDD 2015; UCI Machine Learning Repository, "Sentiment Labelled Sentences".
Licence: CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/). The three original
tab-separated files were joined into one CSV; sentences and labels are unchanged. The notice
ships next to the file (``seqcourse/data/NOTICE.md``); the card is in ``data/README.md``.
"""

from __future__ import annotations

import csv
import io
from importlib.resources import files
from pathlib import Path

import numpy as np

from seqcourse.datasets.errors import DataError
from seqcourse.datasets.spoken_digits import sha256

FILE = "review_sentences.csv"
SHA256 = "aec34719b87b1192c6d71096d56723a816acd5dc5e025ddfd676a9926f36c3ed"
SOURCES = ("imdb", "amazon", "yelp")
CITATION = (
    "Sentiment Labelled Sentences: D. Kotzias, M. Denil, N. de Freitas, P. Smyth, 'From Group "
    "to Individual Labels using Deep Features', KDD 2015; UCI Machine Learning Repository; "
    "CC BY 4.0 (the three source files joined into one CSV, sentences and labels unchanged)"
)


def load_review_sentences(
    path: str | Path | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The 3,000 labelled sentences, offline, in the file's order (source by source).

    ``path``: another copy of the CSV (default: the package's, checked against its SHA-256).
    -> (texts (3000,) str, labels (3000,) int32 with 1 = positive, sources (3000,) str from
    :data:`SOURCES`). Raises :class:`DataError` naming the file and the fix when it is missing,
    corrupted or malformed.
    """
    path = Path(path) if path is not None else Path(str(files("seqcourse") / "data" / FILE))
    fix = "reinstall the package (pip install --force-reinstall seqcourse)"
    if not path.is_file():
        raise DataError(f"the review sentences {path} are missing; {fix}")
    if path.name == FILE and sha256(path) != SHA256:
        raise DataError(f"the review sentences {path} are corrupted (SHA-256 differs); {fix}")
    reader = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")))
    if reader.fieldnames != ["text", "label", "source"]:
        raise DataError(
            f"{path}: expected the columns text,label,source, found {reader.fieldnames}"
        )
    texts, labels, sources = [], [], []
    for row_number, row in enumerate(reader, start=2):
        if row["label"] not in ("0", "1") or row["source"] not in SOURCES or not row["text"]:
            raise DataError(
                f"{path}, row {row_number}: expected a text, a label 0 or 1 and a source in "
                f"{SOURCES}, found {row!r}; {fix}"
            )
        texts.append(row["text"])
        labels.append(int(row["label"]))
        sources.append(row["source"])
    return np.array(texts), np.array(labels, dtype="int32"), np.array(sources)


def source_splits(sources: np.ndarray, seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The fixed train/test splits of notebook 03's real-text section, as boolean masks.

    sources (n,) str -> {"mixed": (train (n,) bool, test (n,) bool), "test on imdb": …,
    "test on amazon": …, "test on yelp": …}. "mixed" tests on a random fifth of every source
    (a permutation seeded by ``seed``); "test on S" trains on the two other sources and tests
    on all of S, a shift of domain (films, phones, restaurants).
    """
    n = len(sources)
    test = np.zeros(n, dtype=bool)
    test[np.random.default_rng(seed).permutation(n)[: n // 5]] = True
    splits = {"mixed": (~test, test)}
    for source in SOURCES:
        held_out = np.asarray(sources) == source
        splits[f"test on {source}"] = (~held_out, held_out)
    return splits
