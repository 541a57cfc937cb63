"""Additive (Bahdanau) attention in ``keras.ops``: each query scores every encoder step with
``v . tanh(query W_q + value W_k)``, a softmax over the unmasked steps turns the scores into
weights, and the context is the weighted sum of the values."""

from __future__ import annotations

import keras
from keras import ops


def additive_scores(query, keys, w_query, w_key, v):
    """Unnormalised scores ``(batch, query_steps, key_steps)``: ``v . tanh(q_i W_q + k_j W_k)``
    (shapes as in :func:`additive_attention_weights`)."""
    q = ops.matmul(query, w_query)[:, :, None, :]  # (batch, Tq, 1, units)
    k = ops.matmul(keys, w_key)[:, None, :, :]  # (batch, 1, Tk, units)
    return ops.sum(ops.tanh(q + k) * v, axis=-1)


def additive_attention_weights(query, keys, w_query, w_key, v, mask):
    """Additive attention weights for whole batches, in ``keras.ops`` (NumPy arrays or tensors).

    Args:
        query: ``(batch, query_steps, query_features)``.
        keys: ``(batch, key_steps, key_features)``.
        w_query: ``(query_features, units)``; ``w_key``: ``(key_features, units)``;
            ``v``: ``(units,)``.
        mask: bool ``(batch, key_steps)``; False marks padding.

    Returns:
        ``(batch, query_steps, key_steps)``: ``softmax_j(v . tanh(query_i W_q + key_j W_k))``
        over the steps where ``mask`` is true, exactly 0 where it is false (a row with no
        real step is all zeros). The course's reference of notebook 06's exercise 6.1.
    """
    scores = additive_scores(query, keys, w_query, w_key, v)
    keep = ops.cast(mask, "bool")[:, None, :]
    weights = ops.softmax(ops.where(keep, scores, ops.full_like(scores, -1e9)), axis=-1)
    return weights * ops.cast(keep, weights.dtype)  # exact zeros, even on an all-padding row


@keras.saving.register_keras_serializable(package="seqcourse")
class AdditiveAttention(keras.layers.Layer):
    """Bahdanau-style additive attention with learned projections.

    ``score[b, i, j] = v . tanh(query[b, i] @ W_q + values[b, j] @ W_k)``;
    ``weights = softmax_j(score)`` over the steps where ``values_mask`` is true (padded encoder
    steps get weight exactly 0); ``context[b, i] = sum_j weights[b, i, j] * values[b, j]``.

    Unlike ``keras.layers.AdditiveAttention`` (which adds query and key directly and so needs
    them to have the same size), the query and the values are projected to ``units`` first, so
    a decoder state of any size can attend over encoder outputs of any size.

    Args:
        units: size of the hidden layer that scores a (query, value) pair.

    Call arguments:
        query: ``(batch, query_steps, query_features)`` — e.g. the decoder output at every
            step (teacher forcing) or at one step (``query_steps = 1``).
        values: ``(batch, value_steps, value_features)`` — e.g. the encoder outputs.
        values_mask: optional bool ``(batch, value_steps)``; False marks padding. When
            ``values`` carry a Keras mask (e.g. from ``Embedding(mask_zero=True)`` through a
            recurrent layer) Keras passes it here automatically.

    Returns:
        ``(context, weights)``: ``(batch, query_steps, value_features)`` and
        ``(batch, query_steps, value_steps)``; each row of ``weights`` sums to one.

    Example:

    >>> attention = AdditiveAttention(16)
    >>> context, weights = attention(np.zeros((2, 3, 8)), np.zeros((2, 5, 4)))
    >>> tuple(context.shape), tuple(weights.shape)
    ((2, 3, 4), (2, 3, 5))
    """

    def __init__(self, units: int, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True  # the outputs keep the query's mask (decoder padding)
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"units must be a positive int, got {units!r}")
        self.units = units

    def build(self, query_shape, values_shape, values_mask_shape=None):
        self.query_kernel = self.add_weight(
            shape=(query_shape[-1], self.units), initializer="glorot_uniform", name="query_kernel"
        )
        self.value_kernel = self.add_weight(
            shape=(values_shape[-1], self.units), initializer="glorot_uniform", name="value_kernel"
        )
        self.score_vector = self.add_weight(
            shape=(self.units,), initializer="glorot_uniform", name="score_vector"
        )

    def scores(self, query, values):
        """Unnormalised scores ``(batch, query_steps, value_steps)``."""
        return additive_scores(
            query, values, self.query_kernel, self.value_kernel, self.score_vector
        )

    def attention_weights(self, query, values, mask):
        """Weights ``(batch, query_steps, value_steps)`` for a bool ``mask`` ``(batch,
        value_steps)``: :func:`additive_attention_weights` with this layer's weights. A subclass
        may compute them otherwise (notebook 06 plugs the student's exercise 6.1 in here)."""
        return additive_attention_weights(
            query, values, self.query_kernel, self.value_kernel, self.score_vector, mask
        )

    def call(self, query, values, values_mask=None):
        if len(query.shape) != 3 or len(values.shape) != 3:
            raise ValueError(
                "AdditiveAttention expects query (batch, query_steps, features) and values "
                f"(batch, value_steps, features); got shapes {query.shape} and {values.shape}"
            )
        if values_mask is None:
            values_mask = ops.ones_like(values[:, :, 0], dtype="bool")
        weights = self.attention_weights(query, values, ops.cast(values_mask, "bool"))
        return ops.matmul(weights, values), weights

    def compute_output_shape(self, query_shape, values_shape, values_mask_shape=None):
        return (
            (*query_shape[:2], values_shape[-1]),
            (*query_shape[:2], values_shape[1]),
        )

    def get_config(self):
        return {**super().get_config(), "units": self.units}
