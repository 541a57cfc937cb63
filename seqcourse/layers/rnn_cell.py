"""The plain (Elman) recurrent cell, h_t = tanh(x_t W_x + h_{t-1} W_h + b), in ``keras.ops``."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="seqcourse")
class ScratchRNNCell(keras.layers.Layer):
    """A plain recurrent cell computing ``h_t = activation(x_t @ W_x + h_{t-1} @ W_h + b)``.

    The cell processes one time step; wrap it in ``keras.layers.RNN`` to run it over a
    sequence. Its weights are named and ordered like ``keras.layers.SimpleRNNCell``
    (``kernel`` (features, units), ``recurrent_kernel`` (units, units), ``bias`` (units,)),
    so ``cell.set_weights(keras_simple_rnn.get_weights())`` reproduces Keras' outputs.

    Args:
        units: size of the hidden state ``h_t``.
        activation: activation applied to the pre-activation (default ``"tanh"``).
        use_bias: whether to add the bias ``b``.
        kernel_initializer, recurrent_initializer, bias_initializer: initialisers of
            ``W_x``, ``W_h`` and ``b`` (Keras' SimpleRNN defaults).

    Call arguments:
        inputs: the input at one step, shape ``(batch, features)``.
        states: a list holding the previous hidden state, shape ``(batch, units)``.

    Returns:
        ``(h_t, [h_t])``: the output and the new state, both ``(batch, units)``.

    Example:

    >>> layer = keras.layers.RNN(ScratchRNNCell(8), return_sequences=True)
    >>> layer(np.zeros((2, 5, 3), "float32")).shape        # (batch, time, units)
    (2, 5, 8)
    """

    def __init__(
        self,
        units: int,
        activation="tanh",
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(units, int) or units <= 0:
            raise ValueError(f"units must be a positive integer, got {units!r}")
        self.units = units
        self.activation = keras.activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.state_size = units
        self.output_size = units

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(
                f"{type(self).__name__} processes one time step of shape (batch, features), got "
                f"{tuple(input_shape)}; to run it over a sequence wrap it: keras.layers.RNN(cell)"
            )
        features = input_shape[-1]
        if features is None:
            raise ValueError(
                f"{type(self).__name__} needs a known feature size; got input shape "
                f"{tuple(input_shape)}. Give the Input layer a fixed last dimension."
            )
        self.kernel = self.add_weight(
            shape=(features, self.units), initializer=self.kernel_initializer, name="kernel"
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, self.units),
            initializer=self.recurrent_initializer,
            name="recurrent_kernel",
        )
        self.bias = (
            self.add_weight(shape=(self.units,), initializer=self.bias_initializer, name="bias")
            if self.use_bias
            else None
        )

    def call(self, inputs, states, training=None):
        h_prev = states[0] if isinstance(states, (list, tuple)) else states
        if inputs.shape[-1] != self.kernel.shape[0]:
            raise ValueError(
                f"{type(self).__name__} was built for {self.kernel.shape[0]} input features but "
                f"received inputs of shape {tuple(inputs.shape)}"
            )
        z = ops.matmul(inputs, self.kernel) + ops.matmul(h_prev, self.recurrent_kernel)
        if self.bias is not None:
            z = z + self.bias
        h = self.activation(z)
        return h, [h]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "activation": keras.activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config
