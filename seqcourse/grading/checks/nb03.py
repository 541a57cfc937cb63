"""Public checks of notebook 03 (sentiment, many-to-one). Oracle of 3.1: Keras, the requested
architecture rebuilt with the student's model's weights."""

from __future__ import annotations

import numpy as np

from seqcourse.grading.public_checks import (
    CheckFailed,
    assert_close,
    assert_shape,
    fresh_rng,
    probe_with,
    public_check,
)

VOCAB, EMBED, UNITS = 50, 8, 6
BATCH, TIME, PADDING = 4, 7, 9
ATOL = 2e-5  # float32 outputs of the same Keras computation, in two processes

# ---------------------------------------------------------------- 3.1 build_lstm_classifier
#
# Probe (in the student's kernel): build the model for bidirectional False and True, run it on
# token ids with its own weights, then with weights the grader chose; return the weights and
# the outputs. Judge (here): rebuild Embedding(mask_zero) -> LSTM / Bidirectional(LSTM) ->
# Dense(1, sigmoid) with the same weights and compare. A made-up output, or weights that do
# not produce the outputs sent, fail; outputs on the grader's weights must be computed.


def classifier_probe(build, sizes, batches, weights):
    """Kernel side of 3.1 (see :func:`~seqcourse.grading.public_checks.probe_with`): for
    ``bidirectional`` False then True, the student's model's class, weights and outputs on each
    of ``batches``, then its outputs with ``weights[i]`` loaded instead. Plain data only."""
    import keras

    vocab, embed, units = sizes
    runs = []
    for bidirectional, load in zip((False, True), weights, strict=True):
        model = build(vocab, embed, units, bidirectional=bidirectional)
        run = {"type": type(model).__name__, "is_model": isinstance(model, keras.Model)}
        runs.append(run)
        if not run["is_model"]:
            continue
        run["outputs"] = [np.asarray(model(ids)) for ids in batches]
        run["weights"] = [np.asarray(w) for w in model.get_weights()]
        try:
            model.set_weights(load)
        except Exception as err:  # other sizes: the judge says which
            run["load_error"] = f"{type(err).__name__}: {err}"[:300]
        else:
            run["loaded"] = [np.asarray(model(ids)) for ids in batches]
    return runs


def _architecture(sizes, bidirectional: bool):
    """The model exercise 3.1 asks for, built by the judge (the oracle is Keras itself)."""
    import keras

    vocab, embed, units = sizes
    recurrent = keras.layers.LSTM(units)
    if bidirectional:
        recurrent = keras.layers.Bidirectional(recurrent)
    return keras.Sequential(
        [
            keras.Input((None,), dtype="int64"),
            keras.layers.Embedding(vocab, embed, mask_zero=True),
            recurrent,
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )


def _describe(sizes, bidirectional: bool) -> str:
    vocab, embed, units = sizes
    lstm = f"Bidirectional(LSTM({units}))" if bidirectional else f"LSTM({units})"
    return f"Embedding({vocab}, {embed}, mask_zero=True) -> {lstm} -> Dense(1, sigmoid)"


class _Observed:
    """One probe of a student's builder: what it returned, and the judge's own models."""

    def __init__(self, build, sizes, seed: int):
        rng = fresh_rng(seed)
        self.sizes = tuple(sizes)
        ids = rng.integers(1, sizes[0], size=(BATCH, TIME)).astype("int64")
        self.batches = [ids, np.concatenate([ids, np.zeros((BATCH, PADDING), "int64")], axis=1)]
        self.judges = [_architecture(sizes, b) for b in (False, True)]
        self.loads = [
            [(rng.normal(size=w.shape) * 0.5).astype("float32") for w in judge.get_weights()]
            for judge in self.judges
        ]
        self.runs = probe_with(build, classifier_probe, self.sizes, self.batches, self.loads)
        _well_formed(self.runs)

    def settings(self):
        """``(bidirectional, what the probe returned, the judge's model, the grader's weights)``."""
        return zip((False, True), self.runs, self.judges, self.loads, strict=True)

    def recompute(self, judge, weights, batch: int) -> np.ndarray:
        """The judge's model with ``weights`` on batch ``batch``: always finite, in (0, 1)?"""
        judge.set_weights(weights)
        out = np.asarray(judge(self.batches[batch]), dtype="float64")
        if not np.all(np.isfinite(out) & (out > 0) & (out < 1)):
            raise CheckFailed(
                "rebuilt with your model's weights, the model gives NaN or values outside "
                "(0, 1): are all its weights finite?"
            )
        return out


def _arrays(value, count: int) -> bool:
    return (
        type(value) is list
        and len(value) >= count
        and all(type(a) is np.ndarray and a.dtype.kind in "biuf" for a in value)
    )


def _well_formed(runs) -> None:
    """The probe's reply has the form classifier_probe gives (the kernel may send anything)."""
    ok = type(runs) is list and len(runs) == 2 and all(type(r) is dict for r in runs)
    for run in runs if ok else ():
        ok &= type(run.get("type")) is str and type(run.get("is_model")) is bool
        if ok and run["is_model"]:
            ok &= _arrays(run.get("outputs"), 2) and _arrays(run.get("weights"), 0)
            ok &= _arrays(run.get("loaded"), 2) or type(run.get("load_error")) is str
    if not ok:
        raise CheckFailed("the model could not be probed: its probe sent back malformed data")


def _check_sizes(seen: _Observed) -> None:
    vocab, embed, _ = seen.sizes
    for bidirectional, run, judge, _ in seen.settings():
        if not run["is_model"]:
            raise CheckFailed(
                f"build_lstm_classifier should return a keras.Model, got {run['type'][:80]}"
            )
        want = [tuple(w.shape) for w in judge.get_weights()]
        got = [tuple(w.shape) for w in run["weights"]]
        if got != want:
            count = sum(int(np.prod(s)) for s in got) - vocab * embed
            expected = sum(int(np.prod(s)) for s in want) - vocab * embed
            raise CheckFailed(
                f"with bidirectional={bidirectional}, expected {expected} weights besides the "
                f"embedding ({vocab}x{embed}), found {count}: "
                f"{_describe(seen.sizes, bidirectional)} has weight arrays of shapes {want}, "
                f"your model {got[:12]}"
            )


def _require_sizes(seen: _Observed) -> None:
    try:
        _check_sizes(seen)
    except CheckFailed:
        raise CheckFailed(
            "not compared: the model is not a keras.Model of the requested sizes (see the "
            "first check)"
        ) from None


def _loaded(run, bidirectional: bool) -> list:
    if "load_error" in run:
        raise CheckFailed(
            f"with bidirectional={bidirectional}, weights of the requested sizes could not be "
            f"loaded into your model ({run['load_error']})"
        )
    return run["loaded"]


def _check_outputs(seen: _Observed) -> None:
    _require_sizes(seen)
    for bidirectional, run, judge, load in seen.settings():
        what = f"the output (bidirectional={bidirectional})"
        out = assert_shape(run["outputs"][0], (BATCH, 1), f"the model's {what[4:]}")
        if not np.all((out > 0) & (out < 1)):
            raise CheckFailed("outputs should be probabilities in (0, 1): end with a sigmoid unit")
        arch = _describe(seen.sizes, bidirectional)
        assert_close(
            out,
            seen.recompute(judge, run["weights"], 0),
            f"{what}, compared with {arch} rebuilt with your model's weights,",
            atol=ATOL,
        )
        assert_close(
            _loaded(run, bidirectional)[0],
            seen.recompute(judge, load, 0),
            f"{what} with weights the grader chose, compared with {arch},",
            atol=ATOL,
        )


def _check_padding(seen: _Observed) -> None:
    _require_sizes(seen)
    for bidirectional, run, judge, load in seen.settings():
        for outputs, weights, whose in [
            (run["outputs"], run["weights"], "its own weights"),
            (_loaded(run, bidirectional), load, "weights the grader chose"),
        ]:
            what = f"output on the padded batch (bidirectional={bidirectional}, {whose})"
            assert_close(outputs[1], np.asarray(outputs[0]), what, atol=1e-5)
            assert_close(
                outputs[1],
                seen.recompute(judge, weights, 1),
                f"{what}, compared with the requested layers rebuilt with the same weights,",
                atol=ATOL,
            )


def assert_classifier(build, vocab_size: int, embedding_dim: int, units: int, seed: int = 0):
    """Every judgement of exercise 3.1 for other sizes (for hidden tests): CheckFailed if any
    fails."""
    seen = _Observed(build, (vocab_size, embedding_dim, units), seed)
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
    _check_sizes(_Observed(build_lstm_classifier, (VOCAB, EMBED, UNITS), 1))


@public_check(
    "3.1",
    "maps token ids (batch, time) to probabilities (batch, 1) as the requested layers do "
    "(rebuilt by the checker with your model's weights)",
)
def _classifier_outputs(build_lstm_classifier):
    _check_outputs(_Observed(build_lstm_classifier, (VOCAB, EMBED, UNITS), 2))


@public_check("3.1", "ignores padding: the same review padded longer gives the same output")
def _classifier_masks(build_lstm_classifier):
    _check_padding(_Observed(build_lstm_classifier, (VOCAB, EMBED, UNITS), 3))


# ---------------------------------------------------------------- 3.2 pair_accuracy


@public_check("3.2", "counts a pair only when both reviews are classified correctly")
def _pair_accuracy_values(pair_accuracy):
    p_first = np.array([0.9, 0.2, 0.6, 0.7])
    p_second = np.array([0.1, 0.3, 0.4, 0.8])
    labels_first = np.array([1, 0, 1, 0])
    assert_close(
        np.float64(pair_accuracy(p_first, p_second, labels_first)), 0.5, "pair accuracy", atol=1e-9
    )


@public_check("3.2", "accepts model outputs of shape (n, 1)")
def _pair_accuracy_column(pair_accuracy):
    p = np.array([[0.8], [0.3]])
    value = pair_accuracy(p, 1 - p, np.array([1, 0]))
    assert_close(value, 1.0, "pair accuracy", atol=1e-9)
