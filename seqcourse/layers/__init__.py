"""Recurrent cells and attention written from scratch with ``keras.ops``.

Each cell works inside ``keras.layers.RNN`` (which handles time, masking and state), is
serialisable with ``get_config`` and round-trips through ``.keras`` files. Their weights use
the same names, shapes and order as Keras' built-in cells, so ``set_weights`` copies across.
"""

from seqcourse.layers.attention import AdditiveAttention, additive_attention_weights
from seqcourse.layers.gated_cells import ScratchGRUCell, ScratchLSTMCell
from seqcourse.layers.min_rnn import MinGRU, MinLSTM, SelectiveDecay
from seqcourse.layers.rnn_cell import ScratchRNNCell
from seqcourse.layers.transformer import (
    PositionalEmbedding,
    TransformerDecoderBlock,
    TransformerEncoderBlock,
)

__all__ = [
    "AdditiveAttention",
    "additive_attention_weights",
    "MinGRU",
    "MinLSTM",
    "PositionalEmbedding",
    "ScratchGRUCell",
    "ScratchLSTMCell",
    "ScratchRNNCell",
    "SelectiveDecay",
    "TransformerDecoderBlock",
    "TransformerEncoderBlock",
]
