"""ScratchRNNCell: numerical match with keras.layers.SimpleRNN, masking, serialisation, errors."""

import keras
import numpy as np
import pytest

from seqcourse.layers import ScratchRNNCell


def _pair(units=5, **kwargs):
    x = np.random.default_rng(0).normal(size=(3, 7, 4)).astype("float32")
    reference = keras.layers.SimpleRNN(units, **kwargs)
    ours = keras.layers.RNN(ScratchRNNCell(units), **kwargs)
    reference(x)
    ours(x)
    ours.set_weights(reference.get_weights())
    return x, reference, ours


def test_matches_simple_rnn_sequences_and_state():
    x, reference, ours = _pair(return_sequences=True, return_state=True)
    (ref_seq, ref_state), (seq, state) = reference(x), ours(x)
    np.testing.assert_allclose(seq, ref_seq, atol=1e-5)
    np.testing.assert_allclose(state, ref_state, atol=1e-5)
    np.testing.assert_allclose(seq[:, -1], state, atol=1e-6)


def test_matches_simple_rnn_from_an_initial_state():
    x, reference, ours = _pair()
    h0 = np.random.default_rng(1).normal(size=(3, 5)).astype("float32")
    np.testing.assert_allclose(
        ours(x, initial_state=[h0]), reference(x, initial_state=[h0]), atol=1e-5
    )


def test_known_values_of_one_step():
    cell = ScratchRNNCell(
        2, kernel_initializer="ones", recurrent_initializer="identity", bias_initializer="ones"
    )
    h, states = cell(np.array([[0.5]], "float32"), [np.array([[0.0, 1.0]], "float32")])
    np.testing.assert_allclose(h, np.tanh([[1.5, 2.5]]), atol=1e-6)
    np.testing.assert_allclose(states[0], h)


def test_masked_steps_keep_the_state():
    x, reference, ours = _pair(return_sequences=True)
    mask = np.ones((3, 7), bool)
    mask[0, 4:] = False
    out = ours(x, mask=mask)
    np.testing.assert_allclose(out, reference(x, mask=mask), atol=1e-5)
    np.testing.assert_allclose(out[0, 4:], np.repeat(out[0, 3:4], 3, axis=0), atol=1e-6)


def test_get_config_round_trip():
    cell = ScratchRNNCell(6, activation="relu", use_bias=False, name="c")
    clone = ScratchRNNCell.from_config(cell.get_config())
    assert (
        clone.units == 6 and clone.use_bias is False and clone.activation is keras.activations.relu
    )


def test_keras_file_round_trip(tmp_path):
    x, _, ours = _pair(return_sequences=True)
    model = keras.Sequential([keras.Input((7, 4)), ours, keras.layers.Dense(2)])
    model.save(tmp_path / "m.keras")
    restored = keras.saving.load_model(tmp_path / "m.keras")
    assert isinstance(restored.layers[0].cell, ScratchRNNCell)
    np.testing.assert_allclose(restored(x), model(x), atol=1e-6)


def test_trains_on_a_memory_task():
    rng = np.random.default_rng(0)
    symbols = rng.integers(0, 2, size=(512, 8))
    x = np.eye(2, dtype="float32")[symbols]
    y = np.roll(symbols, 1, axis=1)  # previous symbol (first step: the last one, unlearnable)
    model = keras.Sequential(
        [
            keras.Input((8, 2)),
            keras.layers.RNN(ScratchRNNCell(8), return_sequences=True),
            keras.layers.Dense(2),
        ]
    )
    model.compile(
        keras.optimizers.Adam(0.05), keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    history = model.fit(x, y, epochs=8, batch_size=64, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]


@pytest.mark.parametrize("units", [0, -3, 2.5, "8"])
def test_rejects_bad_units(units):
    with pytest.raises(ValueError, match="units"):
        ScratchRNNCell(units)


def test_wrong_rank_names_the_fix():
    with pytest.raises(ValueError, match=r"keras.layers.RNN\(cell\)"):
        keras.layers.RNN(ScratchRNNCell(3))(np.zeros((2, 3, 4, 5), "float32"))


def test_wrong_feature_size_is_reported():
    layer = keras.layers.RNN(ScratchRNNCell(3))
    layer(np.zeros((2, 5, 4), "float32"))
    with pytest.raises(ValueError, match="4 input features"):
        layer(np.zeros((2, 5, 6), "float32"))
