"""Public checks of notebook 02 (LSTM and GRU). Oracles: ``tf.clip_by_global_norm``, Keras'
``LSTMCell`` and ``GRUCell`` (one step) and ``LSTM`` / ``GRU`` layers with ``tf.GradientTape``
(the step run inside ``keras.layers.RNN``).

The value checks of 2.2 and 2.3 recognise the classic wrong cells, each by Keras itself on
rearranged weights: LSTM gates in another order; the GRU update written with ``z`` and
``1 - z`` swapped (Keras with the update gate's pre-activation negated, since
``1 - sigmoid(a) = sigmoid(-a)``); the reset gate applied before the recurrent product (Keras'
``reset_after=False``).
"""

from __future__ import annotations

import itertools

import numpy as np

from seqcourse.grading.probes import layer_probe
from seqcourse.grading.public_checks import (
    CheckFailed,
    assert_close,
    assert_shape,
    fresh_rng,
    probe_with,
    public_check,
    replaces,
)

BATCH, FEATURES, UNITS, TIME = 3, 4, 5, 6
LSTM_GATES = ("input", "forget", "candidate", "output")  # Keras' order of the blocks
GRU_GATES = ("update", "reset", "candidate")

replaces("2.1", "clip_by_global_norm", "global_clipnorm", "clipnorm")
_CELLS = ("RNN", "gated_cells")  # Keras' loop; the course's cells and step functions
replaces("2.2", *_CELLS, "LSTMCell", "LSTM", "ScratchLSTMCell", "lstm_step", "_lstm_update")
replaces("2.3", *_CELLS, "GRUCell", "GRU", "ScratchGRUCell", "gru_step", "_gru_update")


def _pair(result, what: str):
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise CheckFailed(f"{what} should return a tuple of 2 arrays, got {type(result).__name__}")
    return result


# ---------------------------------------------------------------- 2.1 clip_by_global_norm


def _grads(seed: int, scale: float):
    rng = fresh_rng(seed)
    return [
        rng.normal(size=(4, 3)) * scale,
        rng.normal(size=(3,)) * scale,
        rng.normal(size=(2, 2, 2)) * scale,
    ]


def _clip(clip_by_global_norm, grads, max_norm):
    result = clip_by_global_norm([g.copy() for g in grads], max_norm)
    clipped, norm = _pair(result, "clip_by_global_norm")
    if len(clipped) != len(grads):
        raise CheckFailed(f"expected {len(grads)} clipped gradients, got {len(clipped)}")
    return clipped, norm


@public_check("2.1", "large gradients: matches tf.clip_by_global_norm (values and global norm)")
def _clip_large(clip_by_global_norm):
    import tensorflow as tf

    grads = _grads(5, 10.0)
    expected, expected_norm = tf.clip_by_global_norm([tf.constant(g) for g in grads], 1.0)
    clipped, norm = _clip(clip_by_global_norm, grads, 1.0)
    assert_close(
        np.asarray(norm, dtype="float64").reshape(()),
        float(expected_norm),
        "global norm",
        atol=1e-8,
    )
    for i, (a, e) in enumerate(zip(clipped, expected, strict=True)):
        assert_close(a, np.asarray(e), f"clipped gradient {i}", atol=1e-8)


@public_check("2.1", "small gradients (global norm below max_norm) come back unchanged")
def _clip_small(clip_by_global_norm):
    grads = _grads(6, 0.01)
    clipped, _ = _clip(clip_by_global_norm, grads, 5.0)
    for i, (a, g) in enumerate(zip(clipped, grads, strict=True)):
        assert_close(a, g, f"gradient {i}", atol=1e-12)


# ---------------------------------------------------------------- shared by 2.2 and 2.3


def _data(seed: int, gates: int, bias_shape=None):
    """Random float64 inputs, states and weights for a cell with ``gates`` blocks."""
    rng = fresh_rng(seed)
    return {
        "x": rng.normal(size=(BATCH, FEATURES)),
        "h": rng.normal(size=(BATCH, UNITS)) * 0.5,
        "c": rng.normal(size=(BATCH, UNITS)),
        "W_x": rng.normal(size=(FEATURES, gates * UNITS)) * 0.5,
        "W_h": rng.normal(size=(UNITS, gates * UNITS)) * 0.5,
        "b": rng.normal(size=bias_shape or (gates * UNITS,)) * 0.5,
    }


def _blocks(w, order, gates):
    """``w`` with its ``units``-wide blocks (last axis) taken in ``order``."""
    parts = np.split(np.asarray(w), gates, axis=-1)
    return np.concatenate([parts[k] for k in order], axis=-1)


def _keras_step(name: str, d, reset_after: bool = True):
    """One step of Keras' ``LSTMCell`` or ``GRUCell`` with the weights of ``d``, as arrays."""
    import keras

    kwargs = {} if name == "LSTMCell" else {"reset_after": reset_after}
    cell = getattr(keras.layers, name)(UNITS, dtype="float64", **kwargs)
    cell.build((None, FEATURES))
    cell.set_weights([d["W_x"], d["W_h"], d["b"]])
    states = [d["h"], d["c"]] if name == "LSTMCell" else [d["h"]]
    h, new_states = cell(d["x"], states)
    return np.asarray(h), np.asarray(new_states[-1])


def _matches(actual, expected) -> bool:
    return all(
        np.shape(a) == np.shape(e) and np.allclose(a, e, atol=1e-6)
        for a, e in zip(actual, expected, strict=True)
    )


# ---------------------------------------------------------------- the step inside a layer
#
# Probe (in the student's kernel): the step function becomes the step of a cell inside
# keras.layers.RNN, run in a tf.function on a batch of sequences with the grader's weights;
# it returns the outputs and the gradients of their sum. Judge (here): Keras' own LSTM / GRU
# layer with the same weights, differentiated by tf.GradientTape.


def _keras_layer(kind: str, weights, sequences):
    """The oracle: Keras' LSTM or GRU layer with ``weights``, outputs and gradients of their
    sum (float32, like the probe)."""
    import keras
    import tensorflow as tf

    layer = (keras.layers.LSTM if kind == "lstm" else keras.layers.GRU)(
        weights[1].shape[0], return_sequences=True
    )
    layer.build((None, None, sequences.shape[-1]))
    layer.set_weights([np.asarray(w, "float32") for w in weights])
    with tf.GradientTape() as tape:
        outputs = layer(tf.constant(sequences, tf.float32))
        total = tf.reduce_sum(outputs)
    return np.asarray(outputs), [np.asarray(g) for g in tape.gradient(total, layer.weights)]


def _check_in_layer(step_function, kind: str, seed: int) -> None:
    gates = 4 if kind == "lstm" else 3
    d = _data(seed, gates, None if kind == "lstm" else (2, 3 * UNITS))
    weights = [d["W_x"], d["W_h"], d["b"]]
    sequences = fresh_rng(seed + 1).normal(size=(BATCH, TIME, FEATURES))
    seen = probe_with(step_function, layer_probe, kind, weights, sequences)
    if not isinstance(seen, dict):
        raise CheckFailed("the step could not be probed inside a layer: malformed reply")
    if "error" in seen:
        raise CheckFailed(
            "inside keras.layers.RNN (traced by tf.function, symbolic tensors) your step "
            f"failed: {str(seen['error'])[:300]}. Write it with keras.ops (ops.matmul or @, "
            "ops.split, ops.sigmoid, ops.tanh), not NumPy, so a layer can run and train it"
        )
    outputs, gradients = _keras_layer(kind, weights, sequences)
    if not isinstance(seen.get("gradients"), list) or len(seen["gradients"]) != 3:
        raise CheckFailed("the step could not be probed inside a layer: malformed reply")
    assert_close(seen.get("outputs"), outputs, "the layer output", atol=1e-4)
    for got, want, name in zip(seen["gradients"], gradients, ("W_x", "W_h", "b"), strict=True):
        assert_close(got, want, f"the gradient of {name} through the layer", atol=1e-3)


# ---------------------------------------------------------------- 2.2 lstm_cell_forward


def _lstm(lstm_cell_forward, d):
    h, c = _pair(
        lstm_cell_forward(d["x"], d["h"], d["c"], d["W_x"], d["W_h"], d["b"]), "lstm_cell_forward"
    )
    return assert_shape(h, (BATCH, UNITS), "h_t"), assert_shape(c, (BATCH, UNITS), "c_t")


def _lstm_gate_order(actual, d) -> tuple[str, ...] | None:
    """The gate order (if any other than Keras') in which ``actual`` is a correct LSTM."""
    for order in itertools.permutations(range(4)):
        if order == (0, 1, 2, 3):
            continue
        # the student reads block k as gate LSTM_GATES[order[k]]: Keras needs block order^-1
        inverse = np.argsort(order)
        moved = {**d, **{k: _blocks(d[k], inverse, 4) for k in ("W_x", "W_h", "b")}}
        if _matches(actual, _keras_step("LSTMCell", moved)):
            return tuple(LSTM_GATES[k] for k in order)
    return None


@public_check("2.2", "returns (h_t, c_t), each of shape (batch, units)", gate=True)
def _lstm_shapes(lstm_cell_forward):
    _lstm(lstm_cell_forward, _data(1, 4))


@public_check("2.2", "matches keras.layers.LSTMCell (gate order i, f, c, o) with the same weights")
def _lstm_matches_keras(lstm_cell_forward):
    d = _data(2, 4)
    actual = _lstm(lstm_cell_forward, d)
    expected = _keras_step("LSTMCell", d)
    if _matches(actual, expected):
        return
    order = _lstm_gate_order(actual, d)
    if order:
        raise CheckFailed(
            f"your cell reads the four blocks of W_x, W_h and b as {', '.join(order)}: a "
            "correct LSTM with the gates in another order. Keras (and PyTorch) store them as "
            "input, forget, candidate, output"
        )
    assert_close(actual[1], expected[1], "c_t", atol=1e-6)
    assert_close(actual[0], expected[0], "h_t", atol=1e-6)


@public_check("2.2", "runs and trains inside keras.layers.RNN: outputs and gradients match LSTM")
def _lstm_in_layer(lstm_cell_forward):
    _check_in_layer(lstm_cell_forward, "lstm", 3)


def assert_lstm_step(lstm_cell_forward, seed: int = 0) -> None:
    """Hidden tests of 2.2: properties that hold for any weights, with no Keras in the loop.
    Forget gate shut and input gate open (biases of +-50): c_t is the candidate tanh(g);
    forget open and input shut: c_t = c_prev; output gate shut: h_t = 0."""
    d = _data(seed, 4)
    zero = {**d, "W_x": np.zeros_like(d["W_x"]), "W_h": np.zeros_like(d["W_h"])}
    rng = fresh_rng(seed + 1)
    g = rng.normal(size=UNITS)
    cases = [
        ((-50, 50, 0, 50), "c", "with the input gate shut and the forget gate open, c_t = c_prev"),
        ((50, -50, 1, 50), "g", "with the forget gate shut and the input gate open, c_t = tanh(g)"),
        ((50, 50, 1, -50), "h0", "with the output gate shut, h_t = 0"),
    ]
    for (i, f, use_g, o), want, why in cases:
        b = np.concatenate([np.full(UNITS, i), np.full(UNITS, f), g * use_g, np.full(UNITS, o)])
        h, c = _lstm(lstm_cell_forward, {**zero, "b": b.astype("float64")})
        if want == "c" and not np.allclose(c, d["c"], atol=1e-6):
            raise CheckFailed(why)
        if want == "g" and not np.allclose(c, np.tanh(g) * np.ones((BATCH, 1)), atol=1e-6):
            raise CheckFailed(why + " (is the forget or the input gate in another block?)")
        if want == "h0" and not np.allclose(h, 0, atol=1e-6):
            raise CheckFailed(why + " (is the output gate in the fourth block?)")


# ---------------------------------------------------------------- 2.3 gru_cell_forward


def _gru(gru_cell_forward, d):
    return assert_shape(
        gru_cell_forward(d["x"], d["h"], d["W_x"], d["W_h"], d["b"]), (BATCH, UNITS), "h_t"
    )


def _gru_mistake(gru_cell_forward, actual, d) -> str | None:
    """Which classic wrong GRU ``actual`` is, recognised by Keras on rearranged weights."""
    flipped = {**d}
    for k in ("W_x", "W_h", "b"):  # negate the update block: sigmoid(-a) = 1 - sigmoid(a)
        w = np.array(d[k])
        w[..., :UNITS] *= -1
        flipped[k] = w
    if _matches((actual,), _keras_step("GRUCell", flipped)[:1]):
        return (
            "your h_t is (1 - z) * h_prev + z * candidate: the update convention of many "
            "courses and of Wikipedia's GRU page. Keras (and PyTorch, cuDNN, Cho et al.) keep the "
            "old state where z is near 1: h_t = z * h_prev + (1 - z) * candidate"
        )
    for order in itertools.permutations(range(3)):
        if order == (0, 1, 2):
            continue
        inverse = np.argsort(order)
        moved = {**d, **{k: _blocks(d[k], inverse, 3) for k in ("W_x", "W_h", "b")}}
        if _matches((actual,), _keras_step("GRUCell", moved)[:1]):
            names = ", ".join(GRU_GATES[k] for k in order)
            return (
                f"your cell reads the three blocks as {names}: Keras stores them as update, "
                "reset, candidate"
            )
    no_recurrent_bias = {**d, "b": np.stack([d["b"][0], np.zeros(3 * UNITS)])}
    before = {**no_recurrent_bias, "b": d["b"][0]}
    if _matches(
        (_gru(gru_cell_forward, no_recurrent_bias),), _keras_step("GRUCell", before, False)[:1]
    ):
        return (
            "you apply the reset gate before the recurrent product, tanh(x W + (r * h_prev) W_h), "
            "which is Keras' reset_after=False. Keras' default, reset_after=True (the form cuDNN "
            "runs), applies it after: tanh(x W + b_x + r * (h_prev W_h + b_h))"
        )
    return None


@public_check("2.3", "returns h_t of shape (batch, units)", gate=True)
def _gru_shape(gru_cell_forward):
    _gru(gru_cell_forward, _data(4, 3, (2, 3 * UNITS)))


@public_check("2.3", "matches keras.layers.GRUCell(reset_after=True) with the same weights")
def _gru_matches_keras(gru_cell_forward):
    d = _data(5, 3, (2, 3 * UNITS))
    actual = _gru(gru_cell_forward, d)
    expected = _keras_step("GRUCell", d)[0]
    if _matches((actual,), (expected,)):
        return
    mistake = _gru_mistake(gru_cell_forward, actual, d)
    if mistake:
        raise CheckFailed(mistake)
    assert_close(actual, expected, "h_t", atol=1e-6)


@public_check("2.3", "runs and trains inside keras.layers.RNN: outputs and gradients match GRU")
def _gru_in_layer(gru_cell_forward):
    _check_in_layer(gru_cell_forward, "gru", 6)


def assert_gru_step(gru_cell_forward, seed: int = 0) -> None:
    """Hidden tests of 2.3: properties that hold for any weights, with no Keras in the loop.
    Update gate at 1: h_t = h_prev. Update and reset gates at 0: h_t = tanh(x_t W_xh + b_xh),
    since the reset gate multiplies the whole recurrent part h_prev W_hh + b_hh."""
    d = _data(seed, 3, (2, 3 * UNITS))
    b = np.zeros((2, 3 * UNITS))
    b[0, :UNITS] = 50.0  # z = 1
    kept = _gru(gru_cell_forward, {**d, "b": b})
    if not np.allclose(kept, d["h"], atol=1e-6):
        raise CheckFailed(
            "with the update gate at 1 (z = 1), h_t should equal h_prev: Keras keeps the old "
            "state where z is near 1 (other courses write the update with z and 1 - z swapped)"
        )
    b = np.zeros((2, 3 * UNITS))
    b[0, :UNITS], b[0, UNITS : 2 * UNITS] = -50.0, -50.0  # z = 0, r = 0
    b[1, 2 * UNITS :] = fresh_rng(seed + 1).normal(size=UNITS)  # b_hh, multiplied by r = 0
    fresh = _gru(gru_cell_forward, {**d, "b": b})
    want = np.tanh(d["x"] @ d["W_x"][:, 2 * UNITS :])
    if not np.allclose(fresh, want, atol=1e-6):
        raise CheckFailed(
            "with z = 0 and r = 0, h_t should be tanh(x_t W_xh + b_xh): the reset gate multiplies "
            "the whole recurrent part h_prev W_hh + b_hh (reset after the product)"
        )
