"""Public checks of notebook 07 (image captioning). Oracle for 7.2: NLTK's
``modified_precision`` (the clipped n-gram precision inside its BLEU)."""

from __future__ import annotations

import numpy as np

from seqcourse.grading.public_checks import CheckFailed, public_check

ID_WORD = {3: "a", 4: "red", 5: "circle", 6: "left", 7: "of", 8: "blue", 9: "square"}


def _expect(got, expected, call: str):
    if got != expected:
        raise CheckFailed(f"{call} returned {got!r}, expected {expected!r}")


# ---------------------------------------------------------------- 7.1 ids_to_caption


@public_check("7.1", "maps ids to words joined by single spaces, stopping at the end token")
def _caption_basic(ids_to_caption):
    _expect(ids_to_caption([3, 4, 5, 2], ID_WORD), "a red circle", "ids_to_caption([3, 4, 5, 2])")
    _expect(
        ids_to_caption([3, 4, 5, 2, 6, 7], ID_WORD),
        "a red circle",
        "ids_to_caption([3, 4, 5, 2, 6, 7]) (words after the end token are dropped)",
    )


@public_check("7.1", "skips start tokens and padding; works on NumPy arrays")
def _caption_specials(ids_to_caption):
    _expect(
        ids_to_caption(np.array([1, 3, 8, 9, 0, 0]), ID_WORD),
        "a blue square",
        "ids_to_caption(np.array([1, 3, 8, 9, 0, 0]))",
    )
    _expect(ids_to_caption([2, 3], ID_WORD), "", "ids_to_caption([2, 3])")


# ---------------------------------------------------------------- 7.2 clipped_precision


def _nltk(candidate, references, n):
    from nltk.translate.bleu_score import modified_precision

    fraction = modified_precision(references, candidate, n)
    return fraction.numerator, fraction.denominator


@public_check("7.2", "the textbook case: 'the the the ...' against two references")
def _clipped_textbook(clipped_precision):
    candidate = "the the the the the the the".split()
    references = ["the cat is on the mat".split(), "there is a cat on the mat".split()]
    got = tuple(int(x) for x in clipped_precision(candidate, references, 1))
    _expect(got, (2, 7), "clipped_precision(the x7, ..., 1)")


@public_check("7.2", "agrees with NLTK on 100 random captions for n = 1..4")
def _clipped_random(clipped_precision):
    rng = np.random.default_rng(0)
    words = "a red blue circle square left right of above".split()
    for _ in range(100):
        candidate = list(rng.choice(words, rng.integers(1, 10)))
        references = [list(rng.choice(words, rng.integers(1, 10))) for _ in range(2)]
        for n in (1, 2, 3, 4):
            got = tuple(int(x) for x in clipped_precision(candidate, references, n))
            expected = _nltk(candidate, references, n)
            if len(candidate) < n:
                expected = (0, 0)
            if got != expected:
                raise CheckFailed(
                    f"clipped_precision({candidate}, {references}, {n}) returned {got}, "
                    f"expected {expected}"
                )
