"""Real English prose that ships with every Python: the reference documentation topics in
``pydoc_data.topics`` (what ``help("if")`` prints), cleaned of code blocks and markup.

Used as embedded data by notebook 04 (character language model) and notebook 05 (punctuation
restoration). About 400,000 characters of prose after cleaning; the card is in data/README.md.
"""

from __future__ import annotations

import functools
import re

_RULE = re.compile(r"^\s*[*=\-^~]{3,}\s*$")
_EMPHASIS = re.compile(r"\*([^*\s][^*]*?)\*")
_FOOTNOTE = re.compile(r"\[\d+\]")
_ASCII = {"“": '"', "”": '"', "‘": "'", "’": "'", "—": " - ", "–": "-", "…": "...", "\u00a0": " "}


def clean_pydoc_text(text: str) -> str:
    """Keep the prose paragraphs of one pydoc topic, one paragraph per line.

    Rules: paragraphs are separated by blank lines; a paragraph is dropped when it is a code or
    grammar block (first line indented by 3+ spaces and not a bullet), contains a heading rule
    (``*****``, ``=====``…), is a doctest (``>>>``), or is less than 80% letters, digits, spaces and
    common punctuation. In kept paragraphs bullets (``* ``) and emphasis stars are removed,
    footnote marks ``[1]`` dropped, typographic quotes and dashes turned into ASCII, other
    non-ASCII characters removed, and lines joined with single spaces.
    """
    kept = []
    for paragraph in re.split(r"\n\s*\n", text):
        lines = paragraph.splitlines()
        if not lines or not paragraph.strip():
            continue
        first = lines[0]
        indent = len(first) - len(first.lstrip())
        is_bullet = first.lstrip().startswith("* ")
        if (indent >= 3 and not is_bullet) or any(_RULE.match(line) for line in lines):
            continue
        if first.lstrip().startswith(">>>"):
            continue
        joined = " ".join(line.strip() for line in lines)
        if is_bullet:
            joined = joined.lstrip("* ").strip()
        for fancy, plain in _ASCII.items():
            joined = joined.replace(fancy, plain)
        joined = _FOOTNOTE.sub("", _EMPHASIS.sub(r"\1", joined))
        joined = joined.encode("ascii", "ignore").decode()
        joined = re.sub(r"\s+", " ", joined).strip()
        prose = sum(c.isalnum() or c in " .,;:'\"()-?!" for c in joined)
        if joined and prose / len(joined) >= 0.8:
            kept.append(joined)
    return "\n".join(kept)


def load_pydoc_corpus() -> dict[str, str]:
    """Every pydoc topic, cleaned: ``{topic name: text}``.

    Several topics repeat paragraphs of others (``augassign`` is part of ``assignment``); a
    paragraph is kept only where it first appears (topics in sorted order), so no text occurs
    twice in the corpus and a split by topic cannot leak. Topics left empty are dropped.
    """
    return dict(_cleaned_corpus())


@functools.lru_cache(maxsize=1)
def _cleaned_corpus() -> tuple[tuple[str, str], ...]:
    """``(topic, text)`` pairs of :func:`load_pydoc_corpus`, cleaned once per process."""
    from pydoc_data.topics import topics

    seen: set[str] = set()
    corpus = []
    for name in sorted(topics):
        fresh = []
        for paragraph in clean_pydoc_text(topics[name]).splitlines():
            if paragraph not in seen:
                seen.add(paragraph)
                fresh.append(paragraph)
        if fresh:
            corpus.append((name, "\n".join(fresh)))
    return tuple(corpus)


def load_pydoc_text(split: str, validation_share: float = 0.1) -> str:
    """The cleaned prose of one split, documents joined by newlines.

    Documents (topics, in sorted order) are split whole, so no paragraph is in both splits: a
    document goes to ``"validation"`` whenever validation holds less than ``validation_share``
    of the characters seen so far, otherwise to ``"train"``.
    """
    if split not in ("train", "validation"):
        raise ValueError(f"unknown split {split!r}; choose 'train' or 'validation'")
    chosen, seen, in_validation = [], 0, 0
    for text in load_pydoc_corpus().values():
        to_validation = in_validation < validation_share * seen
        seen += len(text)
        in_validation += len(text) if to_validation else 0
        if to_validation == (split == "validation"):
            chosen.append(text)
    return "\n".join(chosen)
