"""The grader rebuilds a model exercise's answer from its exported config and weights
(``seqcourse.grading.rebuilt_models``): honest models of Keras layers come back exactly, configs
that carry code, foreign classes or huge sizes are refused before anything is built."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from seqcourse.grading.probes import model_run
from seqcourse.grading.rebuilt_models import rebuild, rebuilt_run

IDS = np.random.default_rng(0).integers(1, 50, (4, 7))
PADDED = np.pad(IDS, [(0, 0), (0, 9)])


def _sequential():
    return keras.Sequential(
        [
            keras.Input((None,), dtype="int64"),
            keras.layers.Embedding(50, 8, mask_zero=True),
            keras.layers.LSTM(6),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )


def _functional():
    ids = keras.Input((None,), dtype="int64")
    x = keras.layers.Embedding(50, 8, mask_zero=True)(ids)
    x = keras.layers.Dropout(0.1, seed=1234567)(x)  # a large seed is not a size
    x = keras.layers.Bidirectional(keras.layers.LSTM(6))(x)
    return keras.Model(ids, keras.layers.Dense(1, activation=keras.activations.sigmoid)(x))


def _without_input():
    model = keras.Sequential(
        [
            keras.layers.Embedding(50, 8, mask_zero=True),
            keras.layers.LSTM(6),
            keras.layers.Dense(1),
            keras.layers.Activation("sigmoid"),
        ]
    )
    model(IDS)  # built by its first call, as the probe does
    return model


@pytest.mark.parametrize("build", [_sequential, _functional, _without_input])
def test_honest_models_come_back_exactly(build):
    model = build()
    rebuilt = rebuild(model.to_json(), 256)
    rebuilt.set_weights(model.get_weights())
    for ids in (IDS, PADDED):
        np.testing.assert_array_equal(np.asarray(rebuilt(ids)), np.asarray(model(ids)))


class _Identity(keras.layers.Layer):
    def call(self, x):
        return x


def _configs() -> dict:
    honest = _sequential().to_json()
    lam = keras.Sequential(
        [
            keras.Input((None,), dtype="int64"),
            keras.layers.Embedding(50, 8),
            keras.layers.Lambda(lambda t: t * 2),
        ]  # fmt: skip
    )
    mine = keras.Sequential(
        [keras.Input((None,), dtype="int64"), keras.layers.Embedding(50, 8), _Identity()]
    )
    dense = {"module": "keras.layers", "class_name": "Dense", "config": {"units": 3}}
    return {
        "a Lambda layer": (lam.to_json(), "'Lambda'"),
        "a layer class of the student's": (mine.to_json(), "not Keras"),
        "a size far above the check's": (
            honest.replace('"input_dim": 50', '"input_dim": 5000000'),
            "input_dim=5000000",
        ),
        "a function of another module": (
            json.dumps({"module": "os", "class_name": "system", "config": {}}),
            "not Keras",
        ),
        "a Keras function that is no layer": (
            json.dumps({"module": "keras.src.utils.file_utils", "class_name": "get_file"}),
            "not a Keras layer",
        ),
        "a registered custom class": (
            json.dumps({**dense, "registered_name": "Custom>Dense"}),
            "'Dense'",
        ),
        "a layer, not a model": (
            json.dumps({**dense, "registered_name": None}),
            "not a keras.Model",
        ),
        "nesting deeper than JSON allows": ("[" * 100_000, "not valid JSON"),
        "no text at all": (None, "JSON text"),
    }


CONFIGS = _configs()


@pytest.mark.parametrize("case", list(CONFIGS))
def test_configs_that_carry_code_or_huge_sizes_are_refused(case):
    config, reason = CONFIGS[case]
    with pytest.raises(ValueError, match="its config|Keras|JSON") as err:
        rebuild(config, 256)
    assert reason in str(err.value)


def _borrowing(model):
    """``model`` whose calls return another model's outputs (what a patched kernel sends)."""
    twin = _sequential()

    def call(x):
        twin.set_weights(model.get_weights())
        return twin(x)

    return call


def test_the_outputs_the_judge_reads_are_the_rebuilt_models():
    """An unmasked model whose kernel outputs were a masked twin's: the run the judge reads has
    the unmasked model's outputs, computed from its config and weights."""
    unmasked = keras.Sequential(
        [
            keras.Input((None,), dtype="int64"),
            keras.layers.Embedding(50, 8),
            keras.layers.LSTM(6),
            keras.layers.Dense(1, activation="sigmoid"),
        ]  # fmt: skip
    )
    load = [np.full(w.shape, 0.1, "float32") for w in unmasked.get_weights()]
    run = model_run(unmasked, [IDS, PADDED], load)
    run["outputs"] = [np.asarray(_borrowing(unmasked)(x)) for x in (IDS, PADDED)]
    judged = rebuilt_run(run, [IDS, PADDED], load, 256)
    unmasked.set_weights(run["weights"])
    np.testing.assert_allclose(judged["outputs"][1], np.asarray(unmasked(PADDED)), atol=1e-6)
    assert not np.allclose(judged["outputs"][1], run["outputs"][1], atol=1e-4)


def test_weights_that_do_not_fit_the_config_are_named():
    run = model_run(_sequential(), [IDS], [])
    run["weights"] = run["weights"][:2]
    assert "do not fit" in rebuilt_run(run, [IDS], [], 256)["rebuild_error"]
