"""The Transformer pieces of ``seqcourse.layers.transformer``: attention against a loop, the
sinusoidal table's properties, shapes, the causal property and ``.keras`` round-trips."""

import keras
import numpy as np
import pytest

from seqcourse.layers import PositionalEmbedding, TransformerDecoderBlock, TransformerEncoderBlock
from seqcourse.layers.transformer import scaled_dot_product_attention, sinusoidal_positions


def _loop(q, k, v, causal):
    out = np.zeros((*q.shape[:2], v.shape[-1]))
    for b in range(q.shape[0]):
        for i in range(q.shape[1]):
            keys = range(i + 1) if causal else range(k.shape[1])
            scores = np.array([q[b, i] @ k[b, j] for j in keys]) / np.sqrt(q.shape[-1])
            p = np.exp(scores - scores.max())
            out[b, i] = (p / p.sum()) @ v[b, list(keys)]
    return out


@pytest.mark.parametrize("causal", [False, True])
def test_attention_equals_a_loop(causal):
    rng = np.random.default_rng(0)
    q, k, v = (rng.normal(size=(2, 5, s)).astype("float32") for s in (4, 4, 3))
    output, weights = scaled_dot_product_attention(q, k, v, causal=causal)
    np.testing.assert_allclose(np.asarray(output), _loop(q, k, v, causal), atol=1e-5)
    np.testing.assert_allclose(np.asarray(weights).sum(-1), 1, atol=1e-6)


def test_attention_padding_mask_gives_zero_weight():
    rng = np.random.default_rng(1)
    q, k, v = (rng.normal(size=(1, 3, 4)).astype("float32") for _ in range(3))
    mask = np.array([[True, True, False]])
    _, weights = scaled_dot_product_attention(q, k, v, mask=mask)
    assert np.all(np.asarray(weights)[..., 2] == 0)


def test_sinusoidal_table_formula_and_rotation():
    table = sinusoidal_positions(50, 8)
    assert table.shape == (50, 8) and table.dtype == np.float32
    np.testing.assert_allclose(table[0], [0, 1] * 4)
    np.testing.assert_allclose(table[3, 2:4], [np.sin(3 / 10), np.cos(3 / 10)], atol=1e-6)
    angle = 5 / 10000 ** (4 / 8)  # pair (4, 5), offset 5
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    np.testing.assert_allclose(table[5:, 4:6], table[:-5, 4:6] @ rotation, atol=1e-5)
    with pytest.raises(ValueError, match="even"):
        sinusoidal_positions(4, 5)


def test_positional_embedding_modes_and_table():
    tokens = np.array([[3, 3, 3]])
    with_positions = np.asarray(PositionalEmbedding(5, 8, 10)(tokens))
    assert with_positions.shape == (1, 3, 8)
    assert not np.allclose(with_positions[0, 0], with_positions[0, 1])  # same token, new place
    without = np.asarray(PositionalEmbedding(5, 8, 10, positions="none")(tokens))
    np.testing.assert_allclose(without[0, 0], without[0, 1])
    table = np.full((10, 8), 7.0, "float32")
    layer = PositionalEmbedding(5, 8, 10, position_table=table)
    tokens_only = np.asarray(layer.token_embedding(tokens)) * np.sqrt(8)
    np.testing.assert_allclose(np.asarray(layer(tokens)), tokens_only + 7, atol=1e-5)
    with pytest.raises(ValueError, match="positions"):
        PositionalEmbedding(5, 8, 10, positions="rotary")


def test_block_shapes_and_scores():
    x = np.random.default_rng(2).normal(size=(2, 6, 16)).astype("float32")
    memory = np.random.default_rng(3).normal(size=(2, 4, 16)).astype("float32")
    encoder = TransformerEncoderBlock(16, 4, 32, dropout=0.0)
    out, scores = encoder(x, padding_mask=np.ones((2, 6), bool), return_attention_scores=True)
    assert out.shape == (2, 6, 16) and scores.shape == (2, 4, 6, 6)
    decoder = TransformerDecoderBlock(16, 4, 32, dropout=0.0)
    out, scores = decoder(x, memory, return_attention_scores=True)
    assert out.shape == (2, 6, 16) and scores.shape == (2, 4, 6, 4)
    with pytest.raises(ValueError, match="multiple"):
        TransformerEncoderBlock(10, 4, 32)


def test_decoder_block_is_causal():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(1, 7, 8)).astype("float32")
    memory = rng.normal(size=(1, 3, 8)).astype("float32")
    block = TransformerDecoderBlock(8, 2, 16, dropout=0.0)
    changed = x.copy()
    changed[0, 4:] += 5.0
    before, after = (np.asarray(block(a, memory)) for a in (x, changed))
    np.testing.assert_allclose(before[0, :4], after[0, :4], atol=1e-5)
    assert not np.allclose(before[0, 4:], after[0, 4:])


def test_encoder_block_ignores_padding():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(1, 5, 8)).astype("float32")
    mask = np.array([[True, True, True, False, False]])
    block = TransformerEncoderBlock(8, 2, 16, dropout=0.0)
    changed = x.copy()
    changed[0, 3:] = rng.normal(size=(2, 8))
    np.testing.assert_allclose(
        np.asarray(block(x, padding_mask=mask))[0, :3],
        np.asarray(block(changed, padding_mask=mask))[0, :3],
        atol=1e-5,
    )


def test_model_round_trips_through_a_keras_file(tmp_path):
    letters = keras.Input((None,), dtype="int32")
    previous = keras.Input((None,), dtype="int32")
    mask = keras.ops.not_equal(letters, 0)
    table = np.random.default_rng(6).normal(size=(12, 16)).astype("float32")
    x = PositionalEmbedding(9, 16, 12, position_table=table)(letters)
    memory = TransformerEncoderBlock(16, 2, 32)(x, padding_mask=mask)
    y = PositionalEmbedding(9, 16, 12, positions="learned")(previous)
    y = TransformerDecoderBlock(16, 2, 32)(y, memory, memory_mask=mask)
    model = keras.Model([letters, previous], keras.layers.Dense(9)(y))
    inputs = [np.array([[1, 2, 3, 0]]), np.array([[1, 4, 5]])]
    path = tmp_path / "transformer.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(np.asarray(loaded(inputs)), np.asarray(model(inputs)), atol=1e-5)
    # the custom table travelled as a weight, not through the config
    np.testing.assert_allclose(np.asarray(loaded.layers[2].table), table)


def test_decoder_step_equals_the_last_position_of_a_full_call():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(2, 5, 8)).astype("float32")
    memory = rng.normal(size=(2, 3, 8)).astype("float32")
    mask = np.array([[True, True, False], [True, True, True]])
    block = TransformerDecoderBlock(8, 2, 16, dropout=0.0)
    full = np.asarray(block(x, memory, memory_mask=mask))
    past = np.zeros((2, 0, 8), "float32")
    for t in range(5):
        out, past = block.step(x[:, t : t + 1], past, memory, memory_mask=mask)
        np.testing.assert_allclose(np.asarray(out)[:, 0], full[:, t], atol=1e-5)
    assert past.shape == (2, 5, 8)
