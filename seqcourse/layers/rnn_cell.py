"""The plain (Elman) recurrent cell, h_t = tanh(x_t W_x + h_{t-1} W_h + b), in ``keras.ops``."""

from __future__ import annotations

import keras
from keras import ops

from seqcourse.layers.base import ScratchCell


@keras.saving.register_keras_serializable(package="seqcourse")
class ScratchRNNCell(ScratchCell):
    """A plain recurrent cell computing ``h_t = activation(x_t @ W_x + h_{t-1} @ W_h + b)``.

    The cell processes one time step; wrap it in ``keras.layers.RNN`` to run it over a
    sequence. Its weights are named and ordered like ``keras.layers.SimpleRNNCell``
    (``kernel`` (features, units), ``recurrent_kernel`` (units, units), ``bias`` (units,)),
    so ``cell.set_weights(keras_simple_rnn.get_weights())`` reproduces Keras' outputs.
    Arguments are those of :class:`~seqcourse.layers.base.ScratchCell`.

    Call arguments:
        inputs: the input at one step, shape ``(batch, features)``.
        states: a list holding the previous hidden state, shape ``(batch, units)``.

    Returns:
        ``(h_t, [h_t])``: the output and the new state, both ``(batch, units)``.

    Example:
        >>> layer = keras.layers.RNN(ScratchRNNCell(8), return_sequences=True)
        >>> tuple(layer(np.zeros((2, 5, 3), "float32")).shape)   # (batch, time, units)
        (2, 5, 8)
    """

    GATES = 1

    def step(self, inputs, states):
        z = ops.matmul(inputs, self.kernel) + ops.matmul(states[0], self.recurrent_kernel)
        if self.bias is not None:
            z = z + self.bias
        h = self.activation(z)
        return h, [h], {}
