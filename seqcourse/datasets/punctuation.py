"""Punctuation and capitalisation restoration, built from the Python documentation prose.

The input is what a speech recogniser produces — lower-case words, no punctuation — and the
target, per word, says which punctuation mark follows it and whether it was capitalised.
Built by :func:`text_to_tags` from the prose of :mod:`seqcourse.datasets.pydoc_text`; the card
is in ``data/README.md``.
"""

from __future__ import annotations

import re

from seqcourse.datasets.pydoc_text import load_pydoc_text

PUNCTUATION = ("none", "comma", "period", "question")
MARKS = {"": 0, ",": 1, ".": 2, "?": 3}
_MAP = {"!": ".", ";": ",", ":": ","}
_DROP = re.compile(r"[^A-Za-z0-9_'\-.,?\s]")


def normalise(text: str) -> str:
    """The text the tags can describe exactly: ``!`` becomes ``.``, ``;`` and ``:`` become ``,``,
    other symbols (quotes, brackets, ``*``…) are removed, marks stick to the word before them,
    runs of marks keep their last one, words are separated by single spaces."""
    for mark, replacement in _MAP.items():
        text = text.replace(mark, replacement)
    words = []
    for token in _DROP.sub(" ", text).split():
        core = token.rstrip(".,?")
        if not core.strip(".,?-'"):
            if words and token[-1] in MARKS and words[-1][-1] not in MARKS:
                words[-1] += token[-1]  # a detached mark, e.g. "word ." -> "word."
            continue
        words.append(core + (token[-1] if token[-1] in ",.?" else ""))
    return " ".join(words)


def canonical_text(text: str) -> str:
    """What the tags of ``text`` describe exactly: :func:`normalise` d text with every word
    lower-cased except a capital first letter where the word had one ("AssertionError" ->
    "Assertionerror"). Tags + words reproduce this string."""
    out = []
    for token in normalise(text).split():
        lowered = token.lower()
        out.append(lowered[:1].upper() + lowered[1:] if token[:1].isupper() else lowered)
    return " ".join(out)


def text_to_tags(text: str) -> tuple[list[str], list[int], list[int]]:
    """Split normalised text into ``(words, punctuation, capital)``.

    ``words`` are lower-case without trailing marks; ``punctuation[i]`` indexes
    :data:`PUNCTUATION` (the mark after word ``i``); ``capital[i]`` is 1 if word ``i`` started
    with an upper-case letter.
    """
    words, punctuation, capital = [], [], []
    for token in normalise(text).split():
        mark = token[-1] if token[-1] in ",.?" else ""
        core = token[: len(token) - len(mark)]
        words.append(core.lower())
        punctuation.append(MARKS[mark])
        capital.append(int(core[:1].isupper()))
    return words, punctuation, capital


def load_punctuation_data(split: str, max_words: int = 60):
    """Tagged sequences from one split of the pydoc prose (split by document, as in notebook 04).

    Each paragraph becomes one or more sequences of at most ``max_words`` words, cut after a
    period where possible.

    Returns:
        ``(words, punctuation, capital)``: lists of equal-length per-sequence lists
        (variable length, 1..max_words).
    """
    sequences = ([], [], [])
    for paragraph in load_pydoc_text(split).splitlines():
        words, punctuation, capital = text_to_tags(paragraph)
        start = 0
        while start < len(words):
            end = min(start + max_words, len(words))
            if end < len(words):
                periods = [i + 1 for i in range(start, end) if punctuation[i] == MARKS["."]]
                end = periods[-1] if periods else end
            for store, values in zip(sequences, (words, punctuation, capital), strict=True):
                store.append(values[start:end])
            start = end
    return sequences
