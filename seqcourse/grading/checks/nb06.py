"""Public checks of notebook 06 (encoder-decoder with attention). Oracles: the course's
``AdditiveAttention`` layer (keras.ops), ``tf.edit_distance`` and an exhaustive sort."""

from __future__ import annotations

import numpy as np

from seqcourse.grading.public_checks import CheckFailed, assert_close, assert_shape, public_check


def _attention_case(seed: int, steps: int = 6):
    rng = np.random.default_rng(seed)
    query, keys = rng.normal(size=5), rng.normal(size=(steps, 3))
    w_query, w_key, v = rng.normal(size=(5, 4)), rng.normal(size=(3, 4)), rng.normal(size=4)
    return query, keys, w_query, w_key, v


def _layer_weights(query, keys, w_query, w_key, v, mask):
    from seqcourse.layers import AdditiveAttention

    layer = AdditiveAttention(w_query.shape[1])
    layer.build(query[None, None].shape, keys[None].shape)
    layer.set_weights([w_query, w_key, v])
    _, weights = layer(
        query[None, None].astype("float32"), keys[None].astype("float32"), values_mask=mask[None]
    )
    return np.asarray(weights)[0, 0]


# ---------------------------------------------------------------- 6.1 attention_weights


@public_check("6.1", "no padding: matches seqcourse.layers.AdditiveAttention and sums to one")
def _attention_unmasked(attention_weights):
    case = _attention_case(0)
    mask = np.ones(6, bool)
    weights = assert_shape(attention_weights(*case, mask), (6,), "weights")
    assert_close(weights, _layer_weights(*case, mask), "attention weights", atol=1e-5)


@public_check("6.1", "padded steps get weight exactly 0; the rest still sum to one")
def _attention_masked(attention_weights):
    case = _attention_case(1)
    mask = np.array([1, 1, 1, 1, 0, 0], bool)
    weights = assert_shape(attention_weights(*case, mask), (6,), "weights")
    if np.any(weights[~mask] != 0):
        raise CheckFailed(f"padded steps 4 and 5 got weights {weights[~mask]}, expected 0")
    assert_close(weights, _layer_weights(*case, mask), "attention weights", atol=1e-5)


@public_check("6.1", "large scores do not overflow (subtract the maximum before exp)")
def _attention_stable(attention_weights):
    query, keys, w_query, w_key, v = _attention_case(2)
    weights = np.asarray(attention_weights(query, keys, w_query, w_key, v * 1000, np.ones(6, bool)))
    if not np.all(np.isfinite(weights)):
        raise CheckFailed(f"scores of size ~1000 gave non-finite weights {weights}")
    assert_close(weights.sum(), 1.0, "sum of the weights", atol=1e-6)


# ---------------------------------------------------------------- 6.2 edit_distance


@public_check("6.2", "hand-worked pairs: kitten/sitting, empty sequences, phoneme lists")
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

    rng = np.random.default_rng(0)
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


def _brute_force(beam_scores, log_probs, k):
    total = beam_scores[:, None] + log_probs
    order = sorted(np.ndindex(*total.shape), key=lambda ij: -total[ij])[:k]
    return np.array([total[ij] for ij in order]), [ij[0] for ij in order], [ij[1] for ij in order]


@public_check("6.3", "keeps the k best of all B x V extensions, best first")
def _beam_best(beam_step):
    rng = np.random.default_rng(0)
    beam_scores = np.log(rng.dirichlet(np.ones(3)))
    log_probs = np.log(rng.dirichlet(np.ones(7), size=3))
    scores, parents, tokens = (np.asarray(x) for x in beam_step(beam_scores, log_probs, 4))
    want_scores, want_parents, want_tokens = _brute_force(beam_scores, log_probs, 4)
    assert_shape(scores, (4,), "scores")
    assert_close(scores, want_scores, "scores of the kept extensions", atol=1e-9)
    if parents.tolist() != want_parents or tokens.tolist() != want_tokens:
        raise CheckFailed(
            f"parents {parents.tolist()} / tokens {tokens.tolist()}, expected {want_parents} / "
            f"{want_tokens}"
        )


@public_check("6.3", "a strong parent can supply several of the k survivors")
def _beam_same_parent(beam_scores_fn):
    scores, parents, tokens = (
        np.asarray(x)
        for x in beam_scores_fn(np.array([0.0, -5.0]), np.log(np.array([[0.5, 0.3, 0.2],
                                                                         [0.9, 0.05, 0.05]])), 3)
    )  # fmt: skip
    if parents.tolist() != [0, 0, 0] or tokens.tolist() != [0, 1, 2]:
        raise CheckFailed(
            f"got parents {parents.tolist()} and tokens {tokens.tolist()}; all three best "
            "extensions come from hypothesis 0 (its tokens 0, 1, 2)"
        )
    assert_close(scores, np.log([0.5, 0.3, 0.2]), "scores", atol=1e-9)
