"""Public checks of notebook 11 (self-attention and the Transformer). Oracles: Keras'
``MultiHeadAttention`` with one head and identity projections, and a brute-force NumPy loop
over queries and keys in float64 (11.1); the properties of a sinusoidal encoding and, in the
hidden judge, the formula itself (11.2).

Convention of 11.2 (stated in the notebook): sine and cosine are **interleaved**, column
``2i`` holds ``sin(p / 10000^(2i / depth))`` and column ``2i + 1`` the cosine of the same angle.
"""

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

replaces(
    "11.1",
    "MultiHeadAttention",
    "Attention",
    "AdditiveAttention",
    "GroupedQueryAttention",
    "dot_product_attention",
    "scaled_dot_product_attention",
    "TransformerEncoderBlock",
    "TransformerDecoderBlock",
    "transformer",
)
replaces("11.2", "sinusoidal_positions", "PositionalEmbedding", "transformer")

# ---------------------------------------------------------------- 11.1 attention


def _loop_attention(q, k, v, causal: bool, scale=None, visible=None) -> np.ndarray:
    """The judge's oracle: for each query, a softmax over the keys it may see, one at a time."""
    scale = np.sqrt(q.shape[-1]) if scale is None else scale
    visible = visible or (lambda i, j: j <= i if causal else True)
    out = np.zeros((*q.shape[:2], v.shape[-1]))
    weights = np.zeros((*q.shape[:2], k.shape[1]))
    for b in range(q.shape[0]):
        for i in range(q.shape[1]):
            keys = [j for j in range(k.shape[1]) if visible(i, j)]
            if not keys:
                continue
            scores = np.array([q[b, i] @ k[b, j] / scale for j in keys])
            p = np.exp(scores - scores.max())
            p /= p.sum()
            weights[b, i, keys] = p
            out[b, i] = sum(pj * v[b, j] for pj, j in zip(p, keys, strict=True))
    return out, weights


def _keras_attention(q, k, v, causal: bool) -> np.ndarray:
    """``keras.layers.MultiHeadAttention`` with one head and identity projections, no biases."""
    import keras

    d_k, d_v = q.shape[-1], v.shape[-1]
    layer = keras.layers.MultiHeadAttention(1, d_k, value_dim=d_v, use_bias=False, output_shape=d_v)
    layer.build(q.shape, v.shape, k.shape)
    eye_k, eye_v = np.eye(d_k)[:, None, :], np.eye(d_v)[:, None, :]
    layer.set_weights([eye_k, eye_k, eye_v, np.eye(d_v)[None]])  # query, key, value, output
    return np.asarray(layer(q, v, key=k, use_causal_mask=causal), dtype="float64")


def _pair(value, shapes, what="scaled_dot_product_attention"):
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise CheckFailed(
            f"{what} should return a pair (output, weights), got {type(value).__name__}"
        )
    return tuple(
        assert_shape(x, s, f"the {n}")
        for x, s, n in zip(value, shapes, ("output", "weights"), strict=True)
    )


def _case(rng, batch=2, t_q=4, t_k=6, d_k=8, d_v=5, spread=1.0):
    q = (rng.normal(size=(batch, t_q, d_k)) * spread).astype("float32")
    k = (rng.normal(size=(batch, t_k, d_k)) * spread).astype("float32")
    v = rng.normal(size=(batch, t_k, d_v)).astype("float32")
    return q, k, v


def _attention_mistake(output, weights, q, k, v, causal: bool) -> str | None:
    """Name a classic mistake that ``output``/``weights`` match, if any."""
    q64, k64, v64 = (x.astype("float64") for x in (q, k, v))
    sums_q = weights.sum(axis=1)
    if (
        not causal
        and np.allclose(sums_q, 1, atol=1e-4)
        and not np.allclose(weights.sum(axis=2), 1, atol=1e-4)
    ):
        return (
            "the softmax runs over the queries (axis -2): each query's weights must sum to 1 "
            "over the keys, softmax(scores, axis=-1)"
        )
    d_k = q.shape[-1]
    candidates = {
        "the scores are not divided by sqrt(d_k): softmax(q k^T / sqrt(d_k)), without the "
        "scale large d_k saturates the softmax": {"scale": 1.0},
        "the scores are divided by d_k, not by sqrt(d_k)": {"scale": float(d_k)},
    }
    if causal:
        candidates = {
            **candidates,
            "the causal mask is off by one: position t sees position t + 1 (keep j <= i, a "
            "lower triangle including the diagonal)": {"visible": lambda i, j: j <= i + 1},
            "the causal mask hides the diagonal: position t must see itself (j <= i, not j < i)": {
                "visible": lambda i, j: j < i
            },
            "the causal mask is the wrong triangle: query i may see keys j <= i (the past), "
            "not j >= i": {"visible": lambda i, j: j >= i},
            "the causal mask is missing: a decoder position must not see later positions": {
                "visible": lambda i, j: True
            },
        }
    for message, options in candidates.items():
        want, _ = _loop_attention(q64, k64, v64, causal, **options)
        # from row 1: with j < i the first query sees nothing, and answers differ in what then
        if np.allclose(output[:, 1:], want[:, 1:], atol=1e-4):
            return message
    return None


def _check_attention(attend, rng, causal: bool, oracle, **sizes) -> None:
    q, k, v = _case(rng, **sizes)
    if causal:
        k, v = k[:, : q.shape[1]], v[:, : q.shape[1]]
    shapes = [(*q.shape[:2], v.shape[-1]), (*q.shape[:2], k.shape[1])]
    output, weights = _pair(attend(q, k, v, causal=causal), shapes)
    want = oracle(q, k, v, causal)
    if not np.allclose(output, want, atol=1e-4):
        mistake = _attention_mistake(output, weights, q, k, v, causal)
        if mistake:
            raise CheckFailed(mistake)
    what = "the causal output" if causal else "the output"
    assert_close(output, want, f"{what} (q {q.shape}, k {k.shape}, v {v.shape})", 1e-4)
    _, want_weights = _loop_attention(*(x.astype("float64") for x in (q, k, v)), causal)
    assert_close(weights, want_weights, "the attention weights", 1e-4)


def _keras(q, k, v, causal):
    return _keras_attention(q, k, v, causal)


def _loop(q, k, v, causal):
    return _loop_attention(*(x.astype("float64") for x in (q, k, v)), causal)[0]


def assert_attention(scaled_dot_product_attention, seed: int = 0) -> None:
    """Every judgement of 11.1 on fresh inputs of other sizes (for hidden tests)."""
    rng = fresh_rng(seed)
    _check_attention(scaled_dot_product_attention, rng, False, _loop, t_q=3, t_k=7, d_k=16)
    _check_attention(scaled_dot_product_attention, rng, True, _loop, t_q=9, t_k=9, d_k=4, d_v=3)
    _check_attention(
        scaled_dot_product_attention, rng, False, _keras, t_q=5, t_k=4, d_k=32, spread=2.0
    )


@public_check("11.1", "returns (output (batch, T_q, d_v), weights (batch, T_q, T_k))", gate=True)
def _attention_shapes(attend):
    q, k, v = _case(fresh_rng(0))
    _pair(attend(q, k, v, causal=False), [(2, 4, 5), (2, 4, 6)])


@public_check("11.1", "each query's weights are >= 0 and sum to 1 over the keys")
def _attention_rows(attend):
    q, k, v = _case(fresh_rng(1))
    output, weights = _pair(attend(q, k, v, causal=False), [(2, 4, 5), (2, 4, 6)])
    if np.any(weights < -1e-6) or not np.allclose(weights.sum(-1), 1, atol=1e-4):
        mistake = _attention_mistake(output, weights, q, k, v, False)
        raise CheckFailed(mistake or f"the weights' sums over the keys are {weights.sum(-1)}")


@public_check("11.1", "equals MultiHeadAttention with one head and identity projections")
def _attention_keras(attend):
    _check_attention(attend, fresh_rng(2), False, _keras, d_k=16, spread=2.0)


@public_check("11.1", "causal=True equals a brute-force loop where query i sees keys j <= i")
def _attention_causal(attend):
    _check_attention(attend, fresh_rng(3), True, _loop, t_q=6)


@public_check("11.1", "causal=True equals MultiHeadAttention(use_causal_mask=True)")
def _attention_causal_keras(attend):
    _check_attention(attend, fresh_rng(4), True, _keras, t_q=5, d_k=8)


@public_check(
    "11.1",
    "runs on symbolic tensors in tf.function (batch and length unknown), as the Transformer "
    "calls it",
)
def _attention_traced(attend):
    q, k, v = _case(fresh_rng(5), t_q=5, t_k=5)
    reply = probe_with(attend, traced_call, [q, k, v], [(0, 1)] * 3, {"causal": True})
    value = traced_value(reply, "inside tf.function with unknown batch and length,")
    output, _ = _pair(value, [(2, 5, 5), (2, 5, 5)])
    assert_close(output, _loop(q, k, v, True), "the traced causal output", 1e-4)


# ---------------------------------------------------------------- 11.2 positions


def _table(positions, length, depth):
    return assert_shape(positions(length, depth), (length, depth), "the position table")


def _formula(length, depth, concatenate=False, exponent=2, swap=False):
    """The sinusoidal table (the hidden judge's oracle) and its classic variants."""
    i = np.arange(depth // 2)
    angles = np.arange(length)[:, None] / 10000 ** (exponent * i / depth)[None, :]
    sin, cos = (np.cos(angles), np.sin(angles)) if swap else (np.sin(angles), np.cos(angles))
    if concatenate:
        return np.concatenate([sin, cos], axis=1)
    table = np.empty((length, depth))
    table[:, 0::2], table[:, 1::2] = sin, cos
    return table


def _positions_mistake(got, length, depth) -> str | None:
    variants = {
        "sin and cos are concatenated (all sines, then all cosines); this course interleaves "
        "them: column 2i is the sine, column 2i + 1 the cosine of the same angle": {
            "concatenate": True
        },
        "sin and cos are swapped: even columns hold the sine, odd columns the cosine": {
            "swap": True
        },
        "the frequency exponent is i / depth: column pair i turns at 1 / 10000^(2i / depth)": {
            "exponent": 1
        },
    }
    for message, options in variants.items():
        if np.allclose(got, _formula(length, depth, **options), atol=1e-4):
            return message
    return None


def _check_rotation(table, offset: int) -> None:
    """PE[p + offset] must be PE[p] turned by one fixed rotation in every (2i, 2i + 1) pair."""
    length, depth = table.shape
    for i in range(0, depth, 2):
        now, later = table[: length - offset, i : i + 2], table[offset:, i : i + 2]
        linear, *_ = np.linalg.lstsq(now, later, rcond=None)
        residual = np.max(np.abs(now @ linear - later))
        rotation = np.allclose(linear.T @ linear, np.eye(2), atol=1e-3) and np.isclose(
            np.linalg.det(linear), 1, atol=1e-3
        )
        if residual > 1e-3 or not rotation:
            mistake = _positions_mistake(table, length, depth)
            raise CheckFailed(
                mistake
                or f"columns {i} and {i + 1}: PE[p + {offset}] is not a fixed rotation of PE[p] "
                "(a sine and a cosine of one frequency turn together)"
            )


@public_check("11.2", "returns a (length, depth) table", gate=True)
def _positions_shape(positions):
    _table(positions, 10, 8)


def _sizes(seed: int, lengths=(40, 120), depths=(6, 20)) -> tuple[int, int]:
    """A fresh (length, depth) for a check: depth even (memorised tables do not help)."""
    rng = fresh_rng(seed)
    return int(rng.integers(*lengths)), 2 * int(rng.integers(depths[0] // 2, depths[1] // 2 + 1))


@public_check("11.2", "is bounded by 1 and starts at sin 0 = 0, cos 0 = 1")
def _positions_bounded(positions):
    length, depth = _sizes(1)
    table = _table(positions, length, depth)
    if np.max(np.abs(table)) > 1 + 1e-6:
        raise CheckFailed(
            f"values reach {np.max(np.abs(table)):.3g}: sines and cosines stay in [-1, 1]"
        )
    first = np.tile([0.0, 1.0], depth // 2)
    if not np.allclose(table[0], first, atol=1e-6):
        mistake = _positions_mistake(table, length, depth)
        raise CheckFailed(mistake or f"position 0 should be {first.tolist()}, got {table[0]}")


@public_check("11.2", "gives each of 400 to 600 positions a distinct vector")
def _positions_distinct(positions):
    table = _table(positions, *_sizes(2, lengths=(400, 600), depths=(24, 40)))
    squared = (table**2).sum(1)
    distances = squared[:, None] + squared[None, :] - 2 * table @ table.T
    np.fill_diagonal(distances, np.inf)
    if np.min(distances) < 1e-6:
        i, j = np.unravel_index(int(np.argmin(distances)), distances.shape)
        raise CheckFailed(f"positions {i} and {j} get the same vector")


@public_check("11.2", "PE(p + k) is PE(p) rotated by a fixed angle in each (2i, 2i + 1) pair")
def _positions_linear(positions):
    table = _table(positions, *_sizes(3))
    for offset in (1, 5):
        _check_rotation(table, offset)


@public_check("11.2", "column pair i turns at the frequency 1 / 10000^(2i / depth)")
def _positions_frequencies(positions):
    length, depth = _sizes(4)
    table = _table(positions, length, depth)
    for i in range(0, depth, 2):
        now, later = table[:-1, i : i + 2], table[1:, i : i + 2]
        linear, *_ = np.linalg.lstsq(now, later, rcond=None)
        angle, want = np.arctan2(linear[0, 1], linear[0, 0]), 1 / 10000 ** (i / depth)
        if not np.isclose(abs(angle), want, rtol=1e-3, atol=1e-6):
            mistake = _positions_mistake(table, length, depth)
            raise CheckFailed(
                mistake
                or f"columns {i} and {i + 1} turn by {abs(angle):.4g} per position, expected "
                f"1 / 10000^({i}/{depth}) = {want:.4g}"
            )


def assert_positions(sinusoidal_positions, seed: int = 0) -> None:
    """The hidden judgement of 11.2: the exact formula, on fresh sizes."""
    rng = fresh_rng(seed)
    length, depth = int(rng.integers(20, 200)), 2 * int(rng.integers(3, 40))
    got = as_array(sinusoidal_positions(length, depth), "the position table")
    want = _formula(length, depth)
    if got.shape == want.shape and not np.allclose(got, want, atol=1e-4):
        mistake = _positions_mistake(got, length, depth)
        if mistake:
            raise CheckFailed(mistake)
    assert_close(got, want, f"the ({length}, {depth}) table against the formula", 1e-4)
    _check_rotation(got, int(rng.integers(1, 10)))
