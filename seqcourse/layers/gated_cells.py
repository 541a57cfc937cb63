"""LSTM and GRU cells written with ``keras.ops``, weight-compatible with Keras' own cells.

Each step is also a plain function (:func:`lstm_step`, :func:`gru_step`) on tensors or NumPy
arrays: the reference notebook 02 falls back to while its exercises are not attempted.
"""

from __future__ import annotations

import keras
from keras import ops

from seqcourse.layers.base import ScratchCell


def _lstm_update(z, c_prev, activation, recurrent_activation):
    """The LSTM update from the pre-activations ``z`` (batch, 4*units), gates in Keras' order
    input, forget, candidate, output -> ``(h_t, gates)``; ``gates["cell"]`` is ``c_t``."""
    i, f, g, o = ops.split(z, 4, axis=-1)
    i, f, o = recurrent_activation(i), recurrent_activation(f), recurrent_activation(o)
    g = activation(g)
    c = f * c_prev + i * g
    return o * activation(c), {"input": i, "forget": f, "candidate": g, "output": o, "cell": c}


def _gru_update(x_part, h_part, h_prev, activation, recurrent_activation):
    """The GRU update (reset after the recurrent product) from ``x_t W_x + b_x`` and
    ``h_{t-1} W_h + b_h``, each (batch, 3*units) in the order update, reset, candidate
    -> ``(h_t, gates)``."""
    xz, xr, xh = ops.split(x_part, 3, axis=-1)
    hz, hr, hh = ops.split(h_part, 3, axis=-1)
    z = recurrent_activation(xz + hz)
    r = recurrent_activation(xr + hr)
    candidate = activation(xh + r * hh)
    return z * h_prev + (1.0 - z) * candidate, {"update": z, "reset": r, "candidate": candidate}


def lstm_step(x_t, h_prev, c_prev, W_x, W_h, b):
    """One LSTM step with Keras' default activations (sigmoid gates, tanh), in ``keras.ops``.

    Args:
        x_t: (batch, features); h_prev, c_prev: (batch, units).
        W_x: (features, 4*units); W_h: (units, 4*units); b: (4*units,), gates in Keras'
            order input, forget, candidate, output.

    Returns:
        ``(h_t, c_t)``, each (batch, units).

    Example:
        >>> h, c = lstm_step(np.ones((2, 3)), np.zeros((2, 4)), np.zeros((2, 4)),
        ...                  np.zeros((3, 16)), np.zeros((4, 16)), np.zeros(16))
        >>> tuple(h.shape), float(c[0, 0])   # all gates 0.5, candidate tanh(0) = 0
        ((2, 4), 0.0)
    """
    z = ops.matmul(x_t, W_x) + ops.matmul(h_prev, W_h) + b
    h, gates = _lstm_update(z, c_prev, ops.tanh, ops.sigmoid)
    return h, gates["cell"]


def gru_step(x_t, h_prev, W_x, W_h, b):
    """One GRU step as Keras computes it by default (``reset_after=True``), in ``keras.ops``.

    Args:
        x_t: (batch, features); h_prev: (batch, units).
        W_x: (features, 3*units); W_h: (units, 3*units), blocks in the order update, reset,
            candidate; b: (2, 3*units), the input bias then the recurrent bias.

    Returns:
        ``h_t``, (batch, units).

    Example:
        >>> b = np.zeros((2, 12))
        >>> b[0, :4] = 50.0   # update gate z = 1: the old state is kept
        >>> h = gru_step(np.ones((2, 3)), np.full((2, 4), 0.3), np.zeros((3, 12)),
        ...              np.zeros((4, 12)), b)
        >>> np.round(np.asarray(h)[0], 3).tolist()
        [0.3, 0.3, 0.3, 0.3]
    """
    x_part = ops.matmul(x_t, W_x) + b[0]
    h_part = ops.matmul(h_prev, W_h) + b[1]
    return _gru_update(x_part, h_part, h_prev, ops.tanh, ops.sigmoid)[0]


@keras.saving.register_keras_serializable(package="seqcourse")
class ScratchLSTMCell(ScratchCell):
    """Long short-term memory cell (Hochreiter & Schmidhuber, 1997) for ``keras.layers.RNN``.

    With gates stacked in Keras' order input, forget, candidate, output::

        i, f, g, o = split(x_t W_x + h_{t-1} W_h + b, 4)
        c_t = sigmoid(f) * c_{t-1} + sigmoid(i) * tanh(g)
        h_t = sigmoid(o) * tanh(c_t)

    Weights match ``keras.layers.LSTMCell``: ``kernel`` (features, 4*units),
    ``recurrent_kernel`` (units, 4*units), ``bias`` (4*units,).

    Args:
        units: size of the hidden state ``h`` and of the cell state ``c``.
        unit_forget_bias: as in Keras, start the forget gate's bias at 1 (the other three
            blocks come from ``bias_initializer``, whatever it is), so that the cell keeps
            its memory at the start of training. Default ``True``.
        activation: candidate and output activation (default ``"tanh"``).
        recurrent_activation: gate activation (default ``"sigmoid"``).
        use_bias, kernel_initializer, recurrent_initializer, bias_initializer: as in
            ``keras.layers.LSTMCell``.

    Call arguments:
        inputs: one time step, ``(batch, features)``.
        states: ``[h_{t-1}, c_{t-1}]``, each ``(batch, units)``.
        training: unused (no dropout); accepted for ``keras.layers.RNN``.

    Returns:
        ``(h_t, [h_t, c_t])``. :meth:`step` also returns the gate activations
        ``{"input", "forget", "candidate", "output", "cell"}``, each ``(batch, units)``.

    Example:
        >>> layer = keras.layers.RNN(ScratchLSTMCell(4), return_state=True)
        >>> h, h_again, c = layer(np.zeros((2, 5, 3), "float32"))   # (batch, time, features)
        >>> tuple(h.shape), tuple(c.shape)
        ((2, 4), (2, 4))
        >>> cell = ScratchLSTMCell(2, bias_initializer="zeros")
        >>> cell.build((None, 3))
        >>> np.asarray(cell.bias).tolist()   # input, forget, candidate, output blocks
        [0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    """

    GATES = 4

    def __init__(self, units: int, unit_forget_bias: bool = True, **kwargs):
        super().__init__(units, **kwargs)
        self.unit_forget_bias = unit_forget_bias
        self.state_size = [units, units]

    def bias_initializer_for_build(self):
        """Keras' rule: ones for the forget block, ``bias_initializer`` for the other three."""
        if not self.unit_forget_bias:
            return self.bias_initializer
        units, initializer = self.units, self.bias_initializer

        def forget_ones(_, *args, **kwargs):
            return ops.concatenate(
                [
                    initializer((units,), *args, **kwargs),
                    keras.initializers.get("ones")((units,), *args, **kwargs),
                    initializer((2 * units,), *args, **kwargs),
                ]
            )

        return forget_ones

    def step(self, inputs, states):
        h_prev, c_prev = states
        z = ops.matmul(inputs, self.kernel) + ops.matmul(h_prev, self.recurrent_kernel)
        if self.bias is not None:
            z = z + self.bias
        h, gates = _lstm_update(z, c_prev, self.activation, self.recurrent_activation)
        return h, [h, gates["cell"]], gates

    def get_config(self):
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}


@keras.saving.register_keras_serializable(package="seqcourse")
class ScratchGRUCell(ScratchCell):
    """Gated recurrent unit (Cho et al., 2014), Keras' ``reset_after=True`` variant.

    With blocks in Keras' order update, reset, candidate::

        xz, xr, xh = split(x_t W_x + b_x, 3);  hz, hr, hh = split(h_{t-1} W_h + b_h, 3)
        z = sigmoid(xz + hz);  r = sigmoid(xr + hr)
        h~ = tanh(xh + r * hh)                 # reset applied *after* the matrix product
        h_t = z * h_{t-1} + (1 - z) * h~       # z near 1 keeps the old state

    Weights match ``keras.layers.GRUCell(reset_after=True)`` (the default, and the form cuDNN
    runs): ``kernel`` (features, 3*units), ``recurrent_kernel`` (units, 3*units) and
    ``bias`` (2, 3*units) holding ``b_x`` and ``b_h``.

    Args:
        units: size of the hidden state.
        activation: candidate activation (default ``"tanh"``).
        recurrent_activation: gate activation (default ``"sigmoid"``).
        use_bias, kernel_initializer, recurrent_initializer, bias_initializer: as in
            ``keras.layers.GRUCell``.

    Call arguments:
        inputs: one time step, ``(batch, features)``.
        states: ``[h_{t-1}]``, ``(batch, units)``.
        training: unused (no dropout); accepted for ``keras.layers.RNN``.

    Returns:
        ``(h_t, [h_t])``. :meth:`step` also returns ``{"update", "reset", "candidate"}``,
        each ``(batch, units)``.

    Example:
        >>> layer = keras.layers.RNN(ScratchGRUCell(4), return_sequences=True)
        >>> tuple(layer(np.zeros((2, 5, 3), "float32")).shape)   # (batch, time, units)
        (2, 5, 4)
    """

    GATES = 3

    def bias_shape(self):
        return (2, 3 * self.units)

    def step(self, inputs, states):
        h_prev = states[0]
        x_part = ops.matmul(inputs, self.kernel)
        h_part = ops.matmul(h_prev, self.recurrent_kernel)
        if self.bias is not None:
            x_part = x_part + self.bias[0]
            h_part = h_part + self.bias[1]
        h, gates = _gru_update(x_part, h_part, h_prev, self.activation, self.recurrent_activation)
        return h, [h], gates
