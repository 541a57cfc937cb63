"""Short English movie reviews whose sentiment depends on word order (embedded, generated).

The grammar (see ``data/README.md`` for the full card):

* a **clause** says something about one aspect of a film: ``[opener] subject verb [negator]
  [intensifier] adjective`` — "the plot was not very clever". Its polarity is the adjective's
  (positive or negative), flipped by a negator ("not", "never", "hardly").
* **negation at a distance**: "i would not say that the plot was clever" — the negator comes
  several words before the adjective and still flips it.
* a **review** is one clause, or two clauses joined by a contrast, "A but B", whose label is
  the polarity of B (what comes after "but" wins), or joined by "and" with the same polarity.
* neutral filler ("to be honest", "overall", "at times") is sprinkled in and carries nothing.

Label 1 is positive, 0 negative. The **probe set** holds pairs of reviews made of exactly the
same words (as a multiset) with opposite labels — "the plot was dull but the cast was great" /
"the plot was great but the cast was dull" — which a bag of words cannot tell apart.
"""

from __future__ import annotations

import functools
from collections import Counter

import numpy as np

SUBJECTS = (
    "the movie", "the film", "this film", "the plot", "the story", "the acting", "the cast",
    "the script", "the dialogue", "the ending", "the soundtrack", "the score", "the pacing",
    "the direction", "the cinematography", "the lead actor", "the lead actress", "the villain",
    "the humour", "the visuals", "the editing", "the finale", "the first act", "the sequel",
    "the characters", "the premise", "the twist", "the set design", "the costumes", "the effects",
    "the music", "the screenplay", "the performances", "the camera work", "the supporting cast",
    "the story line", "the opening scene", "the final scene", "the lighting", "the animation",
)  # fmt: skip
POSITIVE = (
    "great", "brilliant", "wonderful", "fun", "moving", "clever", "charming", "gripping",
    "beautiful", "funny", "excellent", "delightful", "fresh", "thrilling", "touching", "superb",
    "engaging", "stunning", "smart", "witty", "powerful", "memorable", "enjoyable", "solid",
    "inventive", "heartfelt", "impressive", "elegant", "sharp", "lovely", "gorgeous", "tense",
    "hilarious", "uplifting", "vivid", "original", "stylish", "riveting", "magical", "tender",
    "rich", "bold", "polished", "sincere", "warm",
)  # fmt: skip
NEGATIVE = (
    "boring", "dull", "tedious", "awful", "clumsy", "predictable", "bland", "messy", "weak",
    "silly", "terrible", "flat", "lazy", "forgettable", "confusing", "painful", "shallow",
    "slow", "poor", "stale", "pointless", "cheap", "annoying", "lifeless", "tiresome",
    "dreadful", "hollow", "sloppy", "awkward", "dire", "clunky", "cheesy", "muddled", "grating",
    "joyless", "overlong", "derivative", "wooden", "tacky", "bloated", "unfunny", "soulless",
    "shoddy", "limp", "insipid",
)  # fmt: skip
VERBS = ("was", "is", "felt", "seemed", "looked", "turned out")
NEGATORS = ("not", "never", "hardly")
INTENSIFIERS = ("very", "really", "truly", "incredibly", "so", "quite", "rather", "extremely")
OPENERS = ("to be honest", "overall", "at times", "for the most part", "in my opinion",
           "i think", "honestly", "frankly", "at first", "in the end", "sadly", "luckily")  # fmt: skip
DISTANT = ("i would not say that", "i can not say that", "nobody would claim that",
           "i do not think that", "it is not true that")  # fmt: skip
SPLITS = {"train": 8000, "validation": 1000, "test": 2000}


def _clause(rng: np.random.Generator, polarity: int, negate: bool | None = None) -> tuple[str, int]:
    """One clause with the given *final* polarity (1 positive, 0 negative)."""
    if negate is None:
        negate = rng.random() < 0.35
    distant = negate and rng.random() < 0.3
    adjective_polarity = 1 - polarity if negate else polarity
    adjective = rng.choice(POSITIVE if adjective_polarity else NEGATIVE)
    words = []
    if rng.random() < 0.3 and not distant:
        words.append(rng.choice(OPENERS))
    if distant:
        words.append(rng.choice(DISTANT))
    words += [rng.choice(SUBJECTS), rng.choice(VERBS)]
    if negate and not distant:
        words.append(rng.choice(NEGATORS))
    if rng.random() < 0.3:
        words.append(rng.choice(INTENSIFIERS))
    words.append(adjective)
    return " ".join(words), polarity


def generate_review(rng: np.random.Generator) -> tuple[str, int]:
    """One review and its label, drawn from the grammar in the module docstring."""
    label = int(rng.integers(0, 2))
    shape = rng.random()
    if shape < 0.45:
        return _clause(rng, label)[0], label
    if shape < 0.85:  # contrast: the clause after "but" decides
        first, _ = _clause(rng, 1 - label)
        second, _ = _clause(rng, label)
        return f"{first} but {second}", label
    first, _ = _clause(rng, label)
    second, _ = _clause(rng, label)
    return f"{first} and {second}", label


def load_reviews(split: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The embedded reviews of one split: ``(texts, labels)``.

    Splits ``"train"`` (8,000), ``"validation"`` (1,000) and ``"test"`` (2,000) are drawn from
    one stream of unique reviews (no text appears in two splits); ``"probe"`` holds 500
    order-sensitive pairs (1,000 reviews, see :func:`load_probe_pairs`), flattened so that
    pair ``i`` is rows ``2i`` and ``2i + 1``.

    Returns:
        ``texts``: array of str, shape (n,); ``labels``: int32 array of 0/1, shape (n,).
    """
    if split == "probe":
        first, second, labels = load_probe_pairs(seed=seed)
        texts = np.stack([first, second], axis=1).reshape(-1)
        return texts, np.stack([labels, 1 - labels], axis=1).reshape(-1).astype("int32")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {[*SPLITS, 'probe']}")
    texts, labels = _split_pools(seed)[split]
    return np.array(texts), np.array(labels, dtype="int32")


@functools.lru_cache(maxsize=4)
def _split_pools(seed: int) -> dict[str, tuple[tuple[str, ...], tuple[int, ...]]]:
    """All three splits from one stream of unique reviews, generated once per seed."""
    rng = np.random.default_rng(seed)
    seen: set[str] = set()
    pools = {}
    for name, size in SPLITS.items():
        texts, labels = [], []
        while len(texts) < size:
            text, label = generate_review(rng)
            if text not in seen:
                seen.add(text)
                texts.append(text)
                labels.append(label)
        pools[name] = (tuple(texts), tuple(labels))
    return pools


def load_probe_pairs(
    n_pairs: int = 500, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of reviews with the same multiset of words and opposite labels.

    Each pair is "A but B" and the same sentence with the two adjectives (or the negator)
    swapped between the clauses, which flips the label.

    Returns:
        ``first``, ``second``: arrays of str, shape (n_pairs,); ``labels``: int32 labels of
        ``first`` (``second`` has the opposite label).
    """
    rng = np.random.default_rng(10_000 + seed)
    first, second, labels = [], [], []
    while len(first) < n_pairs:
        a, b = _probe_pair(rng)
        if rng.random() < 0.5:
            a, b = b, a
        if Counter(a[0].split()) == Counter(b[0].split()) and a[1] != b[1]:
            first.append(a[0])
            second.append(b[0])
            labels.append(a[1])
    return np.array(first), np.array(second), np.array(labels, dtype="int32")


def _probe_pair(rng: np.random.Generator) -> tuple[tuple[str, int], tuple[str, int]]:
    """Two contrast reviews over the same words: adjectives or the negator trade places."""
    s1, s2 = rng.choice(SUBJECTS, size=2, replace=False)
    v1, v2 = rng.choice(VERBS), rng.choice(VERBS)
    if rng.random() < 0.5:  # swap a positive and a negative adjective
        pos, neg = rng.choice(POSITIVE), rng.choice(NEGATIVE)
        a = f"{s1} {v1} {neg} but {s2} {v2} {pos}"
        b = f"{s1} {v1} {pos} but {s2} {v2} {neg}"
        return (a, 1), (b, 0)
    adjective_1 = rng.choice(POSITIVE + NEGATIVE)  # move "not" from one clause to the other
    adjective_2 = rng.choice(NEGATIVE if adjective_1 in POSITIVE else POSITIVE)
    negator = rng.choice(NEGATORS)
    polarity_2 = int(adjective_2 in POSITIVE)
    a = f"{s1} {v1} {negator} {adjective_1} but {s2} {v2} {adjective_2}"
    b = f"{s1} {v1} {adjective_1} but {s2} {v2} {negator} {adjective_2}"
    return (a, polarity_2), (b, 1 - polarity_2)
