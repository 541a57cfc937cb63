"""From-scratch cells against Keras' own: numerical match, masking, serialisation, errors."""

import keras
import numpy as np
import pytest

from seqcourse.layers import ScratchGRUCell, ScratchLSTMCell, ScratchRNNCell
from seqcourse.layers.gated_cells import gru_step, lstm_step

PAIRS = [
    (ScratchRNNCell, keras.layers.SimpleRNN),
    (ScratchLSTMCell, keras.layers.LSTM),
    (ScratchGRUCell, keras.layers.GRU),
]
IDS = ["rnn", "lstm", "gru"]


def _pair(cell_class, keras_class, units=5, **kwargs):
    """A Keras layer and our cell in keras.layers.RNN, built on the same input, same weights."""
    x = np.random.default_rng(0).normal(size=(3, 7, 4)).astype("float32")
    reference = keras_class(units, **kwargs)
    ours = keras.layers.RNN(cell_class(units), **kwargs)
    reference(x)
    ours(x)
    ours.set_weights(reference.get_weights())
    return x, reference, ours


@pytest.mark.parametrize(("cell_class", "keras_class"), PAIRS, ids=IDS)
def test_matches_keras_sequences_and_states(cell_class, keras_class):
    x, reference, ours = _pair(cell_class, keras_class, return_sequences=True, return_state=True)
    expected, actual = reference(x), ours(x)
    assert len(expected) == len(actual)
    for e, a in zip(expected, actual, strict=True):
        np.testing.assert_allclose(a, e, atol=1e-5)


@pytest.mark.parametrize(("cell_class", "keras_class"), PAIRS, ids=IDS)
def test_matches_keras_from_an_initial_state(cell_class, keras_class):
    x, reference, ours = _pair(cell_class, keras_class)
    rng = np.random.default_rng(1)
    n_states = len(ours.cell.state_size) if isinstance(ours.cell.state_size, list) else 1
    init = [rng.normal(size=(3, 5)).astype("float32") for _ in range(n_states)]
    np.testing.assert_allclose(
        ours(x, initial_state=init), reference(x, initial_state=init), atol=1e-5
    )


@pytest.mark.parametrize(("cell_class", "keras_class"), PAIRS, ids=IDS)
def test_masked_steps_keep_the_state(cell_class, keras_class):
    x, reference, ours = _pair(cell_class, keras_class, return_sequences=True)
    mask = np.ones((3, 7), bool)
    mask[0, 4:] = False
    out = ours(x, mask=mask)
    np.testing.assert_allclose(out, reference(x, mask=mask), atol=1e-5)
    np.testing.assert_allclose(out[0, 4:], np.repeat(out[0, 3:4], 3, axis=0), atol=1e-6)


@pytest.mark.parametrize("cell_class", [p[0] for p in PAIRS], ids=IDS)
def test_get_config_round_trip(cell_class):
    cell = cell_class(6, activation="relu", use_bias=False, name="c")
    clone = cell_class.from_config(cell.get_config())
    assert clone.units == 6 and clone.use_bias is False
    assert clone.activation is keras.activations.relu
    assert clone.get_config() == cell.get_config()


@pytest.mark.parametrize(("cell_class", "keras_class"), PAIRS, ids=IDS)
def test_keras_file_round_trip(tmp_path, cell_class, keras_class):
    x, _, ours = _pair(cell_class, keras_class, return_sequences=True)
    model = keras.Sequential([keras.Input((7, 4)), ours, keras.layers.Dense(2)])
    model.save(tmp_path / "m.keras")
    restored = keras.saving.load_model(tmp_path / "m.keras")
    assert isinstance(restored.layers[0].cell, cell_class)
    np.testing.assert_allclose(restored(x), model(x), atol=1e-6)


def test_known_values_of_one_rnn_step():
    cell = ScratchRNNCell(
        2, kernel_initializer="ones", recurrent_initializer="identity", bias_initializer="ones"
    )
    h, states = cell(np.array([[0.5]], "float32"), [np.array([[0.0, 1.0]], "float32")])
    np.testing.assert_allclose(h, np.tanh([[1.5, 2.5]]), atol=1e-6)
    np.testing.assert_allclose(states[0], h)


def test_lstm_forget_bias_starts_at_one_and_gates_are_exposed():
    cell = ScratchLSTMCell(3)
    cell.build((None, 2))
    np.testing.assert_array_equal(np.asarray(cell.bias), [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    h, states, gates = cell.step(np.ones((4, 2), "float32"), [np.zeros((4, 3), "float32")] * 2)
    assert set(gates) == {"input", "forget", "candidate", "output", "cell"}
    assert all(tuple(g.shape) == (4, 3) for g in gates.values())
    assert np.all((np.asarray(gates["forget"]) > 0) & (np.asarray(gates["forget"]) < 1))
    assert ScratchLSTMCell(3, unit_forget_bias=False).get_config()["unit_forget_bias"] is False


@pytest.mark.parametrize("unit_forget_bias", [True, False])
@pytest.mark.parametrize(
    "bias_initializer",
    [
        keras.initializers.Constant(0.5),
        keras.initializers.RandomNormal(seed=3),
        keras.initializers.Ones(),
    ],
    ids=["constant", "random", "ones"],
)
def test_bias_is_initialised_as_keras_lstmcell(bias_initializer, unit_forget_bias):
    # Keras: the forget block is ones, the other three blocks come from the initializer
    kwargs = {"bias_initializer": bias_initializer, "unit_forget_bias": unit_forget_bias}
    ours, reference = ScratchLSTMCell(3, **kwargs), keras.layers.LSTMCell(3, **kwargs)
    ours.build((None, 2))
    reference.build((None, 2))
    np.testing.assert_allclose(np.asarray(ours.bias), np.asarray(reference.bias))
    if unit_forget_bias:
        np.testing.assert_array_equal(np.asarray(ours.bias)[3:6], 1.0)


@pytest.mark.parametrize(
    ("step", "cell_class", "states"),
    [(lstm_step, ScratchLSTMCell, 2), (gru_step, ScratchGRUCell, 1)],
    ids=["lstm", "gru"],
)
def test_step_functions_compute_the_cells_step(step, cell_class, states):
    cell = cell_class(3, bias_initializer="random_normal")
    cell.build((None, 2))
    rng = np.random.default_rng(4)
    x = rng.normal(size=(5, 2)).astype("float32")
    state = [rng.normal(size=(5, 3)).astype("float32") for _ in range(states)]
    expected = cell.step(x, state)[1]
    got = step(x, *state, cell.kernel, cell.recurrent_kernel, cell.bias)
    got = got if isinstance(got, tuple) else (got,)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, atol=1e-6)


def test_gru_update_gate_of_one_copies_the_state():
    cell = ScratchGRUCell(2, kernel_initializer="zeros", recurrent_initializer="zeros")
    cell.build((None, 1))
    cell.bias.assign(np.array([[50.0, 50.0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]], "float32"))
    h_prev = np.array([[0.3, -0.7]], "float32")
    h, _, gates = cell.step(np.ones((1, 1), "float32"), [h_prev])
    np.testing.assert_allclose(gates["update"], 1.0)
    np.testing.assert_allclose(h, h_prev, atol=1e-6)


@pytest.mark.parametrize(("cell_class", "keras_class"), PAIRS, ids=IDS)
def test_trains_on_a_memory_task(cell_class, keras_class):
    rng = np.random.default_rng(0)
    symbols = rng.integers(0, 2, size=(512, 8))
    x = np.eye(2, dtype="float32")[symbols]
    y = np.roll(symbols, 1, axis=1)  # previous symbol (first step: the last one, unlearnable)
    rnn = keras.layers.RNN(cell_class(8), return_sequences=True)
    model = keras.Sequential([keras.Input((8, 2)), rnn, keras.layers.Dense(2)])
    model.compile(
        keras.optimizers.Adam(0.05), keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    model.optimizer.build(model.trainable_variables)  # fit then traces its step once
    history = model.fit(x, y, epochs=8, batch_size=64, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]


@pytest.mark.parametrize("units", [0, -3, 2.5, "8", True])
@pytest.mark.parametrize("cell_class", [p[0] for p in PAIRS], ids=IDS)
def test_rejects_bad_units(cell_class, units):
    with pytest.raises(ValueError, match="units"):
        cell_class(units)


@pytest.mark.parametrize("cell_class", [p[0] for p in PAIRS], ids=IDS)
def test_wrong_rank_names_the_fix(cell_class):
    with pytest.raises(ValueError, match=r"keras.layers.RNN\(cell\)"):
        keras.layers.RNN(cell_class(3))(np.zeros((2, 3, 4, 5), "float32"))


@pytest.mark.parametrize("cell_class", [p[0] for p in PAIRS], ids=IDS)
def test_wrong_feature_size_is_reported(cell_class):
    layer = keras.layers.RNN(cell_class(3))
    layer(np.zeros((2, 5, 4), "float32"))
    with pytest.raises(ValueError, match="4 input features"):
        layer(np.zeros((2, 5, 6), "float32"))
