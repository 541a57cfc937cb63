"""Public checks of notebook 03 (sentiment, many-to-one). Oracle of 3.1: Keras, the requested
architecture rebuilt with the student's model's weights. Oracle of 3.2: Keras' masked LSTM,
and brute-force indexing row by row (hidden test)."""

from __future__ import annotations

import numpy as np

from seqcourse.grading.probes import classifier_probe, traced_probe
from seqcourse.grading.public_checks import (
    CheckFailed,
    assert_close,
    assert_shape,
    fresh_rng,
    is_model_run,
    probe_with,
    public_check,
    replaces,
    require,
)
from seqcourse.grading.rebuilt_models import rebuilt_run

# the course's references (seqcourse.models), which the notebook falls back on
replaces("3.1", "build_lstm_classifier")
replaces("3.2", "last_real_step")

VOCAB, EMBED, UNITS = 50, 8, 6
BATCH, TIME, PADDING = 4, 7, 9
ATOL = 2e-5  # float32 outputs of the same Keras computation, in two processes

# ---------------------------------------------------------------- 3.1 build_lstm_classifier
#
# Probe (in the student's kernel): build the model for bidirectional False and True and return
# its config and weights (plus the kernel's outputs, which decide nothing). Judge (here): rebuild
# the student's model from that config and weights and run it on token ids, with its own weights
# and with weights the grader chose (rebuilt_models); build Embedding(mask_zero) -> LSTM /
# Bidirectional(LSTM) -> Dense(1, sigmoid) itself with the same weights and compare. Outputs
# are computed here, so a wrong model cannot borrow a right model's outputs in the kernel.


class ObservedModels:
    """One probe of a student's model builder, for bidirectional False and True: what it
    returned (``runs``), the judge's own models of the requested ``architecture(sizes,
    bidirectional)`` and the random weights the grader loads into both (``loads``)."""

    def __init__(self, build, sizes, architecture, batches, rng):
        self.sizes, self.batches = tuple(sizes), batches
        self.judges = [architecture(self.sizes, b) for b in (False, True)]
        self.loads = [
            [(rng.normal(size=w.shape) * 0.5).astype("float32") for w in judge.get_weights()]
            for judge in self.judges
        ]
        runs = probe_with(build, classifier_probe, self.sizes, self.batches, self.loads)
        _well_formed(runs)
        sizes = [d for judge in self.judges for w in judge.get_weights() for d in w.shape]
        limit = 4 * max(*sizes, *(d for batch in batches for d in batch.shape))
        self.runs = [
            rebuilt_run(run, batches, load, limit)
            for run, load in zip(runs, self.loads, strict=True)
        ]

    def settings(self):
        """``(bidirectional, what the probe returned, the judge's model, the grader's weights)``."""
        return zip((False, True), self.runs, self.judges, self.loads, strict=True)

    def outputs(self, judge, weights, batch: int) -> np.ndarray:
        """The judge's model with ``weights`` on batch ``batch`` (float64)."""
        judge.set_weights(weights)
        return np.asarray(judge(self.batches[batch]), dtype="float64")

    def weight_shapes(self, what: str, describe) -> None:
        """CheckFailed unless both models are keras.Models with the judge's weight shapes;
        ``describe(bidirectional)`` names the requested layers."""
        for bidirectional, run, judge, _ in self.settings():
            if not run["is_model"]:
                raise CheckFailed(f"{what} should return a keras.Model, got {run['type'][:80]}")
            if "rebuild_error" in run:
                raise CheckFailed(
                    f"with bidirectional={bidirectional}, the checker could not rebuild your "
                    f"model from its config and weights to run it: {run['rebuild_error']}"
                )
            want = [tuple(w.shape) for w in judge.get_weights()]
            got = [tuple(w.shape) for w in run["weights"]]
            if got != want:
                embedding = int(np.prod(want[0]))
                count = sum(int(np.prod(s)) for s in got) - embedding
                expected = sum(int(np.prod(s)) for s in want) - embedding
                raise CheckFailed(
                    f"with bidirectional={bidirectional}, expected {expected} weights besides "
                    f"the embedding ({want[0][0]}x{want[0][1]}), found {count}: "
                    f"{describe(bidirectional)} has "
                    f"weight arrays of shapes {want}, your model {got[:12]}"
                )

    def loaded(self, run, bidirectional: bool) -> list:
        """The outputs of ``run`` with the grader's weights, or CheckFailed saying why not."""
        if "load_error" in run:
            raise CheckFailed(
                f"with bidirectional={bidirectional}, weights of the requested sizes could not "
                f"be loaded into your model ({run['load_error']})"
            )
        return run["loaded"]


def embedding_lstm(vocab, embed, units, bidirectional: bool, sequences: bool, head):
    """The judge's own ``Embedding(mask_zero) -> LSTM (Bidirectional if asked) -> head``: the
    oracle of 3.1 and 5.2 is Keras itself, never the course's reference builder."""
    import keras

    recurrent = keras.layers.LSTM(units, return_sequences=sequences)
    if bidirectional:
        recurrent = keras.layers.Bidirectional(recurrent)
    return keras.Sequential(
        [
            keras.Input((None,), dtype="int64"),
            keras.layers.Embedding(vocab, embed, mask_zero=True),
            recurrent,
            head,
        ]
    )


def _architecture(sizes, bidirectional: bool):
    """The model exercise 3.1 asks for, built by the judge."""
    import keras

    vocab, embed, units = sizes
    head = keras.layers.Dense(1, activation="sigmoid")
    return embedding_lstm(vocab, embed, units, bidirectional, sequences=False, head=head)


def _describe(sizes, bidirectional: bool) -> str:
    vocab, embed, units = sizes
    lstm = f"Bidirectional(LSTM({units}))" if bidirectional else f"LSTM({units})"
    return f"Embedding({vocab}, {embed}, mask_zero=True) -> {lstm} -> Dense(1, sigmoid)"


def _observe(build, sizes, seed: int) -> ObservedModels:
    """Probe ``build`` on token ids drawn fresh, then the same ids padded with 9 zeros."""
    rng = fresh_rng(seed)
    ids = rng.integers(1, sizes[0], size=(BATCH, TIME)).astype("int64")
    batches = [ids, np.concatenate([ids, np.zeros((BATCH, PADDING), "int64")], axis=1)]
    return ObservedModels(build, sizes, _architecture, batches, rng)


def _recompute(seen: ObservedModels, judge, weights, batch: int) -> np.ndarray:
    """The judge's model with ``weights`` on batch ``batch``: always finite, in (0, 1)?"""
    out = seen.outputs(judge, weights, batch)
    if not np.all(np.isfinite(out) & (out > 0) & (out < 1)):
        raise CheckFailed(
            "rebuilt with your model's weights, the model gives NaN or values outside "
            "(0, 1): are all its weights finite?"
        )
    return out


def _well_formed(runs) -> None:
    """The probe's reply has the form classifier_probe gives (the kernel may send anything)."""
    ok = type(runs) is list and len(runs) == 2 and all(is_model_run(run, 2) for run in runs)
    if not ok:
        raise CheckFailed("the model could not be probed: its probe sent back malformed data")


def _check_sizes(seen: ObservedModels) -> None:
    seen.weight_shapes(
        "build_lstm_classifier", lambda bidirectional: _describe(seen.sizes, bidirectional)
    )


def _check_outputs(seen: ObservedModels) -> None:
    require(_check_sizes, seen)
    for bidirectional, run, judge, load in seen.settings():
        what = f"the output (bidirectional={bidirectional})"
        out = assert_shape(run["outputs"][0], (BATCH, 1), f"the model's {what[4:]}")
        if not np.all((out > 0) & (out < 1)):
            raise CheckFailed("outputs should be probabilities in (0, 1): end with a sigmoid unit")
        arch = _describe(seen.sizes, bidirectional)
        assert_close(
            out,
            _recompute(seen, judge, run["weights"], 0),
            f"{what}, compared with {arch} rebuilt with your model's weights,",
            atol=ATOL,
        )
        assert_close(
            seen.loaded(run, bidirectional)[0],
            _recompute(seen, judge, load, 0),
            f"{what} with weights the grader chose, compared with {arch},",
            atol=ATOL,
        )


def _check_padding(seen: ObservedModels) -> None:
    require(_check_sizes, seen)
    for bidirectional, run, judge, load in seen.settings():
        for outputs, weights, whose in [
            (run["outputs"], run["weights"], "its own weights"),
            (seen.loaded(run, bidirectional), load, "weights the grader chose"),
        ]:
            what = f"output on the padded batch (bidirectional={bidirectional}, {whose})"
            assert_close(outputs[1], np.asarray(outputs[0]), what, atol=1e-5)
            assert_close(
                outputs[1],
                _recompute(seen, judge, weights, 1),
                f"{what}, compared with the requested layers rebuilt with the same weights,",
                atol=ATOL,
            )


def assert_classifier(build, vocab_size: int, embedding_dim: int, units: int, seed: int = 0):
    """Every judgement of exercise 3.1 for other sizes (for hidden tests): CheckFailed if any
    fails."""
    seen = _observe(build, (vocab_size, embedding_dim, units), seed)
    _check_sizes(seen)
    _check_outputs(seen)
    _check_padding(seen)


@public_check(
    "3.1",
    "returns a keras.Model with the requested sizes (Embedding, LSTM or Bidirectional(LSTM), "
    "Dense)",
    gate=True,
)
def _classifier_sizes(build_lstm_classifier):
    _check_sizes(_observe(build_lstm_classifier, (VOCAB, EMBED, UNITS), 1))


@public_check(
    "3.1",
    "maps token ids (batch, time) to probabilities (batch, 1) as the requested layers do "
    "(rebuilt by the checker with your model's weights)",
)
def _classifier_outputs(build_lstm_classifier):
    _check_outputs(_observe(build_lstm_classifier, (VOCAB, EMBED, UNITS), 2))


@public_check("3.1", "ignores padding: the same review padded longer gives the same output")
def _classifier_masks(build_lstm_classifier):
    _check_padding(_observe(build_lstm_classifier, (VOCAB, EMBED, UNITS), 3))


# ---------------------------------------------------------------- 3.2 last_real_step
#
# Judge: the outputs of an LSTM that reads the padding as words (return_sequences=True, no
# mask), gathered by the student at each row's last real step, against the final state of the
# same LSTM with the mask (Keras skips the padding); brute-force row indexing in the hidden
# test. Probe (for the model check): the function traced by tf.function, shapes unknown.

GATHER_BATCH, GATHER_TIME, GATHER_UNITS = 6, 8, 5


def _padded_lstm(seed: int):
    """``(outputs, mask, final)``: a random LSTM's outputs at every step of embedded reviews
    padded to a common length, read without a mask, and the final state Keras gives the same
    LSTM when the mask tells it where each review ends. Lengths 1..time, one row full."""
    import keras

    rng = fresh_rng(seed)
    lengths = rng.permutation(np.r_[1, GATHER_TIME, rng.integers(2, GATHER_TIME, GATHER_BATCH - 2)])
    mask = np.arange(GATHER_TIME)[None, :] < lengths[:, None]
    x = rng.normal(size=(GATHER_BATCH, GATHER_TIME, 3)).astype("float32")
    x[~mask] = rng.normal(size=3)  # the embedding of the padding id, read as a word
    every_step = keras.layers.LSTM(GATHER_UNITS, return_sequences=True)
    every_step.build((None, None, 3))
    weights = [(rng.normal(size=w.shape) * 0.6).astype("float32") for w in every_step.get_weights()]
    every_step.set_weights(weights)
    final = keras.layers.LSTM(GATHER_UNITS)
    final.build((None, None, 3))
    final.set_weights(weights)
    outputs = np.asarray(every_step(x))
    return outputs, mask, np.asarray(final(x, mask=mask), "float64")


def _gather_mistakes(outputs, mask) -> dict[str, np.ndarray]:
    lengths = mask.sum(axis=1)
    rows = np.arange(len(outputs))
    after = np.minimum(lengths, outputs.shape[1] - 1)
    return {
        "takes the step after the last real word (index length): the last real word of a "
        "sequence of length L is at index L - 1": outputs[rows, after],
        "takes the last step of the padded batch: in a batch padded to its longest sequence, "
        "that step is padding for every shorter one": outputs[:, -1],
        "takes the first step: the state there has read one word only": outputs[:, 0],
    }


def _check_last_step(got, outputs, mask, expected, what: str) -> None:
    got = assert_shape(got, expected.shape, what)
    if np.allclose(got, expected, atol=ATOL):
        return
    for mistake, value in _gather_mistakes(outputs, mask).items():
        if np.allclose(got, value, atol=ATOL):
            raise CheckFailed(f"{what} is wrong: it {mistake}")
    assert_close(got, expected, what, atol=ATOL)


@public_check("3.2", "returns one vector per sequence: shape (batch, units)", gate=True)
def _last_step_shape(last_real_step):
    outputs, mask, final = _padded_lstm(1)
    assert_shape(last_real_step(outputs, mask), final.shape, "the result")


@public_check(
    "3.2",
    "equals the final state Keras' LSTM gives with the mask (the same LSTM, reading the "
    "padding as words, gathered at each sequence's last real step)",
)
def _last_step_matches_mask(last_real_step):
    outputs, mask, final = _padded_lstm(2)
    _check_last_step(last_real_step(outputs, mask), outputs, mask, final, "the gathered state")


@public_check(
    "3.2",
    "runs inside a model: traced by tf.function for any batch size and length (keras.ops only)",
)
def _last_step_traced(last_real_step):
    outputs, mask, final = _padded_lstm(3)
    got = probe_with(last_real_step, traced_probe, outputs, mask)
    if type(got) is str:
        raise CheckFailed(
            f"traced as inside a model, it fails ({got}): use keras.ops only (no NumPy "
            "calls, no Python numbers of the batch size or length)"
        )
    _check_last_step(got, outputs, mask, final, "the traced function's result")


def assert_last_step(fn, seed: int = 0) -> None:
    """Hidden-test judge of 3.2: random outputs (not an LSTM's), the answer against
    brute-force indexing row by row; new values at padded steps change nothing."""
    rng = fresh_rng(seed)
    batch, time, units = 7, 10, 3
    lengths = rng.permutation(np.r_[1, time, rng.integers(1, time + 1, batch - 2)])
    mask = np.arange(time)[None, :] < lengths[:, None]
    outputs = rng.normal(size=(batch, time, units)).astype("float32")
    expected = np.stack([outputs[b, int(np.flatnonzero(mask[b])[-1])] for b in range(batch)])
    _check_last_step(fn(outputs, mask), outputs, mask, expected, "the gathered outputs")
    noisy = np.where(mask[..., None], outputs, 50.0).astype("float32")
    _check_last_step(fn(noisy, mask), noisy, mask, expected, "with new values at padding, it")
