"""Notebook 01's plain RNN in NumPy: one step, the loop over time, and backpropagation
through time.

The course's references for exercises 1.1, 1.2 and 1.4: notebook 01 runs them (announced)
only while the student's functions are still the release stubs. The loss of
:func:`rnn_backward` is notebook 01's: a linear read-out ``o_t = h_t W_y + b_y`` of the states
of ``h_t = tanh(x_t W_x + h_{t-1} W_h + b)``, softmax cross-entropy at every step, averaged
over the batch and over the ``T`` steps.
"""

from __future__ import annotations

import numpy as np


def rnn_cell_forward(x_t, h_prev, W_x, W_h, b):
    """One step: x_t (batch, features), h_prev (batch, units) -> h_t (batch, units).

    Example:
        >>> rnn_cell_forward(np.ones((1, 2)), np.zeros((1, 3)), np.zeros((2, 3)), np.eye(3),
        ...                  np.full(3, 0.5)).round(3).tolist()
        [[0.462, 0.462, 0.462]]
    """
    return np.tanh(x_t @ W_x + h_prev @ W_h + b)


def rnn_forward(xs, h0, W_x, W_h, b):
    """The same step at every time step: xs (batch, time, features), h0 (batch, units)
    -> every state, (batch, time, units)."""
    h, states = h0, []
    for t in range(xs.shape[1]):
        h = rnn_cell_forward(xs[:, t], h, W_x, W_h, b)
        states.append(h)
    return np.stack(states, axis=1)


def rnn_backward(xs, h0, hs, probs, targets, W_x, W_h, W_y):
    """Gradients of the mean per-step cross-entropy with respect to W_x, W_h, b, W_y, b_y.

    Args:
        xs: inputs, (batch, time, features).
        h0: initial state, (batch, units).
        hs: the states of the forward pass, (batch, time, units).
        probs: the softmax of the read-out at every step, (batch, time, classes).
        targets: class ids, (batch, time) ints.
        W_x, W_h, W_y: (features, units), (units, units), (units, classes).

    Returns:
        A dict of gradients shaped like the weights: ``W_x``, ``W_h``, ``b`` (units,),
        ``W_y`` and ``b_y`` (classes,).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> xs, h0 = rng.normal(size=(2, 3, 4)), np.zeros((2, 5))
        >>> hs, probs = np.tanh(rng.normal(size=(2, 3, 5))), np.full((2, 3, 6), 1 / 6)
        >>> grads = rnn_backward(xs, h0, hs, probs, np.zeros((2, 3), int),
        ...                      np.ones((4, 5)), np.eye(5), np.ones((5, 6)))
        >>> {name: g.shape for name, g in grads.items()}
        {'W_x': (4, 5), 'W_h': (5, 5), 'b': (5,), 'W_y': (5, 6), 'b_y': (6,)}
    """
    n_batch, n_time = targets.shape
    d_logits = probs.copy()
    np.put_along_axis(
        d_logits, targets[..., None], np.take_along_axis(probs, targets[..., None], -1) - 1, -1
    )
    d_logits /= n_batch * n_time  # the mean over the batch and over the T steps
    dhs_from_output = d_logits @ W_y.T
    dW_x, dW_h, db = np.zeros_like(W_x), np.zeros_like(W_h), np.zeros(W_h.shape[0])
    dh_future = np.zeros_like(h0)
    for t in reversed(range(n_time)):
        h_before = h0 if t == 0 else hs[:, t - 1]
        dz = (dhs_from_output[:, t] + dh_future) * (1.0 - hs[:, t] ** 2)
        dW_x += xs[:, t].T @ dz
        dW_h += h_before.T @ dz
        db += dz.sum(axis=0)
        dh_future = dz @ W_h.T
    return {
        "W_x": dW_x,
        "W_h": dW_h,
        "b": db,
        "W_y": np.einsum("btu,btc->uc", hs, d_logits),
        "b_y": d_logits.sum(axis=(0, 1)),
    }
