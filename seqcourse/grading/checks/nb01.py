"""Public checks of notebook 01 (RNN from scratch). Oracles: Keras' SimpleRNN and GradientTape."""

from __future__ import annotations

import numpy as np

from seqcourse.grading.public_checks import (
    CheckFailed,
    assert_close,
    assert_shape,
    fresh_rng,
    public_check,
    replaces,
)

BATCH, FEATURES, UNITS, TIME = 3, 4, 5, 6

_RNN_APIS = ("SimpleRNNCell", "SimpleRNN", "ScratchRNNCell", "RNN", "GradientTape", "gradients")
replaces("1.1", *_RNN_APIS)
replaces("1.2", *_RNN_APIS)
replaces("1.3", *_RNN_APIS, "jacobian")


def _weights(seed: int):
    """Random float64 inputs and weights for a cell with FEATURES inputs and UNITS units."""
    rng = fresh_rng(seed)
    return {
        "x": rng.normal(size=(BATCH, FEATURES)),
        "xs": rng.normal(size=(BATCH, TIME, FEATURES)),
        "h": rng.normal(size=(BATCH, UNITS)) * 0.5,
        "W_x": rng.normal(size=(FEATURES, UNITS)) * 0.5,
        "W_h": rng.normal(size=(UNITS, UNITS)) * 0.5,
        "b": rng.normal(size=(UNITS,)) * 0.1,
    }


def _keras_cell(w):
    import keras

    cell = keras.layers.SimpleRNNCell(UNITS, dtype="float64")
    cell.build((None, FEATURES))
    cell.set_weights([w["W_x"], w["W_h"], w["b"]])
    return cell


# ---------------------------------------------------------------- 1.1 rnn_cell_forward


@public_check("1.1", "returns the new hidden state, shape (batch, units)", gate=True)
def _cell_shape(rnn_cell_forward):
    w = _weights(1)
    assert_shape(
        rnn_cell_forward(w["x"], w["h"], w["W_x"], w["W_h"], w["b"]), (BATCH, UNITS), "h_t"
    )


@public_check("1.1", "matches keras.layers.SimpleRNNCell with the same weights")
def _cell_matches_keras(rnn_cell_forward):
    w = _weights(2)
    expected = _keras_cell(w)(w["x"], [w["h"]])[0]
    actual = rnn_cell_forward(w["x"], w["h"], w["W_x"], w["W_h"], w["b"])
    assert_close(actual, np.asarray(expected), "h_t", atol=1e-6)


# ---------------------------------------------------------------- 1.2 rnn_forward


@public_check("1.2", "returns every hidden state, shape (batch, time, units)", gate=True)
def _seq_shape(rnn_forward):
    w = _weights(3)
    hs = rnn_forward(w["xs"], w["h"], w["W_x"], w["W_h"], w["b"])
    assert_shape(hs, (BATCH, TIME, UNITS), "hs")


@public_check("1.2", "matches keras.layers.SimpleRNN(return_sequences=True) from state h0")
def _seq_matches_keras(rnn_forward):
    import keras

    w = _weights(4)
    layer = keras.layers.SimpleRNN(UNITS, return_sequences=True, dtype="float64")
    layer.build((None, TIME, FEATURES))
    layer.set_weights([w["W_x"], w["W_h"], w["b"]])
    expected = np.asarray(layer(w["xs"], initial_state=[w["h"]]))
    actual = rnn_forward(w["xs"], w["h"], w["W_x"], w["W_h"], w["b"])
    assert_close(actual, expected, "hs", atol=1e-6)
    if np.allclose(expected[:, 0], np.asarray(actual)[:, -1]) and TIME > 1:
        raise CheckFailed("hs seems to be in reverse time order")


# ---------------------------------------------------------------- 1.3 rnn_step_backward

_GRAD_NAMES = ("dx_t", "dh_prev", "dW_x", "dW_h", "db")


def _keras_gradients(w, dh):
    """Gradients of sum(dh * h_t) w.r.t. x_t, h_prev, W_x, W_h, b, with h_t from Keras' cell."""
    import tensorflow as tf

    cell = _keras_cell(w)
    x = tf.constant(w["x"])
    h_prev = tf.constant(w["h"])
    with tf.GradientTape() as tape:
        tape.watch([x, h_prev])
        h_t = cell(x, [h_prev])[0]
        loss = tf.reduce_sum(tf.constant(dh) * h_t)
    grads = tape.gradient(loss, [x, h_prev, cell.kernel, cell.recurrent_kernel, cell.bias])
    return np.asarray(h_t), [np.asarray(g) for g in grads]


def _call_backward(rnn_step_backward, w, dh, h_t):
    result = rnn_step_backward(dh, w["x"], w["h"], h_t, w["W_x"], w["W_h"])
    if not isinstance(result, (tuple, list)) or len(result) != 5:
        raise CheckFailed(
            "rnn_step_backward should return a tuple of 5 arrays (dx_t, dh_prev, dW_x, dW_h, db), "
            f"got {type(result).__name__}"
            + (f" of length {len(result)}" if hasattr(result, "__len__") else "")
        )
    return result


@public_check(
    "1.3",
    "returns (dx_t, dh_prev, dW_x, dW_h, db) shaped like (x_t, h_prev, W_x, W_h, b)",
    gate=True,
)
def _backward_shapes(rnn_step_backward):
    w = _weights(5)
    dh = fresh_rng(50).normal(size=(BATCH, UNITS))
    h_t, _ = _keras_gradients(w, dh)
    result = _call_backward(rnn_step_backward, w, dh, h_t)
    shapes = [w["x"].shape, w["h"].shape, w["W_x"].shape, w["W_h"].shape, w["b"].shape]
    for value, shape, name in zip(result, shapes, _GRAD_NAMES, strict=True):
        assert_shape(value, shape, name)


@public_check("1.3", "matches tf.GradientTape on keras.layers.SimpleRNNCell")
def _backward_matches_tape(rnn_step_backward):
    w = _weights(6)
    dh = fresh_rng(60).normal(size=(BATCH, UNITS))
    h_t, expected = _keras_gradients(w, dh)
    result = _call_backward(rnn_step_backward, w, dh, h_t)
    for value, want, name in zip(result, expected, _GRAD_NAMES, strict=True):
        assert_close(value, want, name, atol=1e-8)
