"""Public checks of notebook 07 (image captioning). Oracles: for 7.1 a NumPy recomputation of
the decoder step (Keras' GRU cell equations, additive attention, the combine and logits layers)
and two invariants (regions are a set; batch rows are independent); for 7.2 NLTK's
``modified_precision`` (the clipped n-gram precision inside its BLEU)."""

from __future__ import annotations

import numpy as np

from seqcourse.grading.probes import caption_step_probe
from seqcourse.grading.public_checks import (
    CheckFailed,
    assert_close,
    assert_shape,
    fresh_rng,
    probe_with,
    public_check,
    replaces,
)

# ---------------------------------------------------------------- 7.1 caption_step
#
# Probe (in the student's kernel): build small decoder layers from arrays the judge chose, run
# two steps of the student's step (the second from the state the first returned) and return the
# log-probabilities and states as arrays. Judge (here): recompute both steps in NumPy.

# the reference step and the searches that run it; the layer whose weights and context 7.1
# computes (the probe's layer only gives scores, see _ScoresOnly)
replaces("7.1", "attention_decoder_step", "greedy_search", "beam_search", "AdditiveAttention")
replaces(
    "7.2", "clipped_precision", "modified_precision", "corpus_bleu", "sentence_bleu", "bleu_score"
)
ATOL = 1e-4  # float32 in the kernel, float64 here
SIZES = {"rows": 3, "vocab": 9, "embed": 4, "units": 5, "score_units": 3, "features": 6,
         "regions": 7, "combine": 4}  # fmt: skip


def _weights(sizes: dict, rng) -> dict:
    """Random decoder weights of the given sizes (float32, as Keras keeps them)."""
    s = sizes
    shapes = {
        "embedding": (s["vocab"], s["embed"]),
        "kernel": (s["embed"], 3 * s["units"]),
        "recurrent_kernel": (s["units"], 3 * s["units"]),
        "bias": (2, 3 * s["units"]),
        "query_kernel": (s["units"], s["score_units"]),
        "value_kernel": (s["features"], s["score_units"]),
        "score_vector": (s["score_units"],),
        "combine_kernel": (s["units"] + s["features"], s["combine"]),
        "combine_bias": (s["combine"],),
        "logits_kernel": (s["combine"], s["vocab"]),
        "logits_bias": (s["vocab"],),
    }
    w = {name: rng.normal(size=shape) * 0.7 for name, shape in shapes.items()}
    w["score_vector"] *= 4  # attention that clearly prefers some regions
    return {name: value.astype("float32") for name, value in w.items()}


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _gru(w, x, h):
    """Keras' GRU cell (reset_after=True, gates z, r, candidate) in NumPy: (n, units)."""
    units = h.shape[1]
    from_x, from_h = x @ w["kernel"] + w["bias"][0], h @ w["recurrent_kernel"] + w["bias"][1]
    z = _sigmoid(from_x[:, :units] + from_h[:, :units])
    r = _sigmoid(from_x[:, units : 2 * units] + from_h[:, units : 2 * units])
    candidate = np.tanh(from_x[:, 2 * units :] + r * from_h[:, 2 * units :])
    return z * h + (1 - z) * candidate


# How the attention weights (n, regions) come from the scores: the right way, and the classic
# mistakes the checks name.
WEIGHTINGS = {
    "right": lambda scores: _softmax(scores, axis=1),
    "the softmax runs over the batch axis (each region's weights over the rows sum to one), "
    "not over the regions of each image": lambda scores: _softmax(scores, axis=0),
    "every region gets weight 1 (a softmax over an axis of length 1, e.g. the query axis of "
    "scores (n, 1, regions)): the context is the plain sum of the grid": np.ones_like,
    "the context is the plain mean of the grid, not weighted by attention": lambda scores: (
        np.full_like(scores, 1 / scores.shape[1])
    ),
}


def _numpy_step(w, tokens, h, grid, weighting="right", query_is_old_state=False):
    """One decoder step in NumPy: ``(log_probs (n, vocab), new h (n, units))``."""
    h = h.astype("float64")
    new_h = _gru(w, w["embedding"][tokens].astype("float64"), h)
    query = h if query_is_old_state else new_h
    scores = np.tanh((query @ w["query_kernel"])[:, None] + grid @ w["value_kernel"])
    alpha = WEIGHTINGS[weighting](scores @ w["score_vector"])  # (n, regions)
    context = np.einsum("nr,nrf->nf", alpha, grid)
    combined = np.tanh(np.c_[new_h, context] @ w["combine_kernel"] + w["combine_bias"])
    logits = combined @ w["logits_kernel"] + w["logits_bias"]
    top = logits.max(axis=1, keepdims=True)
    return logits - top - np.log(np.exp(logits - top).sum(axis=1, keepdims=True)), new_h


class _Case:
    """Inputs the judge chose for one probe of a student's step, and what came back."""

    def __init__(self, caption_step, seed: int, sizes: dict = SIZES, steps: int = 2):
        rng = fresh_rng(seed)
        self.sizes, self.w = sizes, _weights(sizes, rng)
        n = sizes["rows"]
        self.tokens = rng.integers(1, sizes["vocab"], size=(steps, n))
        self.h = np.tanh(rng.normal(size=(n, sizes["units"]))).astype("float32")
        grid = rng.normal(size=(n, sizes["regions"], sizes["features"]))
        self.grid = grid.astype("float32")
        self.steps = self.run(caption_step, self.grid)

    def run(self, caption_step, grid, rows=slice(None)):
        steps = probe_with(caption_step, caption_step_probe, self.w, self.tokens[:, rows],
                           self.h[rows], grid[rows])  # fmt: skip
        ok = type(steps) is list and steps and all(type(s) is dict for s in steps)
        if not ok:
            raise CheckFailed("the step could not be probed: its probe sent back malformed data")
        return steps

    def expected(self, t: int = 0, grid=None, **mistake):
        """The step ``t`` recomputed here, from the right state (or with one ``mistake``)."""
        grid = self.grid if grid is None else grid
        h = self.h
        for previous in self.tokens[:t]:
            h = _numpy_step(self.w, previous, h, grid)[1]
        return _numpy_step(self.w, self.tokens[t], h, grid, **mistake)

    def returned(self, t: int, shape_only: bool = False) -> dict:
        """Step ``t`` as the probe saw it, with its form checked."""
        n, s = self.sizes["rows"], self.sizes
        if len(self.steps) <= t or "returned" in self.steps[t]:
            got = self.steps[-1].get("returned", "nothing") if self.steps else "nothing"
            raise CheckFailed(
                "caption_step should return (log_probs, new_state) with new_state a dict; "
                f"got {got}"
            )
        step = self.steps[t]
        assert_shape(step["log_probs"], (n, s["vocab"]), "log_probs")
        if "h" not in step:
            raise CheckFailed(
                f"the state you return has keys {step['keys']}: it must keep 'values' (the "
                "grid, needed by the next step) and hold the new decoder state in 'h'"
            )
        assert_shape(step["h"], (n, s["units"]), 'the returned state["h"]')
        return step


def _diagnose_log_probs(case: _Case, got) -> None:
    """CheckFailed naming the mistake if step 0's log-probabilities are not the expected ones."""
    want = case.expected(0)[0]
    if np.allclose(got, want, atol=ATOL):
        return
    shift = got - want
    if np.allclose(shift, shift[:, :1], atol=ATOL):
        raise CheckFailed(
            "each row is off by a constant: return log-probabilities (log_softmax of the "
            "logits over the vocabulary), not the logits"
        )
    if np.allclose(got, np.exp(want), atol=ATOL):
        raise CheckFailed("you return probabilities: return their log (keras.ops.log_softmax)")
    for weighting in list(WEIGHTINGS)[1:]:
        if np.allclose(got, case.expected(0, weighting=weighting)[0], atol=ATOL):
            raise CheckFailed(f"log_probs are what you get when {weighting}")
    if np.allclose(got, case.expected(0, query_is_old_state=True)[0], atol=ATOL):
        raise CheckFailed(
            "the attention query is the state you were given (s_{t-1}, Bahdanau's wiring); "
            "here the query is the GRU's new output, as in notebook 06 (Luong's wiring)"
        )
    assert_close(got, want, "log_probs of one step (compared with a NumPy recomputation)", ATOL)


def _check_log_probs(case: _Case) -> None:
    _diagnose_log_probs(case, case.returned(0)["log_probs"])


def _check_state(case: _Case) -> None:
    first = case.returned(0)
    if np.allclose(first["h"], case.h, atol=1e-7):
        raise CheckFailed(
            'the state you return is the one you were given: put the GRU cell\'s new state in "h"'
        )
    assert_close(first["h"], case.expected(0)[1], 'the new state["h"]', ATOL)
    try:
        _diagnose_log_probs(case, first["log_probs"])
    except CheckFailed:
        raise CheckFailed(
            "the second step is not compared until the first step's log_probs are right (see "
            "the check above)"
        ) from None
    second = case.returned(1)
    assert_close(
        second["log_probs"],
        case.expected(1)[0],
        "log_probs of a second step, run from the state your first step returned,",
        ATOL,
    )


def _check_invariants(caption_step, case: _Case, seed: int) -> None:
    """Properties with no recomputation: the regions of a grid are a set (permuting them
    changes nothing), and each image's row is decoded on its own (the batch does not mix)."""
    order = fresh_rng(seed).permutation(case.sizes["regions"])
    permuted = case.run(caption_step, case.grid[:, order])
    assert_close(
        permuted[0]["log_probs"],
        case.steps[0]["log_probs"],
        "log_probs with the grid's regions in another order (attention treats them as a set)",
        ATOL,
    )
    for row in range(case.sizes["rows"]):
        alone = case.run(caption_step, case.grid, rows=slice(row, row + 1))
        assert_close(
            alone[0]["log_probs"][0],
            case.steps[0]["log_probs"][row],
            f"log_probs of image {row} decoded alone, compared with the same image in a batch",
            ATOL,
        )


def assert_caption_step(caption_step, seed: int = 0, **sizes):
    """Every judgement of exercise 7.1 for other sizes (for hidden tests): CheckFailed if any
    fails. ``sizes`` override :data:`SIZES`."""
    case = _Case(caption_step, seed, {**SIZES, **sizes}, steps=3)
    _check_log_probs(case)
    _check_state(case)
    _check_invariants(caption_step, case, seed + 1)


@public_check(
    "7.1",
    "returns (log_probs (n, vocab), state) with the new decoder state in state['h'] (n, units)",
    gate=True,
)
def _step_shapes(caption_step):
    _Case(caption_step, 1).returned(0)


@public_check(
    "7.1",
    "next-word log-probabilities match a NumPy recomputation (GRU cell, attention over the "
    "grid, combine, logits)",
)
def _step_log_probs(caption_step):
    _check_log_probs(_Case(caption_step, 2))


@public_check("7.1", "returns the updated state; a second step from it matches too")
def _step_state(caption_step):
    _check_state(_Case(caption_step, 3))


# ---------------------------------------------------------------- 7.2 clipped_precision


def _expect(got, expected, call: str):
    if got != expected:
        raise CheckFailed(f"{call} returned {got!r}, expected {expected!r}")


def _nltk(candidate, references, n):
    from nltk.translate.bleu_score import modified_precision

    fraction = modified_precision(references, candidate, n)
    return fraction.numerator, fraction.denominator


@public_check("7.2", "the textbook case: 'the the the ...' against two references", fixed=True)
def _clipped_textbook(clipped_precision):
    candidate = "the the the the the the the".split()
    references = ["the cat is on the mat".split(), "there is a cat on the mat".split()]
    got = tuple(int(x) for x in clipped_precision(candidate, references, 1))
    _expect(got, (2, 7), "clipped_precision(the x7, ..., 1)")


@public_check("7.2", "agrees with NLTK on 100 random captions for n = 1..4")
def _clipped_random(clipped_precision):
    rng = fresh_rng(0)
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
