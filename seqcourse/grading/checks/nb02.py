"""Public checks of notebook 02 (LSTM and GRU). Oracles: Keras' LSTMCell, GRUCell and
``tf.clip_by_global_norm``."""

from __future__ import annotations

import numpy as np

from seqcourse.grading.public_checks import CheckFailed, assert_close, assert_shape, public_check

BATCH, FEATURES, UNITS = 3, 4, 5


def _data(seed: int, gates: int, bias_shape=None):
    """Random float64 inputs, states and weights for a cell with ``gates`` blocks."""
    rng = np.random.default_rng(seed)
    return {
        "x": rng.normal(size=(BATCH, FEATURES)),
        "h": rng.normal(size=(BATCH, UNITS)) * 0.5,
        "c": rng.normal(size=(BATCH, UNITS)),
        "W_x": rng.normal(size=(FEATURES, gates * UNITS)) * 0.5,
        "W_h": rng.normal(size=(UNITS, gates * UNITS)) * 0.5,
        "b": rng.normal(size=bias_shape or (gates * UNITS,)) * 0.5,
    }


def _keras_cell(name: str, d):
    import keras

    cell = getattr(keras.layers, name)(UNITS, dtype="float64")
    cell.build((None, FEATURES))
    cell.set_weights([d["W_x"], d["W_h"], d["b"]])
    return cell


def _pair(result, what: str):
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise CheckFailed(f"{what} should return a tuple of 2 arrays, got {type(result).__name__}")
    return result


# ---------------------------------------------------------------- 2.1 lstm_cell_forward


@public_check("2.1", "returns (h_t, c_t), each of shape (batch, units)")
def _lstm_shapes(lstm_cell_forward):
    d = _data(1, 4)
    h, c = _pair(
        lstm_cell_forward(d["x"], d["h"], d["c"], d["W_x"], d["W_h"], d["b"]), "lstm_cell_forward"
    )
    assert_shape(h, (BATCH, UNITS), "h_t")
    assert_shape(c, (BATCH, UNITS), "c_t")


@public_check("2.1", "matches keras.layers.LSTMCell (gate order i, f, c, o) with the same weights")
def _lstm_matches_keras(lstm_cell_forward):
    d = _data(2, 4)
    expected_h, (_, expected_c) = _keras_cell("LSTMCell", d)(d["x"], [d["h"], d["c"]])
    h, c = _pair(
        lstm_cell_forward(d["x"], d["h"], d["c"], d["W_x"], d["W_h"], d["b"]), "lstm_cell_forward"
    )
    assert_close(c, np.asarray(expected_c), "c_t", atol=1e-6)
    assert_close(h, np.asarray(expected_h), "h_t", atol=1e-6)


# ---------------------------------------------------------------- 2.2 gru_cell_forward


@public_check("2.2", "returns h_t of shape (batch, units)")
def _gru_shape(gru_cell_forward):
    d = _data(3, 3, (2, 3 * UNITS))
    assert_shape(
        gru_cell_forward(d["x"], d["h"], d["W_x"], d["W_h"], d["b"]), (BATCH, UNITS), "h_t"
    )


@public_check("2.2", "matches keras.layers.GRUCell(reset_after=True) with the same weights")
def _gru_matches_keras(gru_cell_forward):
    d = _data(4, 3, (2, 3 * UNITS))
    expected = np.asarray(_keras_cell("GRUCell", d)(d["x"], [d["h"]])[0])
    assert_close(
        gru_cell_forward(d["x"], d["h"], d["W_x"], d["W_h"], d["b"]), expected, "h_t", atol=1e-6
    )


# ---------------------------------------------------------------- 2.3 clip_by_global_norm


def _grads(seed: int, scale: float):
    rng = np.random.default_rng(seed)
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


@public_check("2.3", "large gradients: matches tf.clip_by_global_norm (values and global norm)")
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


@public_check("2.3", "small gradients (global norm below max_norm) come back unchanged")
def _clip_small(clip_by_global_norm):
    grads = _grads(6, 0.01)
    clipped, _ = _clip(clip_by_global_norm, grads, 5.0)
    for i, (a, g) in enumerate(zip(clipped, grads, strict=True)):
        assert_close(a, g, f"gradient {i}", atol=1e-12)
