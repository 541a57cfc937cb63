"""Public checks of notebook 06 (encoder-decoder with attention). Oracles: the course's
``AdditiveAttention`` layer (keras.ops), ``tf.edit_distance`` and an exhaustive sort."""

from __future__ import annotations

import numpy as np

from seqcourse.grading.probes import traced_call
from seqcourse.grading.public_checks import (
    CheckFailed,
    as_array,
    assert_close,
    assert_shape,
    fresh_rng,
    probe_with,
    public_check,
    replaces,
    traced_value,
)

# The course's own code that answers each exercise (the checks' oracles among it): the layer
# and its functions, and Keras' softmax, which the exercise writes (6.1), the batch edit distance behind the error rates, TensorFlow's and NLTK's (6.2), the
# reference step of the search (6.3).
replaces("6.1", "AdditiveAttention", "additive_attention_weights", "additive_scores", "softmax")
replaces("6.2", "edit_distances", "edit_distance", "token_error_rate", "sequence_error_rate",
         "closest_reference_distances")  # fmt: skip
replaces("6.3", "beam_step")


def _attention_case(seed: int, steps: int = 6):
    """A batch of 2 words (``steps`` encoder steps) with 3 queries each, and the weights."""
    rng = fresh_rng(seed)
    query, keys = rng.normal(size=(2, 3, 5)), rng.normal(size=(2, steps, 3))
    w_query, w_key, v = rng.normal(size=(5, 4)), rng.normal(size=(3, 4)), rng.normal(size=4)
    return query, keys, w_query, w_key, v


def _reference_weights(query, keys, w_query, w_key, v, mask) -> np.ndarray:
    """The judge's oracle: the course layer's weights function, in float64."""
    from seqcourse.layers import additive_attention_weights

    return np.asarray(additive_attention_weights(query, keys, w_query, w_key, v, mask))


# ---------------------------------------------------------------- 6.1 attention_weights


@public_check("6.1", "no padding: matches seqcourse.layers.AdditiveAttention; rows sum to one")
def _attention_unmasked(attention_weights):
    case = _attention_case(0)
    mask = np.ones((2, 6), bool)
    weights = assert_shape(attention_weights(*case, mask), (2, 3, 6), "weights")
    assert_close(weights, _reference_weights(*case, mask), "attention weights", atol=1e-5)


@public_check("6.1", "padded steps get weight exactly 0; the rest still sum to one")
def _attention_masked(attention_weights):
    case = _attention_case(1)
    mask = np.array([[1, 1, 1, 1, 0, 0], [0, 1, 1, 1, 1, 1]], bool)
    weights = assert_shape(attention_weights(*case, mask), (2, 3, 6), "weights")
    padded = np.broadcast_to(~mask[:, None, :], weights.shape)
    if np.any(weights[padded] != 0):
        raise CheckFailed(
            "padded steps (word 0: steps 4-5, word 1: step 0) got nonzero weights: the mask is "
            "(batch, steps), one row per word, and applies to every query of that word"
        )
    assert_close(weights, _reference_weights(*case, mask), "attention weights", atol=1e-5)


@public_check("6.1", "large scores do not overflow (subtract the maximum before exp)")
def _attention_stable(attention_weights):
    query, keys, w_query, w_key, v = _attention_case(2)
    mask = np.ones((2, 6), bool)
    weights = as_array(attention_weights(query, keys, w_query, w_key, v * 1000, mask), "weights")
    if not np.all(np.isfinite(weights)):
        raise CheckFailed("scores of size ~1000 gave non-finite weights: subtract the maximum")
    assert_close(weights.sum(axis=-1), np.ones(weights.shape[:-1]), "sums of the weights", 1e-6)


@public_check("6.1", "runs on symbolic tensors inside tf.function, as the attention model calls it")
def _attention_traced(attention_weights):
    case = [np.asarray(a, "float32") for a in _attention_case(3, steps=7)]
    mask = np.array([[1] * 7, [1, 1, 1, 0, 0, 0, 0]], bool)
    unknown = [(0, 1), (0, 1), (), (), (), (0, 1)]  # batch and steps unknown, as in model.fit
    reply = probe_with(attention_weights, traced_call, [*case, mask], unknown, {})
    where = "inside tf.function (as model.fit calls it)"
    weights = assert_shape(traced_value(reply, where), (2, 3, 7), "traced weights")
    assert_close(weights, _reference_weights(*case, mask), "traced attention weights", atol=1e-4)


# ---------------------------------------------------------------- 6.2 edit_distance


@public_check(
    "6.2", "hand-worked pairs: kitten/sitting, empty sequences, phoneme lists", fixed=True
)
def _edit_hand(edit_distance):
    cases = [("kitten", "sitting", 3), ("", "abc", 3), ("abc", "", 3), ("", "", 0),
             ("flaw", "lawn", 2), (["T", "AH", "M"], ["T", "AA", "M", "EY"], 2)]  # fmt: skip
    for a, b, expected in cases:
        got = edit_distance(a, b)
        if not isinstance(got, (int, np.integer)) or got != expected:
            raise CheckFailed(f"edit_distance({a!r}, {b!r}) returned {got!r}, expected {expected}")


@public_check("6.2", "200 random pairs agree with tf.edit_distance")
def _edit_random(edit_distance):
    from seqcourse.metrics import edit_distances

    rng = fresh_rng(0)
    pairs = [
        ("".join(rng.choice(list("abc"), rng.integers(0, 9))),
         "".join(rng.choice(list("abc"), rng.integers(0, 9))))
        for _ in range(200)
    ]  # fmt: skip
    expected = edit_distances([a for a, _ in pairs], [b for _, b in pairs])
    for (a, b), want in zip(pairs, expected, strict=True):
        got = edit_distance(a, b)
        if got != want:
            raise CheckFailed(f"edit_distance({a!r}, {b!r}) returned {got!r}, expected {want}")


# ---------------------------------------------------------------- 6.3 beam_step
#
# Oracle: brute force. Every (parent, token) pair is listed with its total score and the list
# sorted; the k first are the answer (the search in notebook 06 runs the student's step).


def _brute_force(beam_scores, log_probs, k):
    """The k best (score, parent, token) of all B x V extensions, by listing them all."""
    beams, vocab = np.shape(log_probs)
    pairs = [(beam_scores[b] + log_probs[b, v], b, v) for b in range(beams) for v in range(vocab)]
    best = sorted(pairs, key=lambda pair: -pair[0])[:k]  # stable: ties keep (parent, token) order
    return np.array([p[0] for p in best]), [p[1] for p in best], [p[2] for p in best]


def _returned(beam_step, beam_scores, log_probs, k):
    out = beam_step(beam_scores, log_probs, k)
    if not (isinstance(out, (tuple, list)) and len(out) == 3):
        raise CheckFailed(
            f"beam_step should return a tuple (scores, parents, tokens), got {type(out).__name__}"
        )
    names = ("scores", "parents", "tokens")
    scores, parents, tokens = (assert_shape(x, (k,), n) for x, n in zip(out, names, strict=True))
    for indices, name in ((parents, "parents"), (tokens, "tokens")):
        if not np.array_equal(indices, np.round(indices)):
            raise CheckFailed(f"{name} should be integer indices, got {indices.tolist()}")
    return scores, parents.astype(int).tolist(), tokens.astype(int).tolist()


def _diagnose_beam(got, beam_scores, log_probs, k) -> str:
    """What a wrong answer did, for the classic mistakes; "" if none of them."""
    scores, parents, tokens = got
    want_scores, want_parents, want_tokens = _brute_force(beam_scores, log_probs, k)
    beams, vocab = np.shape(log_probs)
    finite = np.isfinite(scores) & np.isfinite(want_scores)
    if np.allclose(np.sort(scores[finite]), np.sort(want_scores[finite])) and k > 1:
        if scores[0] < scores[-1]:
            return "the right extensions, worst first: sort them from best to worst"
        flat = np.array(want_parents) * vocab + np.array(want_tokens)
        if parents == (flat // beams).tolist() or tokens == (flat % beams).tolist():
            return (
                f"flat index i of the (B, V) = ({beams}, {vocab}) table of totals is parent "
                "i // V and token i % V, with V the vocabulary size"
            )
    with np.errstate(invalid="ignore"):  # -inf - -inf
        rising = np.all(np.diff(scores) > 0)
    if rising:
        return "you kept the k worst extensions (argsort sorts ascending: sort by -total)"
    alone = _brute_force(np.zeros_like(beam_scores), log_probs, k)
    if parents == alone[1] and tokens == alone[2]:
        return (
            "you ranked the extensions by log_probs alone: an extension's score is "
            "beam_scores[parent] + log_probs[parent, token]"
        )
    if len(set(parents)) == len(parents) and len(set(want_parents)) < len(want_parents):
        return (
            "each hypothesis supplied at most one extension; a strong hypothesis can supply "
            "several of the k survivors"
        )
    return ""


def _compare(beam_step, beam_scores, log_probs, k) -> None:
    """CheckFailed, naming the mistake, unless beam_step gives the brute-force answer."""
    got = _returned(beam_step, beam_scores, log_probs, k)
    want_scores, want_parents, want_tokens = _brute_force(beam_scores, log_probs, k)
    if np.allclose(got[0], want_scores, atol=1e-9) and got[1:] == (want_parents, want_tokens):
        return
    why = _diagnose_beam(got, beam_scores, log_probs, k)
    raise CheckFailed(
        f"with beam_scores {np.round(beam_scores, 3).tolist()} and k={k}: got parents {got[1]}, "
        f"tokens {got[2]}, scores {np.round(got[0], 4).tolist()}; the {k} best of all extensions "
        f"are parents {want_parents}, tokens {want_tokens}, scores "
        f"{np.round(want_scores, 4).tolist()}" + (f". {why[0].upper()}{why[1:]}" if why else "")
    )


def _random_case(rng, beams: int, vocab: int, empty: int = 0):
    """Beam scores (with ``empty`` slots at -inf, as in the search) and log-probabilities."""
    beam_scores = np.log(rng.dirichlet(np.ones(beams)))
    beam_scores[rng.permutation(beams)[:empty]] = -np.inf
    return beam_scores, np.log(rng.dirichlet(np.ones(vocab), size=beams))


def assert_beam_step(beam_step, seed: int = 0, beams: int = 4, vocab: int = 9, k: int = 5):
    """Every judgement of exercise 6.3 on random cases of other sizes (for hidden tests):
    CheckFailed unless each matches the brute-force answer."""
    rng = fresh_rng(seed)
    for empty in (0, 1, beams - 1):
        for _ in range(3):
            _compare(beam_step, *_random_case(rng, beams, vocab, empty), k)
    _compare(beam_step, *_random_case(rng, beams, vocab), beams * vocab)  # keep everything


@public_check("6.3", "returns (scores, parents, tokens), each of shape (k,)", gate=True)
def _beam_shapes(beam_step):
    _returned(beam_step, *_random_case(fresh_rng(0), 3, 7), 4)


@public_check("6.3", "keeps the k best of all B x V extensions, best first")
def _beam_best(beam_step):
    _compare(beam_step, *_random_case(fresh_rng(1), 3, 7), 4)


@public_check("6.3", "a strong parent can supply several of the k survivors")
def _beam_same_parent(beam_step):
    rng = fresh_rng(3)  # parent 0 far ahead: all 3 survivors extend it, in its tokens' order
    strong, weak = rng.permutation([0.5, 0.3, 0.2]), rng.permutation([0.9, 0.05, 0.05])
    order = rng.permutation(2)
    log_probs, beam_scores = np.log(np.stack([strong, weak])[order]), np.zeros(2)
    beam_scores[order[1]] = -rng.uniform(4, 6)
    _compare(beam_step, beam_scores, log_probs, 3)


@public_check("6.3", "empty slots (beam score -inf, as in the search) are never kept")
def _beam_empty_slots(beam_step):
    _compare(beam_step, *_random_case(fresh_rng(2), 3, 6, empty=2), 4)
