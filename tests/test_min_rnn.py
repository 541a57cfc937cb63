"""minGRU / minLSTM and the parallel scan they rest on (seqcourse.layers.min_rnn)."""

import os
import subprocess
import sys
import textwrap
from importlib.util import find_spec

import keras
import numpy as np
import pytest

from seqcourse.datasets.adding import load_adding_problem
from seqcourse.layers import MinGRU, MinLSTM, SelectiveDecay
from seqcourse.layers.min_rnn import combine, linear_recurrence, log_linear_recurrence

LAYERS = [MinGRU, MinLSTM, SelectiveDecay]


def loop(a, b, initial=None):
    """The recurrence one step at a time, in float64: the oracle of the scan."""
    h = np.zeros(a.shape[::2]) if initial is None else np.asarray(initial, float)
    states = []
    for t in range(a.shape[1]):
        h = a[:, t] * h + b[:, t]
        states.append(h)
    return np.stack(states, axis=1)


def random_layer(cls, features=3, units=5, seed=0):
    layer = cls(units, return_sequences=True)
    layer.build((None, None, features))
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(size=w.shape).astype("float32") for w in layer.get_weights()])
    return layer


def test_combine_is_associative():
    rng = np.random.default_rng(0)
    x, y, z = [tuple(rng.normal(size=(2, 4))) for _ in range(3)]
    left, right = combine(combine(x, y), z), combine(x, combine(y, z))
    np.testing.assert_allclose(left, right, rtol=1e-12)


@pytest.mark.parametrize("time", [1, 2, 7, 64, 129])
def test_scan_equals_the_loop(time):
    rng = np.random.default_rng(time)
    a = rng.uniform(0, 1, size=(3, time, 4)).astype("float32")
    b = rng.normal(size=(3, time, 4)).astype("float32")
    h0 = rng.normal(size=(3, 4)).astype("float32")
    np.testing.assert_allclose(linear_recurrence(a, b), loop(a, b), atol=1e-5)
    np.testing.assert_allclose(linear_recurrence(a, b, h0), loop(a, b, h0), atol=1e-5)


def test_log_space_matches_and_survives_where_float32_underflows():
    rng = np.random.default_rng(1)
    a, b = rng.uniform(0.1, 1, size=(2, 50, 3)), rng.uniform(0.1, 2, size=(2, 50, 3))
    log_h = log_linear_recurrence(np.log(a).astype("float32"), np.log(b).astype("float32"))
    np.testing.assert_allclose(np.exp(log_h), loop(a, b), rtol=1e-4)
    # h_t = e^-200 (1 - 0.5^t) / 0.5: far below float32's range, exact in log space
    steps = np.arange(1, 11)
    log_a = np.full((1, 10, 1), np.log(0.5), "float32")
    log_b = np.full((1, 10, 1), -200.0, "float32")
    exact = -200 + np.log(2 * (1 - 0.5**steps))
    np.testing.assert_allclose(np.asarray(log_linear_recurrence(log_a, log_b))[0, :, 0], exact)
    assert not np.any(np.asarray(linear_recurrence(np.exp(log_a), np.exp(log_b))))


@pytest.mark.parametrize("cls", LAYERS)
def test_parallel_and_step_by_step_agree(cls):
    layer = random_layer(cls)
    x = np.random.default_rng(2).normal(size=(4, 64, 3)).astype("float32")
    h = np.random.default_rng(3).normal(size=(4, 5)).astype("float32")
    parallel = np.asarray(layer(x, initial_state=h))
    for t in range(64):
        h = np.asarray(layer.step(x[:, t], h))
        np.testing.assert_allclose(parallel[:, t], h, atol=1e-5)


@pytest.mark.parametrize("cls", LAYERS)
def test_recurrence_is_the_one_place_states_are_computed(cls):
    """A subclass that computes the states by a loop gives the scan's outputs, from a given
    initial state too: `call` folds h_0 into b before `recurrence` sees it."""

    class Looped(cls):
        def recurrence(self, a, b):
            self.seen = (np.asarray(a), np.asarray(b))
            return loop(*self.seen).astype("float32")

    layer, looped = random_layer(cls), Looped(5, return_sequences=True)
    looped.build((None, None, 3))
    looped.set_weights(layer.get_weights())
    rng = np.random.default_rng(5)
    x, h0 = rng.normal(size=(2, 9, 3)).astype("float32"), rng.normal(size=(2, 5)).astype("float32")
    np.testing.assert_allclose(looped(x, initial_state=h0), layer(x, initial_state=h0), atol=1e-5)
    a, b = (np.asarray(v) for v in layer.coefficients(x))
    np.testing.assert_allclose(looped.seen[1][:, 0], b[:, 0] + a[:, 0] * h0, atol=1e-6)


@pytest.mark.parametrize("cls", LAYERS)
def test_padding_leaves_the_final_state_unchanged(cls):
    layer = random_layer(cls)
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, 6, 3)).astype("float32")
    padded = np.concatenate([x, rng.normal(size=(2, 4, 3)).astype("float32")], axis=1)
    mask = np.arange(10) < 6
    states = np.asarray(layer(padded, mask=np.tile(mask, (2, 1))))
    np.testing.assert_allclose(states[:, 5:], np.repeat(states[:, 5:6], 5, axis=1), atol=1e-6)
    np.testing.assert_allclose(states[:, 5], np.asarray(layer(x))[:, -1], atol=1e-6)
    # through Keras' masking (Masking layer -> this layer), as in a model
    inputs = keras.Input((None, 3))
    last = cls(5)(keras.layers.Masking(0.0)(inputs))
    model = keras.Model(inputs, last)
    zeros = np.concatenate([x, np.zeros((2, 4, 3), "float32")], axis=1)
    np.testing.assert_allclose(model(zeros), model(x), atol=1e-6)


@pytest.mark.parametrize("cls", LAYERS)
def test_keras_file_round_trip(cls, tmp_path):
    inputs = keras.Input((None, 3))
    outputs = keras.layers.Dense(1)(cls(4)(cls(5, return_sequences=True)(inputs)))
    model = keras.Model(inputs, outputs)
    x = np.random.default_rng(5).normal(size=(2, 7, 3)).astype("float32")
    model.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(again(x), model(x), atol=1e-6)
    config = model.layers[1].get_config()
    assert config["units"] == 5 and config["return_sequences"] is True
    assert type(model.layers[1]).from_config(config).units == 5


@pytest.mark.parametrize("cls", LAYERS)
def test_bad_shapes_and_sizes_are_named(cls):
    with pytest.raises(ValueError, match=r"\(batch, time, features\).*\.step\(\)"):
        cls(4)(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match="units must be a positive integer"):
        cls(0)


@pytest.mark.parametrize("cls", LAYERS)
def test_learns_the_adding_problem(cls):
    """Below the 1/6 MSE of always answering the mean, length 20 (a few seconds)."""
    x, y = load_adding_problem(3000, 20, seed=0)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(x.shape[1:]), cls(32), keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(1e-2), "mse")
    model.optimizer.build(model.trainable_variables)  # fit then traces its step once
    model.fit(x[:2500], y[:2500], epochs=15, batch_size=100, verbose=0)
    assert model.evaluate(x[2500:], y[2500:], verbose=0) < 0.05


@pytest.mark.skipif(find_spec("jax") is None, reason="JAX is not installed here")
def test_the_same_layers_on_the_jax_backend():
    code = textwrap.dedent(
        """
        import numpy as np
        from seqcourse.layers import MinGRU
        layer = MinGRU(4, return_sequences=True)
        x = np.random.default_rng(0).normal(size=(2, 9, 3)).astype("float32")
        states, h = np.asarray(layer(x)), np.zeros((2, 4), "float32")
        for t in range(9):
            h = np.asarray(layer.step(x[:, t], h))
        assert np.allclose(states[:, -1], h, atol=1e-5)
        """
    )
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=300)


def test_an_unknown_time_length_in_a_traced_graph_is_named():
    import tensorflow as tf

    spec = tf.TensorSpec((None, None, 3), tf.float32)
    traced = tf.function(lambda a: linear_recurrence(a, a), input_signature=[spec])
    with pytest.raises(ValueError, match="known number of time steps.*pad_sequences"):
        traced(np.ones((2, 4, 3), "float32"))


def test_selective_decay_remembers_with_its_time_constants():
    """Driven by an impulse with a fixed step, each unit decays as exp(-lambda delta t)."""
    layer = SelectiveDecay(3, return_sequences=True, kernel_initializer="zeros")
    layer.build((None, None, 1))
    kernel = np.zeros((1, 6), "float32")
    kernel[0, :3] = 1.0  # u = x; the step's pre-activation is 0: delta = softplus(0) = ln 2
    layer.kernel.assign(kernel)
    impulse = np.zeros((1, 200, 1), "float32")
    impulse[0, 0, 0] = 1.0
    response = np.asarray(layer(impulse))[0]
    rates = np.exp(np.asarray(layer.log_rate))
    t = np.arange(200)[:, None]
    np.testing.assert_allclose(response, np.log(2) * np.exp(-rates * np.log(2) * t), rtol=1e-4)
    np.testing.assert_allclose(rates, [1e-3, 1e-2, 1e-1], rtol=1e-5)


@pytest.mark.parametrize("time", [2, 4, 5, 20, 64])
def test_the_scan_differentiates_under_xla(time):
    """Lengths whose recursion reaches T == 2: an empty slice there breaks XLA's gradient
    (seen with TensorFlow 2.21.0), which Keras compiles model.fit with on a GPU."""
    import tensorflow as tf

    rng = np.random.default_rng(time)
    a, b = (tf.constant(rng.uniform(0.5, 1, size=(2, time, 3)), "float32") for _ in "ab")

    @tf.function(jit_compile=True)
    def gradients(a, b):
        with tf.GradientTape() as tape:
            tape.watch([a, b])
            total = tf.reduce_sum(linear_recurrence(a, b) ** 2)
        return tape.gradient(total, [a, b])

    with tf.GradientTape() as tape:
        tape.watch([a, b])
        total = tf.reduce_sum(linear_recurrence(a, b) ** 2)
    for got, want in zip(gradients(a, b), tape.gradient(total, [a, b]), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
