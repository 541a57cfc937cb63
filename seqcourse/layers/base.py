"""What every from-scratch recurrent cell shares: hyper-parameters, weights, input checks, config."""

from __future__ import annotations

import keras


class ScratchCell(keras.layers.Layer):
    """Base class of the ``keras.ops`` recurrent cells (one time step each).

    A subclass sets ``GATES`` (how many ``units``-wide blocks its weight matrices hold, e.g. 4
    for an LSTM) and implements :meth:`step`, which returns the output, the new states and a
    dict of intermediate activations (the gates) for plotting. Weights are laid out exactly
    like the matching Keras cell so ``set_weights`` copies across:
    ``kernel`` (features, GATES*units), ``recurrent_kernel`` (units, GATES*units) and
    ``bias`` of shape :meth:`bias_shape`.

    Args:
        units: size of the hidden state.
        activation: the candidate/output activation (default ``"tanh"``).
        recurrent_activation: the gate activation (default ``"sigmoid"``; unused by plain RNNs).
        use_bias: whether to add biases.
        kernel_initializer, recurrent_initializer, bias_initializer: as in Keras' cells.
    """

    GATES = 1

    def __init__(
        self,
        units: int,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"units must be a positive integer, got {units!r}")
        self.units = units
        self.activation = keras.activations.get(activation)
        self.recurrent_activation = keras.activations.get(recurrent_activation)
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.state_size = units
        self.output_size = units

    def bias_shape(self) -> tuple[int, ...]:
        return (self.GATES * self.units,)

    def bias_initializer_for_build(self):
        """The initializer of the ``bias`` weight: ``bias_initializer`` (the LSTM composes its
        own, as Keras does)."""
        return self.bias_initializer

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
        width = self.GATES * self.units
        self.kernel = self.add_weight(
            shape=(features, width), initializer=self.kernel_initializer, name="kernel"
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, width),
            initializer=self.recurrent_initializer,
            name="recurrent_kernel",
        )
        self.bias = (
            self.add_weight(
                shape=self.bias_shape(), initializer=self.bias_initializer_for_build(), name="bias"
            )
            if self.use_bias
            else None
        )

    def step(self, inputs, states):
        """One time step: ``inputs`` (batch, features), ``states`` a list of (batch, units)
        tensors -> ``(output, new_states, gates)``."""
        raise NotImplementedError

    def call(self, inputs, states, training=None):
        if inputs.shape[-1] != self.kernel.shape[0]:
            raise ValueError(
                f"{type(self).__name__} was built for {self.kernel.shape[0]} input features but "
                f"received inputs of shape {tuple(inputs.shape)}"
            )
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        output, new_states, _ = self.step(inputs, states)
        return output, new_states

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "activation": keras.activations.serialize(self.activation),
                "recurrent_activation": keras.activations.serialize(self.recurrent_activation),
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config
