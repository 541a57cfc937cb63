"""Punctuation and capitalisation restoration, built from the Python documentation prose.

The input is what a speech recogniser produces — lower-case words, no punctuation — and the
target, per word, says which punctuation mark follows it and whether it was capitalised.
Built by :func:`text_to_tags` from the prose of :mod:`seqcourse.datasets.pydoc_text`; the card
is in ``data/README.md``.
"""

from __future__ import annotations

import re

import numpy as np

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


def load_punctuation_data(split: str, max_words: int = 60, min_words: int = 10, seed: int = 0):
    """Tagged sequences from one split of the pydoc prose (split by document, as in notebook 04).

    The split's paragraphs are read as one stream of words and cut into consecutive sequences
    whose lengths are drawn uniformly from ``min_words..max_words`` (a fixed ``seed``), wherever
    that falls — never at a punctuation mark on purpose. Where a sequence ends therefore says
    nothing about the tags: a model that sees the end of its input (a bidirectional one) gets
    no "a period comes last" cue that a left-to-right model lacks. (Cutting after a period, as
    this loader once did, made 55% of validation periods the last word of their sequence.)
    The lengths still vary, so batches need padding.

    Returns:
        ``(words, punctuation, capital)``: lists of equal-length per-sequence lists, each
        ``min_words..max_words`` long except the split's last (1..max_words).

    Raises:
        ValueError: if the lengths are not ints with ``1 <= min_words <= max_words``.
    """
    if not all(isinstance(n, int) for n in (min_words, max_words)) or not (
        1 <= min_words <= max_words
    ):
        raise ValueError(
            f"need ints 1 <= min_words <= max_words, got min_words={min_words!r}, "
            f"max_words={max_words!r}"
        )
    stream = ([], [], [])
    for paragraph in load_pydoc_text(split).splitlines():
        for store, values in zip(stream, text_to_tags(paragraph), strict=True):
            store.extend(values)
    rng = np.random.default_rng(seed)
    cuts = [0]
    while cuts[-1] < len(stream[0]):
        cuts.append(min(cuts[-1] + int(rng.integers(min_words, max_words + 1)), len(stream[0])))
    spans = list(zip(cuts[:-1], cuts[1:], strict=True))
    return tuple([values[a:b] for a, b in spans] for values in stream)
