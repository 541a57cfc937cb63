"""Grapheme-to-phoneme pairs from the CMU Pronouncing Dictionary, shipped in the package.

``seqcourse/data/cmudict.dict.gz`` is the dictionary file ``cmudict.dict`` (135,166 lines;
Copyright (C) 1993-2015 Carnegie Mellon University, BSD-2-Clause licence: ``LICENSES/
CMUdict-BSD-2-Clause.txt``) as the ``cmudict`` 1.1.3 package distributes it, gzip-compressed and
otherwise unchanged. It is vendored rather than depended on because that package's code is
GPL-3.0 (the data file is BSD) and Colab does not preinstall it.

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
import gzip
import hashlib
import re
from importlib.resources import files
from pathlib import Path

import numpy as np

from seqcourse.datasets.errors import DataError

DICTIONARY_FILE = "cmudict.dict.gz"
DICTIONARY_SHA256 = "81917843c7f44ce2b094ac63873c2c7a4cf802040792c455ba3ca406891c3d22"  # unzipped

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


def read_dictionary(path: str | Path | None = None) -> list[tuple[str, list[str]]]:
    """The entries of a ``cmudict.dict`` file (gzip-compressed), in file order.

    ``path``: another copy (default: the package's, checked against its SHA-256). -> [(word,
    phonemes with stress digits)], one per line: "tomato(2)" gives the word "tomato", "#"
    starts a comment. Raises :class:`DataError` naming the file and the fix.
    """
    path = (
        Path(path) if path is not None else Path(str(files("seqcourse") / "data" / DICTIONARY_FILE))
    )
    fix = "reinstall the package (pip install --force-reinstall seqcourse)"
    try:
        data = gzip.decompress(path.read_bytes())
    except FileNotFoundError:
        raise DataError(f"the CMU dictionary {path} is missing; {fix}") from None
    except (OSError, EOFError) as err:
        raise DataError(
            f"the CMU dictionary {path} is not a readable gzip file ({err}); {fix}"
        ) from None
    if path.name == DICTIONARY_FILE and hashlib.sha256(data).hexdigest() != DICTIONARY_SHA256:
        raise DataError(f"the CMU dictionary {path} is corrupted (SHA-256 differs); {fix}")
    entries = []
    for number, line in enumerate(data.decode("utf-8").splitlines(), start=1):
        parts = line.split("#")[0].split()
        if not parts:
            continue
        if len(parts) < 2:
            raise DataError(f"{path}, line {number}: a word without phonemes ({line!r}); {fix}")
        entries.append((re.sub(r"\(\d+\)$", "", parts[0]), parts[1:]))
    return entries


@functools.lru_cache(maxsize=1)
def pronunciation_dictionary() -> dict[str, tuple[tuple[str, ...], ...]]:
    """Every letters-only word of the CMU dictionary -> its distinct stress-free pronunciations
    (read once from the package's copy)."""
    entries: dict[str, dict[tuple[str, ...], None]] = {}
    for word, phonemes in read_dictionary():
        if re.fullmatch(r"[a-z]+", word):
            entries.setdefault(word, {})[strip_stress(phonemes)] = None
    return {word: tuple(unique) for word, unique in entries.items()}


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
