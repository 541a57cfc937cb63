"""Self-attention and the Transformer's building blocks (notebook 11), in ``keras.ops``.

* :func:`scaled_dot_product_attention` — ``softmax(q k^T / sqrt(d_k)) v`` with an optional
  causal mask and key padding mask (the reference of exercise 11.1);
* :func:`sinusoidal_positions` — the fixed positional encoding of Vaswani et al. (2017), with
  sine and cosine **interleaved**: even columns ``2i`` hold ``sin``, odd columns ``2i + 1`` the
  ``cos`` of the same frequency (the reference of exercise 11.2);
* :class:`PositionalEmbedding` — token embedding plus positions (sinusoidal, learned or none);
* :class:`TransformerEncoderBlock` and :class:`TransformerDecoderBlock` — pre-layer-norm blocks
  around ``keras.layers.MultiHeadAttention`` with residual connections and a feed-forward net.

Masks are explicit arguments (``padding_mask``, ``memory_mask``: ``(batch, steps)`` bool, True on
real tokens); these layers neither consume nor produce Keras' implicit masks.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops


def scaled_dot_product_attention(q, k, v, causal: bool = False, mask=None):
    """Attention of every query over the keys: ``softmax(q k^T / sqrt(d_k)) v``.

    Args:
        q: ``(batch, T_q, d_k)`` queries.
        k: ``(batch, T_k, d_k)`` keys.
        v: ``(batch, T_k, d_v)`` values.
        causal: if True, query ``i`` sees keys ``j <= i`` only (self-attention of a decoder,
            ``T_q == T_k``).
        mask: optional ``(batch, T_k)`` bool, False on padded keys (they get weight 0).

    Returns:
        ``(output, weights)``: ``(batch, T_q, d_v)`` and ``(batch, T_q, T_k)``; each row of
        ``weights`` sums to 1 over the keys.
    """
    q, k, v = (ops.convert_to_tensor(x, "float32") for x in (q, k, v))
    scores = ops.matmul(q, ops.swapaxes(k, -1, -2)) / math.sqrt(q.shape[-1])
    allowed = None
    if causal:
        t_q, t_k = ops.shape(scores)[-2], ops.shape(scores)[-1]
        allowed = ops.arange(t_q)[:, None] >= ops.arange(t_k)[None, :]
    if mask is not None:
        keys = ops.cast(mask, "bool")[:, None, :]
        allowed = keys if allowed is None else ops.logical_and(allowed, keys)
    if allowed is not None:
        scores = ops.where(allowed, scores, -1e9)
    weights = ops.softmax(scores, axis=-1)
    return ops.matmul(weights, v), weights


def sinusoidal_positions(length: int, depth: int) -> np.ndarray:
    """The sinusoidal positional encoding, ``(length, depth)`` float32, ``depth`` even.

    ``PE[p, 2i] = sin(p / 10000^(2i / depth))`` and ``PE[p, 2i + 1] = cos(p / 10000^(2i /
    depth))``: each pair of columns turns at one frequency, so ``PE[p + k]`` is ``PE[p]``
    rotated by the angle ``k * frequency`` in every pair (relative offsets are linear maps).
    """
    if depth % 2:
        raise ValueError(f"depth must be even (sin/cos pairs), got {depth}")
    frequencies = 1.0 / 10000 ** (np.arange(0, depth, 2) / depth)  # (depth / 2,)
    angles = np.arange(length)[:, None] * frequencies[None, :]  # (length, depth / 2)
    table = np.empty((length, depth))
    table[:, 0::2], table[:, 1::2] = np.sin(angles), np.cos(angles)
    return table.astype("float32")


@keras.saving.register_keras_serializable(package="seqcourse")
class PositionalEmbedding(keras.layers.Layer):
    """Token embedding scaled by ``sqrt(d_model)``, plus a position vector per step.

    Args:
        vocab_size: number of token ids (0 is padding).
        d_model: embedding size (even for sinusoidal positions).
        max_length: longest sequence the position table covers.
        positions: ``"sinusoidal"`` (fixed table), ``"learned"`` (a trained table) or
            ``"none"`` (no position information: attention then sees a bag of tokens).
        position_table: optional ``(max_length, d_model)`` array used instead of
            :func:`sinusoidal_positions` (notebook 11 passes the table of exercise 11.2). It is
            stored as a weight, so a saved model keeps it.

    Call arguments:
        tokens: ``(batch, steps)`` int ids, ``steps <= max_length``.

    Returns:
        ``(batch, steps, d_model)`` float32. No Keras mask is attached.

    Example:
        >>> layer = PositionalEmbedding(10, 8, max_length=16)
        >>> tuple(layer(np.array([[3, 4, 0]])).shape)
        (1, 3, 8)
    """

    def __init__(
        self,
        vocab_size: int,
        d_model: int,
        max_length: int,
        positions: str = "sinusoidal",
        position_table=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if positions not in ("sinusoidal", "learned", "none"):
            raise ValueError(f"positions must be sinusoidal, learned or none, got {positions!r}")
        self.vocab_size, self.d_model, self.max_length = vocab_size, d_model, max_length
        self.positions = positions
        self._table = position_table
        self.token_embedding = keras.layers.Embedding(vocab_size, d_model, name="tokens")

    def build(self, input_shape):
        self.token_embedding.build(input_shape)
        shape = (self.max_length, self.d_model)
        if self.positions == "sinusoidal":
            table = self._table
            if table is None:
                table = sinusoidal_positions(self.max_length, self.d_model)
            table = np.asarray(table, "float32")
            if table.shape != shape:
                raise ValueError(f"position_table has shape {table.shape}, expected {shape}")
            self.table = self.add_weight(
                shape=shape,
                initializer=keras.initializers.Constant(table),
                trainable=False,
                name="position_table",
            )
        elif self.positions == "learned":
            self.table = self.add_weight(
                shape=shape,
                initializer=keras.initializers.RandomNormal(stddev=0.02),
                name="position_table",
            )

    def call(self, tokens):
        x = self.token_embedding(tokens) * math.sqrt(self.d_model)
        if self.positions != "none":
            x = x + self.table[None, : ops.shape(tokens)[1]]
        return x

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.d_model)

    def get_config(self):
        return {
            **super().get_config(),
            "vocab_size": self.vocab_size,
            "d_model": self.d_model,
            "max_length": self.max_length,
            "positions": self.positions,
        }


class _Block(keras.layers.Layer):
    """Shared constructor and config of the two blocks."""

    def __init__(self, d_model: int, heads: int, ffn_units: int, dropout: float = 0.1, **kwargs):
        super().__init__(**kwargs)
        if d_model % heads:
            raise ValueError(f"d_model ({d_model}) must be a multiple of heads ({heads})")
        self.d_model, self.heads, self.ffn_units, self.dropout_rate = (
            d_model,
            heads,
            ffn_units,
            dropout,
        )
        self.ffn = keras.Sequential(
            [
                keras.layers.Dense(ffn_units, activation="relu"),
                keras.layers.Dense(d_model),
            ],
            name="ffn",
        )
        self.ffn_norm = keras.layers.LayerNormalization(epsilon=1e-6, name="ffn_norm")
        self.dropout = keras.layers.Dropout(dropout)

    def _attention(self, name):
        return keras.layers.MultiHeadAttention(
            self.heads, self.d_model // self.heads, dropout=self.dropout_rate, name=name
        )

    def _feed_forward(self, x, training):
        return x + self.dropout(self.ffn(self.ffn_norm(x)), training=training)

    def compute_output_shape(self, input_shape, *args, **kwargs):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "d_model": self.d_model,
            "heads": self.heads,
            "ffn_units": self.ffn_units,
            "dropout": self.dropout_rate,
        }


@keras.saving.register_keras_serializable(package="seqcourse")
class TransformerEncoderBlock(_Block):
    """Self-attention then a feed-forward net, each as ``x + f(LayerNorm(x))`` (pre-LN).

    Args:
        d_model: width of the residual stream.
        heads: attention heads (``d_model / heads`` dimensions each).
        ffn_units: hidden units of the feed-forward net (Dense relu -> Dense d_model).
        dropout: dropout on attention weights and on each residual branch.

    Call arguments:
        x: ``(batch, steps, d_model)``.
        padding_mask: optional ``(batch, steps)`` bool, False on padding (never attended to).
        return_attention_scores: also return the weights ``(batch, heads, steps, steps)``.

    Returns:
        ``(batch, steps, d_model)`` (and the weights if asked).
    """

    def __init__(self, d_model, heads, ffn_units, dropout=0.1, **kwargs):
        super().__init__(d_model, heads, ffn_units, dropout, **kwargs)
        self.attention = self._attention("self_attention")
        self.attention_norm = keras.layers.LayerNormalization(epsilon=1e-6, name="attention_norm")

    def build(self, input_shape):
        self.attention_norm.build(input_shape)
        self.attention.build(input_shape, input_shape)
        self.ffn_norm.build(input_shape)
        self.ffn.build(input_shape)

    def call(self, x, padding_mask=None, return_attention_scores=False, training=None):
        h = self.attention_norm(x)
        h = self.attention(
            h,
            h,
            value_mask=padding_mask,
            return_attention_scores=return_attention_scores,
            training=training,
        )
        h, scores = h if return_attention_scores else (h, None)
        x = self._feed_forward(x + self.dropout(h, training=training), training)
        return (x, scores) if return_attention_scores else x


@keras.saving.register_keras_serializable(package="seqcourse")
class TransformerDecoderBlock(_Block):
    """Causal self-attention, cross-attention to the encoder, then a feed-forward net, each as
    ``x + f(LayerNorm(x))`` (pre-LN).

    Args: as :class:`TransformerEncoderBlock`.

    Call arguments:
        x: ``(batch, steps, d_model)``, the embedded previous tokens.
        memory: ``(batch, source_steps, d_model)``, the encoder's output.
        memory_mask: optional ``(batch, source_steps)`` bool, False on source padding.
        return_attention_scores: also return the cross-attention weights
            ``(batch, heads, steps, source_steps)``.

    Returns:
        ``(batch, steps, d_model)`` (and the cross-attention weights if asked). Output step
        ``t`` depends on ``x[:, : t + 1]`` only (causal), so all steps train in one pass.
    """

    def __init__(self, d_model, heads, ffn_units, dropout=0.1, **kwargs):
        super().__init__(d_model, heads, ffn_units, dropout, **kwargs)
        self.self_attention = self._attention("self_attention")
        self.cross_attention = self._attention("cross_attention")
        self.self_norm = keras.layers.LayerNormalization(epsilon=1e-6, name="self_norm")
        self.cross_norm = keras.layers.LayerNormalization(epsilon=1e-6, name="cross_norm")

    def build(self, x_shape, memory_shape=None):
        memory_shape = x_shape if memory_shape is None else memory_shape
        self.self_norm.build(x_shape)
        self.self_attention.build(x_shape, x_shape)
        self.cross_norm.build(x_shape)
        self.cross_attention.build(x_shape, memory_shape)
        self.ffn_norm.build(x_shape)
        self.ffn.build(x_shape)

    def call(self, x, memory, memory_mask=None, return_attention_scores=False, training=None):
        h = self.self_norm(x)
        h = self.self_attention(h, h, use_causal_mask=True, training=training)
        x = x + self.dropout(h, training=training)
        h = self.cross_attention(
            self.cross_norm(x),
            memory,
            value_mask=memory_mask,
            return_attention_scores=return_attention_scores,
            training=training,
        )
        h, scores = h if return_attention_scores else (h, None)
        x = self._feed_forward(x + self.dropout(h, training=training), training)
        return (x, scores) if return_attention_scores else x

    def step(self, x, past, memory, memory_mask=None):
        """Inference for one new position, reusing the earlier positions' work.

        Args:
            x: ``(batch, 1, d_model)``, the new position's input.
            past: ``(batch, t, d_model)``, this block's layer-normalised inputs of the ``t``
                earlier positions (what the new position attends to; ``t`` may be 0).
            memory, memory_mask: as in :meth:`call`.

        Returns:
            ``(output (batch, 1, d_model), past (batch, t + 1, d_model))``: equal to the last
            position of :meth:`call` on the whole prefix (no dropout). The cache holds the
            normalised inputs, so the key/value projections of the prefix are recomputed at
            every step; a full key/value cache would store them too.
        """
        h = self.self_norm(x)
        past = ops.concatenate([ops.convert_to_tensor(past, h.dtype), h], axis=1)
        x = x + self.self_attention(h, past)  # the last position sees every earlier one
        x = x + self.cross_attention(self.cross_norm(x), memory, value_mask=memory_mask)
        return x + self.ffn(self.ffn_norm(x)), past
