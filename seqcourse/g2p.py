"""The grapheme-to-phoneme pipeline shared by notebooks 06 and 11: token ids, batches, the
GRU encoder–decoder with additive attention, and scoring.

Notebook 06 teaches these pieces; notebook 11 trains the very same recurrent model next to a
Transformer on the same words, so both notebooks import them from here (one copy).

Ids: letters 1-26 (0 is padding); phonemes 3-41 with ``START`` = 1 (``<s>``) and ``END`` = 2
(``</s>``).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from seqcourse.datasets.cmudict_g2p import LETTERS, PHONEMES
from seqcourse.decoding import DecoderLayers
from seqcourse.layers import AdditiveAttention
from seqcourse.metrics import sequence_error_rate, token_error_rate

LETTER_ID = {c: i + 1 for i, c in enumerate(LETTERS)}
PHONE_ID = {p: i + 3 for i, p in enumerate(PHONEMES)}
ID_PHONE = {i: p for p, i in PHONE_ID.items()}
START, END = 1, 2
N_LETTERS, N_PHONES = len(LETTER_ID) + 1, len(PHONE_ID) + 3
ENCODER_UNITS, DECODER_UNITS = 96, 192


def encode_words(words) -> np.ndarray:
    """Words -> padded letter ids (n, max_letters)."""
    return keras.utils.pad_sequences([[LETTER_ID[c] for c in w] for w in words], padding="post")


def to_phonemes(sequences) -> list[list[str]]:
    """Phoneme id sequences -> lists of phoneme symbols (start, end and padding dropped)."""
    return [[ID_PHONE[i] for i in seq if i in ID_PHONE] for seq in sequences]


def make_dataset(split, shuffle: bool, batch_size: int, seed: int = 0) -> tf.data.Dataset:
    """((letters, decoder input), decoder target) batches of a ``G2PSplit``, bucketed by word
    length so that batches carry little padding. Decoder input ``<s> p1 .. pn``, target
    ``p1 .. pn </s>`` (teacher forcing); ``seed`` fixes the shuffled order."""
    pairs = split.pairs()
    letters = tf.ragged.constant([[LETTER_ID[c] for c in w] for w, _ in pairs])
    phones = tf.ragged.constant([[START, *(PHONE_ID[p] for p in ph), END] for _, ph in pairs])
    ds = tf.data.Dataset.from_tensor_slices((letters, phones))
    # slicing ragged rows costs more than the model's step: do it once, then cache
    ds = ds.map(lambda x, y: ((x, y[:-1]), y[1:])).cache()
    if shuffle:
        ds = ds.shuffle(len(pairs), seed=seed)
    ds = ds.bucket_by_sequence_length(
        lambda xy, _: tf.shape(xy[0])[0], [5, 7, 9, 11, 14], [batch_size] * 6
    )
    return ds.prefetch(tf.data.AUTOTUNE)


def build_seq2seq(attention: bool, attention_layer=AdditiveAttention) -> keras.Model:
    """Notebook 06's GRU encoder–decoder: letters (batch, letters) + decoder input
    (batch, steps) -> logits (batch, steps, phones).

    A bidirectional GRU encodes the letters; its final states, through ``bridge``, start the
    decoder GRU. With ``attention``, the decoder output at each step is the query of
    :class:`~seqcourse.layers.AdditiveAttention` over the encoder outputs (Luong-style wiring)
    and ``combine`` mixes output and context before the logits. ``attention_layer``: the class
    of that layer (notebook 06 passes a subclass running the student's exercise 6.1). Layer names are what
    :func:`decoder_layers` and :func:`gru_encoder` look up.
    """
    layers = keras.layers
    letters = keras.Input((None,), dtype="int32", name="letters")
    previous = keras.Input((None,), dtype="int32", name="previous_phonemes")
    x = layers.Embedding(N_LETTERS, 64, mask_zero=True)(letters)
    encoded, forward, backward = layers.Bidirectional(
        layers.GRU(ENCODER_UNITS, return_sequences=True, return_state=True), name="encoder"
    )(x)
    initial = layers.Dense(DECODER_UNITS, activation="tanh", name="bridge")(
        layers.Concatenate()([forward, backward])
    )
    y = layers.Embedding(N_PHONES, 64, mask_zero=True, name="target_embedding")(previous)
    decoded = layers.GRU(DECODER_UNITS, return_sequences=True, name="decoder")(
        y, initial_state=initial
    )
    if attention:
        context, _ = attention_layer(96, name="attention")(decoded, encoded)
        decoded = layers.Dense(DECODER_UNITS, activation="tanh", name="combine")(
            layers.Concatenate()([decoded, context])
        )
    logits = layers.Dense(N_PHONES, name="logits")(decoded)
    return keras.Model([letters, previous], logits, name="with_attention" if attention else "plain")


def gru_encoder(model: keras.Model) -> keras.Model:
    """The encoder half of a :func:`build_seq2seq` model: letters -> [encoder outputs
    (n, letters, 2 x ENCODER_UNITS), initial decoder state (n, DECODER_UNITS)]."""
    return keras.Model(
        model.get_layer("letters").output,
        [model.get_layer("encoder").output[0], model.get_layer("bridge").output],
    )


def decoder_layers(model: keras.Model) -> DecoderLayers:
    """The trained layers of one decoder step of a :func:`build_seq2seq` model, by name."""
    attends = "attention" in [layer.name for layer in model.layers]
    return DecoderLayers(
        embedding=model.get_layer("target_embedding"),
        cell=model.get_layer("decoder").cell,
        logits=model.get_layer("logits"),
        attention=model.get_layer("attention") if attends else None,
        combine=model.get_layer("combine") if attends else None,
    )


def score(hypotheses, references) -> tuple[float, float]:
    """(phoneme error rate, word error rate) of phoneme lists against each word's references."""
    return token_error_rate(hypotheses, references), sequence_error_rate(hypotheses, references)
