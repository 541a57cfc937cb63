"""Pieces of notebook 04: prose cleaning, splits, windows, step-by-step decoding, TFDS path."""

import keras
import numpy as np
import pytest

from seqcourse.datasets import clean_pydoc_text, load_pydoc_corpus, load_pydoc_text
from seqcourse.decoding import RecurrentStepper
from seqcourse.windows import next_step_windows

TOPIC = """The "if" statement
******************

The "if" statement is used for conditional
execution[1]:

   if_stmt ::= "if" assignment_expression ":" suite

>>> if x: pass

* If the target is an *identifier* (name):

  * the name is bound to the object in the
    “current” local namespace.

$$$ ### %%% @@@ ^^^ {} [] <> |||
"""


def test_cleaning_keeps_prose_and_drops_code_markup_and_headings():
    assert clean_pydoc_text(TOPIC).splitlines() == [
        'The "if" statement is used for conditional execution:',
        "If the target is an identifier (name):",
        'the name is bound to the object in the "current" local namespace.',
    ]


def test_corpus_is_ascii_prose_without_code_blocks():
    corpus = load_pydoc_corpus()
    text = "\n".join(corpus.values())
    assert len(corpus) > 50 and len(text) > 200_000
    assert text.isascii() and "::=" not in text and ">>>" not in text and "*****" not in text


def test_splits_are_whole_documents_about_one_tenth_validation():
    train, validation = load_pydoc_text("train"), load_pydoc_text("validation")
    assert 0.08 < len(validation) / (len(train) + len(validation)) < 0.12
    assert not set(train.splitlines()) & set(validation.splitlines()), "a paragraph in both splits"
    paragraphs = [p for doc in load_pydoc_corpus().values() for p in doc.splitlines()]
    assert len(paragraphs) == len(set(paragraphs)), "the corpus repeats a paragraph"
    with pytest.raises(ValueError, match="unknown split"):
        load_pydoc_text("test")


def test_next_step_windows_shapes_and_shift():
    ids = np.arange(1, 1001)
    ds = next_step_windows(ids, window=10, batch_size=8)
    inputs, targets = next(iter(ds))
    assert inputs.shape == targets.shape == (8, 10)
    np.testing.assert_array_equal(inputs[0], np.arange(1, 11))
    np.testing.assert_array_equal(targets[0], np.arange(2, 12))
    np.testing.assert_array_equal(inputs[1], np.arange(12, 22))  # chunks of window + 1
    assert sum(int(x.shape[0]) for x, _ in ds) == 1000 // 11
    shuffled = [x.shape for x, _ in next_step_windows(ids, 10, batch_size=8, shuffle=True)]
    assert all(s == (8, 10) for s in shuffled) and len(shuffled) == (1000 // 11) // 8


@pytest.mark.parametrize(
    ("ids", "words"), [(np.zeros((4, 4)), "1-D"), (np.arange(5), "shorter than")]
)
def test_next_step_windows_rejects_bad_streams(ids, words):
    with pytest.raises(ValueError, match=words):
        next_step_windows(ids, window=10)


def _language_model():
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((None,), dtype="int32"),
            keras.layers.Embedding(20, 8),
            keras.layers.GRU(16, return_sequences=True),
            keras.layers.LSTM(12, return_sequences=True),
            keras.layers.Dense(20),
        ]
    )


def test_stepping_equals_running_the_whole_sequence():
    model = _language_model()
    ids = np.random.default_rng(0).integers(0, 20, size=(3, 9))
    stepper = RecurrentStepper(model)
    states, logits = stepper.initial_states(3), []
    assert [len(s) for s in states] == [1, 2]  # GRU: h; LSTM: h and c
    for t in range(9):
        step_logits, states = stepper.step(ids[:, t], states)
        logits.append(np.asarray(step_logits))
    np.testing.assert_allclose(np.stack(logits, axis=1), model(ids), atol=1e-5)


def test_stepper_rejects_models_it_cannot_step():
    model = keras.Sequential(
        [keras.Input((None,), dtype="int32"), keras.layers.Embedding(5, 4), keras.layers.Dropout(0.1),
         keras.layers.GRU(4, return_sequences=True), keras.layers.Dense(5)]
    )  # fmt: skip
    with pytest.raises(TypeError, match="Dropout"):
        RecurrentStepper(model)


def test_tiny_shakespeare_loader_under_tfds_mock_data(tmp_path):
    import tensorflow_datasets as tfds

    from seqcourse.datasets import load_tiny_shakespeare

    with tfds.testing.mock_data(num_examples=2):
        text = load_tiny_shakespeare("train", data_dir=tmp_path)
    assert isinstance(text, str) and len(text) > 0
