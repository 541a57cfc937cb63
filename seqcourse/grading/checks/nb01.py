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

# Keras' cells and autodiff, and the course's NumPy references (seqcourse.numpy_rnn: a module
# use, or an import of the exercise's own reference function under another name).
_RNN_APIS = (
    "SimpleRNNCell", "SimpleRNN", "ScratchRNNCell", "RNN", "GradientTape", "gradients", "numpy_rnn"
)  # fmt: skip
replaces("1.1", *_RNN_APIS, "rnn_cell_forward")
replaces("1.2", *_RNN_APIS, "rnn_forward")
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


# ---------------------------------------------------------------- 1.4 rnn_backward
#
# Oracles: tf.GradientTape on Keras' SimpleRNN -> Dense -> SparseCategoricalCrossentropy (public
# check), central finite differences of a float64 forward pass (assert_bptt, hidden tests).
# Wrong answers the checks recognise: the gradient of the sum over steps (T times too large),
# of the sum over the batch (B times), and a loop that runs forward in time.

CLASSES = 3
_PARAMS = ("W_x", "W_h", "b", "W_y", "b_y")
replaces("1.4", *_RNN_APIS, "jacobian", "rnn_backward")


def _sequence_case(seed: int, batch: int = BATCH, time: int = TIME):
    """Random float64 weights, inputs and targets of a many-to-many RNN with CLASSES classes."""
    rng = fresh_rng(seed)
    return {
        "xs": rng.normal(size=(batch, time, FEATURES)),
        "h0": rng.normal(size=(batch, UNITS)) * 0.5,
        "W_x": rng.normal(size=(FEATURES, UNITS)) * 0.5,
        "W_h": rng.normal(size=(UNITS, UNITS)) * 0.5,
        "b": rng.normal(size=(UNITS,)) * 0.1,
        "W_y": rng.normal(size=(UNITS, CLASSES)),
        "b_y": rng.normal(size=(CLASSES,)) * 0.1,
        "targets": rng.integers(0, CLASSES, size=(batch, time)),
    }


def _mean_loss(case, weights):
    """Forward pass in float64 -> (mean per-step cross-entropy, states, probabilities)."""
    h, states = case["h0"], []
    for t in range(case["xs"].shape[1]):
        h = np.tanh(case["xs"][:, t] @ weights["W_x"] + h @ weights["W_h"] + weights["b"])
        states.append(h)
    hs = np.stack(states, axis=1)
    logits = hs @ weights["W_y"] + weights["b_y"]
    logits = logits - logits.max(axis=-1, keepdims=True)
    log_p = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    picked = np.take_along_axis(log_p, case["targets"][..., None], axis=-1)
    return -picked.mean(), hs, np.exp(log_p)


def _numerical_gradients(case, eps: float = 1e-6):
    """Central finite differences of the mean loss for every weight (the hidden tests' oracle)."""
    weights = {k: case[k] for k in _PARAMS}
    grads = {}
    for name in _PARAMS:
        grad = np.zeros_like(weights[name])
        for index in np.ndindex(grad.shape):
            moved = []
            for sign in (1, -1):
                nudged = dict(weights, **{name: weights[name].copy()})
                nudged[name][index] += sign * eps
                moved.append(_mean_loss(case, nudged)[0])
            grad[index] = (moved[0] - moved[1]) / (2 * eps)
        grads[name] = grad
    return grads


def _tape_gradients(case):
    """tf.GradientTape on Keras' layers with the same weights: states, probabilities, gradients."""
    import keras
    import tensorflow as tf

    rnn = keras.layers.SimpleRNN(UNITS, return_sequences=True, dtype="float64")
    readout = keras.layers.Dense(CLASSES, dtype="float64")
    rnn.build((None, None, FEATURES))
    readout.build((None, UNITS))
    rnn.set_weights([case["W_x"], case["W_h"], case["b"]])
    readout.set_weights([case["W_y"], case["b_y"]])
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True, dtype="float64")
    with tf.GradientTape() as tape:
        hs = rnn(case["xs"], initial_state=[tf.constant(case["h0"])])
        logits = readout(hs)
        loss = loss_fn(case["targets"], logits)
    weights = [*rnn.trainable_weights, *readout.trainable_weights]
    grads = dict(zip(_PARAMS, (np.asarray(g) for g in tape.gradient(loss, weights)), strict=True))
    return np.asarray(hs), np.asarray(tf.nn.softmax(logits)), grads


def _call_bptt(rnn_backward, case, hs, probs):
    result = rnn_backward(
        case["xs"], case["h0"], hs, probs, case["targets"], case["W_x"], case["W_h"], case["W_y"]
    )
    if not isinstance(result, dict) or set(result) != set(_PARAMS):
        keys = sorted(result) if isinstance(result, dict) else type(result).__name__
        raise CheckFailed(
            f"rnn_backward should return a dict with the keys {list(_PARAMS)}, got {keys}"
        )
    for name in _PARAMS:
        assert_shape(result[name], case[name].shape, f"the gradient of {name}")
    return {k: np.asarray(result[k], dtype="float64") for k in _PARAMS}


def _forward_in_time(case, hs, probs):
    """The gradients a loop running *forward* in time computes (a classic mistake): each step
    receives the gradient of the step before it instead of the step after it."""
    batch, time = case["targets"].shape
    d_logits = probs - np.eye(CLASSES)[case["targets"]]
    d_out = d_logits @ case["W_y"].T / (batch * time)
    grads = {k: np.zeros_like(case[k]) for k in ("W_x", "W_h", "b")}
    dh_passed = np.zeros_like(case["h0"])
    for t in range(time):
        dz = (d_out[:, t] + dh_passed) * (1.0 - hs[:, t] ** 2)
        grads["W_x"] += case["xs"][:, t].T @ dz
        grads["W_h"] += (case["h0"] if t == 0 else hs[:, t - 1]).T @ dz
        grads["b"] += dz.sum(axis=0)
        dh_passed = dz @ case["W_h"].T
    return grads


def _close(a, b) -> bool:
    return bool(np.allclose(a, b, rtol=1e-5, atol=1e-9))


def _judge_bptt(actual, expected, case, hs, probs, oracle: str) -> None:
    """CheckFailed naming the mistake when ``actual`` is not the gradient ``expected``."""
    wrong = [k for k in _PARAMS if not _close(actual[k], expected[k])]
    if not wrong:
        return
    batch, time = case["targets"].shape
    scalings = {
        time: f"T = {time} times the gradient of the mean over steps: you differentiated the "
        "sum over steps. The loss is the mean, so d_logits carries 1/T (and 1/B for the batch)",
        batch: f"B = {batch} times too large: the loss is also averaged over the batch, so "
        "d_logits carries 1/B",
        batch * time: f"B x T = {batch * time} times too large: d_logits must be divided by "
        "batch x time (the loss is the mean over both)",
        1 / time: f"1/T = 1/{time} of the gradient: the 1/T of the mean was applied twice",
    }
    for factor, why in scalings.items():
        if all(_close(actual[k], factor * expected[k]) for k in _PARAMS):
            raise CheckFailed(f"every gradient is {why}")
    loop = ("W_x", "W_h", "b")
    if time > 1 and all(_close(actual[k], v) for k, v in _forward_in_time(case, hs, probs).items()):
        raise CheckFailed(
            "the gradients of W_x, W_h and b are those of a loop running forward in time: BPTT "
            "walks backwards, t = T-1 down to 0, and step t receives dh_prev from step t+1"
        )
    hint = ""
    if set(wrong) <= set(loop):
        hint = (
            "; W_y and b_y are right, so look at the loop through time: the gradient step t "
            "passes to step t-1, and h_prev (h0 at t = 0)"
        )
    name = wrong[0]
    try:
        assert_close(actual[name], expected[name], f"the gradient of {name}", atol=1e-7)
    except CheckFailed as err:
        raise CheckFailed(f"{err}; expected values from {oracle}{hint}") from None
    raise CheckFailed(f"the gradient of {name} differs from {oracle} (relative error > 1e-5)")


@public_check(
    "1.4", "returns a dict of gradients W_x, W_h, b, W_y, b_y shaped like the weights", gate=True
)
def _bptt_shapes(rnn_backward):
    case = _sequence_case(7)
    _, hs, probs = _mean_loss(case, case)
    _call_bptt(rnn_backward, case, hs, probs)


@public_check(
    "1.4",
    "gradients of the mean per-step loss match tf.GradientTape on keras.layers.SimpleRNN",
)
def _bptt_matches_tape(rnn_backward):
    case = _sequence_case(8)
    hs, probs, expected = _tape_gradients(case)
    actual = _call_bptt(rnn_backward, case, hs, probs)
    _judge_bptt(actual, expected, case, hs, probs, "tf.GradientTape")


def assert_bptt(rnn_backward, batch: int, time: int, seed: int = 0) -> None:
    """Hidden tests of exercise 1.4: the gradients of the mean loss for other sizes against
    central finite differences in float64 (no Keras, no autodiff); CheckFailed if wrong."""
    case = _sequence_case(seed, batch, time)
    _, hs, probs = _mean_loss(case, case)
    actual = _call_bptt(rnn_backward, case, hs, probs)
    _judge_bptt(actual, _numerical_gradients(case), case, hs, probs, "finite differences")
