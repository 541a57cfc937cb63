"""Recurrences whose gates read only the input: minGRU and minLSTM (Feng et al. 2024,
"Were RNNs All We Needed?").

When no gate depends on the previous state, the update ``h_t = a_t * h_{t-1} + b_t`` is linear
in ``h``, and linear updates compose: doing ``(a1, b1)`` then ``(a2, b2)`` is the single update
``(a1 a2, a2 b1 + b2)``. That operator is associative, so every ``h_t`` can be computed at once
by a parallel scan (Blelloch 1990) in O(log T) sequential depth instead of T steps
(:func:`prefix_scan`, the algorithm of ``keras.ops.associative_scan``, on any backend). The
same layers also run one step at a time (:meth:`MinGRU.step`), which is what generation
needs; both forms are tested equal.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


def combine(earlier, later):
    """The associative operator of ``h_t = a_t * h_{t-1} + b_t``.

    Args:
        earlier: ``(a1, b1)``, the update applied first; arrays of one shape (any).
        later: ``(a2, b2)``, the update applied after it, same shape.

    Returns:
        ``(a1 * a2, a2 * b1 + b2)``: the single update equal to applying both in turn.

    Example:
        >>> a, b = combine((2.0, 1.0), (3.0, 5.0))  # h -> 2h + 1, then h -> 3h + 5
        >>> float(a), float(b)  # h -> 6h + 8
        (6.0, 8.0)
    """
    a1, b1 = earlier
    a2, b2 = later
    return a1 * a2, a2 * b1 + b2


def linear_recurrence(a, b, initial=None):
    """Every state of ``h_t = a_t * h_{t-1} + b_t`` at once, by a parallel scan over time.

    Args:
        a, b: ``(batch, time, units)``: the decay and the input of each step.
        initial: optional ``(batch, units)`` state before the first step (zeros when None).

    Returns:
        ``(batch, time, units)``: ``h_1 ... h_T``.

    Example:
        >>> a = np.full((1, 4, 1), 0.5, "float32")
        >>> b = np.ones((1, 4, 1), "float32")
        >>> np.asarray(linear_recurrence(a, b))[0, :, 0].tolist()
        [1.0, 1.5, 1.75, 1.875]
    """
    a, b = ops.convert_to_tensor(a), ops.convert_to_tensor(b)
    _require_static_time(a)
    if initial is not None:
        b = fold_initial_state(a, b, initial)
    _, h = prefix_scan(combine, (a, b))
    return h


def fold_initial_state(a, b, initial):
    """``b`` with the state before the first step folded into it: ``b_1 + a_1 h_0`` at
    position 0, so a scan from a zero state gives the states from ``h_0``.

    Args:
        a, b: ``(batch, time, units)``. initial: ``(batch, units)``.

    Returns:
        ``(batch, time, units)``.
    """
    first = b[:, :1] + a[:, :1] * ops.expand_dims(ops.convert_to_tensor(initial), 1)
    return ops.concatenate([first, b[:, 1:]], axis=1)


def prefix_scan(operator, elems):
    """Every prefix ``e_1, e_1 o e_2, ..., e_1 o ... o e_T`` along axis 1, by the odd/even
    recursion of Blelloch (1990) — the algorithm of ``keras.ops.associative_scan``, written with
    static slices so that it also traces on Keras 3.13 (Colab's), whose TensorFlow
    ``associative_scan`` recurses forever inside ``tf.function`` and on a length-1 axis.

    Args:
        operator: an associative ``f(earlier, later)`` on tuples of arrays, e.g. :func:`combine`.
        elems: a tuple of arrays ``(batch, time, ...)`` with a known ``time``.

    Returns:
        A tuple of arrays of the same shapes: the inclusive prefixes.
    """
    length = elems[0].shape[1]
    if length < 2:
        return elems
    pairs = operator(tuple(e[:, 0:-1:2] for e in elems), tuple(e[:, 1::2] for e in elems))
    odd = prefix_scan(operator, pairs)  # the prefixes ending at positions 1, 3, 5, ...
    even = tuple(e[:, :1] for e in elems)  # position 0: the element itself
    if length > 2:  # positions 2, 4, ...; never an empty slice (XLA cannot differentiate one)
        before = tuple(o[:, : (length - 1) // 2] for o in odd)
        rest = operator(before, tuple(e[:, 2::2] for e in elems))
        even = tuple(ops.concatenate([e, v], axis=1) for e, v in zip(even, rest, strict=True))
    return tuple(interleave(v, o, length) for v, o in zip(even, odd, strict=True))


def interleave(even, odd, length: int):
    """Merge two halves of a sequence along axis 1.

    Args:
        even: ``(batch, ceil(length / 2), ...)``, for positions 0, 2, 4, ...
        odd: ``(batch, length // 2, ...)``, for positions 1, 3, 5, ...
        length: the length of the merged axis.

    Returns:
        ``(batch, length, ...)``.

    Example:
        >>> np.asarray(interleave(np.array([[0, 2, 4]]), np.array([[1, 3]]), 5)).tolist()
        [[0, 1, 2, 3, 4]]
    """
    if length % 2:
        odd = ops.concatenate([odd, ops.zeros_like(even[:, :1])], axis=1)
    both = ops.stack([even, odd], axis=2)  # (batch, ceil(T / 2), 2, ...)
    return ops.reshape(both, (-1, 2 * even.shape[1], *even.shape[2:]))[:, :length]


def _require_static_time(a) -> None:
    """The scan's depth is fixed when it is traced: the time axis needs a known length."""
    if a.shape[1] is None:
        raise ValueError(
            "the parallel scan needs a known number of time steps when traced (model.fit, "
            "tf.function on the TensorFlow backend); got shape "
            f"{tuple(a.shape)}. Pad every batch to one length (keras.utils.pad_sequences with "
            "maxlen=...) and give keras.Input that length, e.g. keras.Input((100, features))"
        )


def log_linear_recurrence(log_a, log_b):
    """:func:`linear_recurrence` in log space, for positive inputs: ``log h_t`` from ``log a_t``
    and ``log b_t`` (zero initial state).

    A product of many decays ``a_t`` in (0, 1) underflows in float32 long before the sequence
    ends; in log space it is a sum, and ``log(a2 b1 + b2)`` is a ``logaddexp``, so nothing
    underflows. The minGRU paper trains this way with a positive candidate state.

    Args:
        log_a, log_b: ``(batch, time, units)``.

    Returns:
        ``(batch, time, units)``: ``log h_1 ... log h_T``.

    Example:
        >>> log_h = log_linear_recurrence(np.log(np.full((1, 3, 1), 0.5)), np.zeros((1, 3, 1)))
        >>> np.exp(np.asarray(log_h))[0, :, 0].round(4).tolist()
        [1.0, 1.5, 1.75]
    """

    def combine_logs(earlier, later):
        (la1, lb1), (la2, lb2) = earlier, later
        return la1 + la2, ops.logaddexp(la2 + lb1, lb2)

    log_a, log_b = ops.convert_to_tensor(log_a), ops.convert_to_tensor(log_b)
    _require_static_time(log_a)
    _, log_h = prefix_scan(combine_logs, (log_a, log_b))
    return log_h


class MinRecurrence(keras.layers.Layer):
    """Base of :class:`MinGRU` and :class:`MinLSTM`: a recurrence ``h_t = a_t h_{t-1} + b_t``
    whose ``(a_t, b_t)`` come from ``x_t`` alone (one ``kernel`` of ``GATES`` blocks).

    A subclass sets ``GATES`` and implements :meth:`coefficients`. Masked steps keep the state
    (``a = 1``, ``b = 0``), so padding after a sequence leaves its final state unchanged.

    Args:
        units: size of the state.
        return_sequences: return every state ``(batch, time, units)`` instead of the last
            ``(batch, units)``.
        kernel_initializer, bias_initializer: for the input projection.
    """

    GATES = 2

    def __init__(
        self,
        units: int,
        return_sequences: bool = False,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"units must be a positive integer, got {units!r}")
        self.units = units
        self.return_sequences = bool(return_sequences)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.supports_masking = True

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(
                f"{type(self).__name__} reads sequences of shape (batch, time, features), got "
                f"{tuple(input_shape)}; for one step of shape (batch, features) call .step()"
            )
        self.kernel = self.add_weight(
            shape=(input_shape[-1], self.GATES * self.units),
            initializer=self.kernel_initializer,
            name="kernel",
        )
        self.bias = self.add_weight(
            shape=(self.GATES * self.units,), initializer=self.bias_initializer, name="bias"
        )

    def coefficients(self, inputs):
        """``(a, b)`` of the recurrence from ``inputs`` ``(..., features)``: each
        ``(..., units)``."""
        return self.coefficients_of(ops.matmul(inputs, self.kernel) + self.bias)

    def coefficients_of(self, projected):
        """``(a, b)`` from the projected inputs ``x W + bias`` ``(..., GATES * units)``."""
        raise NotImplementedError

    def call(self, inputs, mask=None, initial_state=None):
        a, b = self.coefficients(inputs)
        if mask is not None:
            keep = ops.expand_dims(ops.cast(mask, a.dtype), -1)
            a, b = keep * a + (1 - keep), keep * b
        if initial_state is not None:
            b = fold_initial_state(a, b, initial_state)
        states = self.recurrence(a, b)
        return states if self.return_sequences else states[:, -1]

    def recurrence(self, a, b):
        """Every state of ``h_t = a_t h_{t-1} + b_t`` from a zero state (``call`` has folded
        any initial state into ``b``): ``a``, ``b`` ``(batch, time, units)`` -> ``(batch, time,
        units)``. The parallel scan of :func:`linear_recurrence`; a subclass may compute the
        same states another way (notebook 12 plugs in the student's scan here)."""
        return linear_recurrence(a, b)

    def step(self, inputs, state):
        """One step for generation: ``inputs`` ``(batch, features)`` and ``state``
        ``(batch, units)`` -> the new state ``(batch, units)`` (also the output)."""
        if not self.built:
            self.build((None, None, inputs.shape[-1]))
        a, b = self.coefficients(ops.convert_to_tensor(inputs))
        return a * ops.convert_to_tensor(state) + b

    def compute_mask(self, inputs, mask=None):
        return mask if self.return_sequences else None

    def compute_output_shape(self, input_shape):
        if self.return_sequences:
            return (*input_shape[:-1], self.units)
        return (input_shape[0], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "return_sequences": self.return_sequences,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }


@keras.saving.register_keras_serializable(package="seqcourse")
class MinGRU(MinRecurrence):
    """minGRU: a GRU whose update gate and candidate read only the input.

    ``z_t = sigmoid(x_t W_z + b_z)``, ``h~_t = x_t W_h + b_h``,
    ``h_t = (1 - z_t) * h_{t-1} + z_t * h~_t`` — the paper's convention (``z_t`` near 1 takes
    the new candidate; Keras' ``GRU`` writes the gate the other way round). No reset gate and
    no tanh: both would need ``h_{t-1}``.

    Args: see :class:`MinRecurrence`. Weights: ``kernel`` ``(features, 2 units)`` (``z`` then
    ``h~``) and ``bias`` ``(2 units,)``.

    Call arguments:
        inputs: ``(batch, time, features)``.
        mask: optional bool ``(batch, time)``; False steps keep the state.
        initial_state: optional ``(batch, units)``.

    Returns:
        ``(batch, units)``, or ``(batch, time, units)`` with ``return_sequences=True``.

    Example:
        >>> layer = MinGRU(4, return_sequences=True)
        >>> x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
        >>> states = layer(x)
        >>> h = np.zeros((2, 4), "float32")
        >>> for t in range(5):
        ...     h = layer.step(x[:, t], h)
        >>> tuple(states.shape), bool(np.allclose(states[:, -1], h, atol=1e-6))
        ((2, 5, 4), True)
    """

    GATES = 2

    @staticmethod
    def coefficients_of(projected):
        gate, candidate = ops.split(projected, 2, axis=-1)
        z = ops.sigmoid(gate)
        return 1 - z, z * candidate


@keras.saving.register_keras_serializable(package="seqcourse")
class MinLSTM(MinRecurrence):
    """minLSTM: forget and input gates from the input alone, normalised to sum to one.

    ``f_t = sigmoid(x_t W_f + b_f)``, ``i_t = sigmoid(x_t W_i + b_i)``,
    ``h~_t = x_t W_h + b_h``; with ``f'_t = f_t / (f_t + i_t)`` and ``i'_t = i_t / (f_t + i_t)``,
    ``h_t = f'_t * h_{t-1} + i'_t * h~_t``. No output gate and no separate cell state: the
    normalisation keeps the state's scale independent of time, as the paper proposes.

    Args: see :class:`MinRecurrence`. Weights: ``kernel`` ``(features, 3 units)`` (``f``,
    ``i``, ``h~``) and ``bias`` ``(3 units,)``.

    Call arguments and returns: as :class:`MinGRU`.

    Example:
        >>> layer = MinLSTM(4)
        >>> tuple(layer(np.zeros((2, 5, 3), "float32")).shape)
        (2, 4)
    """

    GATES = 3

    @staticmethod
    def coefficients_of(projected):
        forget, update, candidate = ops.split(projected, 3, axis=-1)
        f, i = ops.sigmoid(forget), ops.sigmoid(update)
        return f / (f + i), i / (f + i) * candidate


@keras.saving.register_keras_serializable(package="seqcourse")
class SelectiveDecay(MinRecurrence):
    """A diagonal linear state-space layer whose step size depends on the input ("Mamba-lite").

    Each unit is a leaky integrator ``dh/dt = -lambda h + u`` (a diagonal continuous-time
    state space), discretised with an input-dependent step ``delta_t``:
    ``u_t = x_t W_u + b_u``, ``delta_t = softplus(x_t W_d + b_d)``,
    ``a_t = exp(-lambda * delta_t)``, ``h_t = a_t h_{t-1} + delta_t u_t``.
    A large step writes the input and forgets the past; a step near 0 keeps the state — the
    input *selects* what is remembered, as in Mamba's selective scan. With ``delta`` fixed it
    is a linear time-invariant layer (S4D-style, real diagonal). ``lambda = exp(log_rate)`` is
    learned, one per unit, initialised log-uniformly in [0.001, 0.1]; with the initial step
    ``delta = softplus(about 0) = 0.69`` the time constants ``1 / (lambda delta)`` start between
    about 14 and 1,443 steps.

    Args: see :class:`MinRecurrence`. Weights: ``kernel`` ``(features, 2 units)`` (``u``,
    ``delta``), ``bias`` ``(2 units,)``, ``log_rate`` ``(units,)``.

    Call arguments and returns: as :class:`MinGRU`.

    Example:
        >>> layer = SelectiveDecay(8, return_sequences=True)
        >>> tuple(layer(np.zeros((2, 5, 3), "float32")).shape)
        (2, 5, 8)
    """

    GATES = 2

    def build(self, input_shape):
        super().build(input_shape)
        rates = np.exp(np.linspace(np.log(1e-3), np.log(1e-1), self.units))
        self.log_rate = self.add_weight(
            shape=(self.units,),
            initializer=keras.initializers.Constant(np.log(rates)),
            name="log_rate",
        )

    def coefficients_of(self, projected):
        drive, step = ops.split(projected, 2, axis=-1)
        delta = ops.softplus(step)
        return ops.exp(-ops.exp(self.log_rate) * delta), delta * drive
