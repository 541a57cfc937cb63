"""LSTM and GRU cells written with ``keras.ops``, weight-compatible with Keras' own cells."""

from __future__ import annotations

import keras
from keras import ops

from seqcourse.layers.base import ScratchCell


@keras.saving.register_keras_serializable(package="seqcourse")
class ScratchLSTMCell(ScratchCell):
    """Long short-term memory cell (Hochreiter & Schmidhuber, 1997) for ``keras.layers.RNN``.

    With gates stacked in Keras' order input, forget, candidate, output::

        i, f, g, o = split(x_t W_x + h_{t-1} W_h + b, 4)
        c_t = sigmoid(f) * c_{t-1} + sigmoid(i) * tanh(g)
        h_t = sigmoid(o) * tanh(c_t)

    Weights match ``keras.layers.LSTMCell``: ``kernel`` (features, 4*units),
    ``recurrent_kernel`` (units, 4*units), ``bias`` (4*units,). Like Keras, the forget-gate
    bias starts at 1 (``unit_forget_bias=True``) so that memory is kept at the start of training.

    Call arguments:
        inputs: ``(batch, features)``; states: ``[h_{t-1}, c_{t-1}]``, each ``(batch, units)``.

    Returns:
        ``(h_t, [h_t, c_t])``. :meth:`step` also returns the gate activations
        ``{"input", "forget", "candidate", "output", "cell"}``, each ``(batch, units)``.
    """

    GATES = 4

    def __init__(self, units: int, unit_forget_bias: bool = True, **kwargs):
        super().__init__(units, **kwargs)
        self.unit_forget_bias = unit_forget_bias
        self.state_size = [units, units]

    def build(self, input_shape):
        super().build(input_shape)
        if self.bias is not None and self.unit_forget_bias:
            forget_ones = ops.concatenate(
                [
                    ops.zeros((self.units,)),
                    ops.ones((self.units,)),
                    ops.zeros((2 * self.units,)),
                ]
            )
            self.bias.assign(self.bias + ops.cast(forget_ones, self.bias.dtype))

    def step(self, inputs, states):
        h_prev, c_prev = states
        z = ops.matmul(inputs, self.kernel) + ops.matmul(h_prev, self.recurrent_kernel)
        if self.bias is not None:
            z = z + self.bias
        i, f, g, o = ops.split(z, 4, axis=-1)
        i, f, o = (
            self.recurrent_activation(i),
            self.recurrent_activation(f),
            self.recurrent_activation(o),
        )
        g = self.activation(g)
        c = f * c_prev + i * g
        h = o * self.activation(c)
        return h, [h, c], {"input": i, "forget": f, "candidate": g, "output": o, "cell": c}

    def get_config(self):
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}


@keras.saving.register_keras_serializable(package="seqcourse")
class ScratchGRUCell(ScratchCell):
    """Gated recurrent unit (Cho et al., 2014), Keras' ``reset_after=True`` variant.

    With blocks in Keras' order update, reset, candidate::

        xz, xr, xh = split(x_t W_x + b_x, 3);  hz, hr, hh = split(h_{t-1} W_h + b_h, 3)
        z = sigmoid(xz + hz);  r = sigmoid(xr + hr)
        h~ = tanh(xh + r * hh)                 # reset applied *after* the matrix product
        h_t = z * h_{t-1} + (1 - z) * h~

    Weights match ``keras.layers.GRUCell(reset_after=True)`` (the default, and the form cuDNN
    runs): ``kernel`` (features, 3*units), ``recurrent_kernel`` (units, 3*units) and
    ``bias`` (2, 3*units) holding ``b_x`` and ``b_h``.

    Returns:
        ``(h_t, [h_t])``. :meth:`step` also returns ``{"update", "reset", "candidate"}``.
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
        xz, xr, xh = ops.split(x_part, 3, axis=-1)
        hz, hr, hh = ops.split(h_part, 3, axis=-1)
        z = self.recurrent_activation(xz + hz)
        r = self.recurrent_activation(xr + hr)
        candidate = self.activation(xh + r * hh)
        h = z * h_prev + (1.0 - z) * candidate
        return h, [h], {"update": z, "reset": r, "candidate": candidate}
