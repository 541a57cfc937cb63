"""Public checks of notebook 09 (video activity recognition). Oracle of 9.1: Keras, the
requested TimeDistributed(encoder) -> GRU -> Dense(softmax) model rebuilt by the judge with the
student's model's weights and with weights it chooses."""

from __future__ import annotations

import contextlib
import random

import numpy as np

from seqcourse.grading.public_checks import (
    CheckFailed,
    assert_close,
    assert_shape,
    fresh_rng,
    is_model_run,
    model_run,
    probe_with,
    public_check,
    replaces,
    require,
)

# frame height, width, channels; encoder features; GRU units; classes
SIZES = (6, 5, 2, 4, 3, 7)
BATCH = 3
FRAMES = (6, 3, 9)  # clip lengths: the model must take any number of frames
ATOL = 2e-5  # float32 outputs of the same Keras computation, in two processes

replaces("9.1", "cnn_gru_classifier")  # the reference the lesson falls back on

# ---------------------------------------------------------------- 9.1 build_cnn_gru
#
# Probe (in the student's kernel): build a small frame encoder, pass it to the student's
# builder, run the model on clips of several lengths with its own weights, then with weights
# the grader chose. Judge (here): rebuild Input((None, h, w, c)) -> TimeDistributed(encoder)
# -> GRU(units) -> Dense(classes, softmax) with the same weights and compare. A made-up output,
# or weights that do not produce the outputs sent, fail.


@contextlib.contextmanager
def _lesson_seeds_kept():
    """Keras draws the seed of every unseeded initializer from Python's ``random``: restore
    its state after the models a check builds, so the lesson's own models start as they would
    without the check."""
    state = random.getstate()
    try:
        yield
    finally:
        random.setstate(state)


def _encoder(sizes):
    """The frame encoder the checks hand to the builder: (h, w, c) frame -> (features,)."""
    import keras

    height, width, channels, features, _, _ = sizes
    return keras.Sequential(
        [
            keras.Input((height, width, channels)),
            keras.layers.Conv2D(features, 3, activation="relu"),
            keras.layers.GlobalMaxPooling2D(),
        ]
    )


def cnn_gru_probe(build, sizes, clips, load):
    """Kernel side of 9.1 (see :func:`~seqcourse.grading.public_checks.probe_with`): the
    student's model's class, weights and outputs on each of ``clips``, then its outputs with
    the weights ``load``. Plain data only."""
    *_, units, classes = sizes
    with _lesson_seeds_kept():
        return model_run(build(_encoder(sizes), classes, units), clips, load)


def _architecture(sizes, go_backwards=False, activation="softmax"):
    """The model exercise 9.1 asks for, built by the judge (the oracle is Keras itself);
    ``go_backwards`` and ``activation`` give the classic wrong variants, for diagnosis."""
    import keras

    height, width, channels, _, units, classes = sizes
    clips = keras.Input((None, height, width, channels))
    x = keras.layers.TimeDistributed(_encoder(sizes))(clips)
    x = keras.layers.GRU(units, go_backwards=go_backwards)(x)
    return keras.Model(clips, keras.layers.Dense(classes, activation=activation)(x))


def _describe(sizes) -> str:
    *_, units, classes = sizes
    return f"TimeDistributed(frame_encoder) -> GRU({units}) -> Dense({classes}, softmax)"


class _Observed:
    """One probe of a student's builder: what it returned, and the judge's own model."""

    def __init__(self, build, sizes, seed: int):
        rng = fresh_rng(seed)
        self.sizes = tuple(sizes)
        frame = sizes[:3]
        self.clips = [rng.random((BATCH, t, *frame)).astype("float32") for t in FRAMES]
        with _lesson_seeds_kept():
            self.judge = _architecture(self.sizes)
        self.load = [
            (rng.normal(size=w.shape) * 0.5).astype("float32") for w in self.judge.get_weights()
        ]
        self.run = probe_with(build, cnn_gru_probe, self.sizes, self.clips, self.load)
        _well_formed(self.run)

    def recompute(self, weights, clip: int, **variant) -> np.ndarray:
        """The judge's model (or a ``variant`` of it) with ``weights`` on clip batch ``clip``."""
        with _lesson_seeds_kept():
            model = _architecture(self.sizes, **variant) if variant else self.judge
        model.set_weights(weights)
        return np.asarray(model(self.clips[clip]), dtype="float64")


def _well_formed(run) -> None:
    """The probe's reply has the form cnn_gru_probe gives (the kernel may send anything)."""
    if not is_model_run(run, len(FRAMES)):
        raise CheckFailed("the model could not be probed: its probe sent back malformed data")


def _shape_hint(want, got, units: int) -> str:
    """The classic wrong recurrent layer, named from the weight shapes found."""
    shapes = set(got)
    if any(len(s) == 2 and s[1] == 4 * units for s in shapes):
        return " (weights of width 4 x units: an LSTM; the exercise asks for a GRU)"
    if (3 * units,) in shapes and (2, 3 * units) not in shapes:
        return (
            f" (a GRU bias of shape ({3 * units},): reset_after=False; keep Keras' default "
            f"reset_after=True, whose bias has shape (2, {3 * units}))"
        )
    if not any(len(s) == 2 and s[1] == 3 * units for s in shapes):
        return (
            " (no GRU weights: a model that pools or averages the frames cannot tell an "
            "activity from its reversal; read them with a GRU)"
        )
    return ""


def _check_sizes(seen: _Observed) -> None:
    run, units = seen.run, seen.sizes[4]
    if not run["is_model"]:
        raise CheckFailed(f"build_cnn_gru should return a keras.Model, got {run['type'][:80]}")
    want = [tuple(w.shape) for w in seen.judge.get_weights()]
    got = [tuple(w.shape) for w in run["weights"]]
    if got != want:
        raise CheckFailed(
            f"expected {sum(int(np.prod(s)) for s in want)} weights in arrays of shapes {want} "
            f"({_describe(seen.sizes)}), found {sum(int(np.prod(s)) for s in got)} in "
            f"{got[:12]}{_shape_hint(want, got, units)}"
        )
    classes = seen.sizes[5]
    for out, frames in zip(run["outputs"], FRAMES, strict=True):
        if out.ndim == 3:
            raise CheckFailed(
                f"the output has shape {out.shape}, one prediction per frame: many-to-one "
                "keeps only the GRU's final state (return_sequences=False)"
            )
        assert_shape(out, (BATCH, classes), f"the output on clips of {frames} frames")


def _diagnose(seen: _Observed, out, weights, clip: int) -> str:
    """Which classic mistake reproduces ``out``, if any."""
    if not np.allclose(np.sum(out, axis=-1), 1, atol=1e-4) or np.any(out < 0):
        return "the outputs are not probabilities: end with Dense(classes, softmax). "
    if np.allclose(out, seen.recompute(weights, clip, go_backwards=True), atol=ATOL):
        return "your GRU reads the frames in reverse order: keep go_backwards=False. "
    return ""


def _compare(seen: _Observed, clip: int) -> None:
    run = seen.run
    if "load_error" in run:
        raise CheckFailed(
            f"weights of the requested sizes could not be loaded into your model "
            f"({run['load_error']})"
        )
    frames = FRAMES[clip]
    for out, weights, whose in [
        (run["outputs"][clip], run["weights"], "its own weights"),
        (run["loaded"][clip], seen.load, "weights the grader chose"),
    ]:
        expected = seen.recompute(weights, clip)
        what = (
            f"the output on clips of {frames} frames ({whose}), compared with "
            f"{_describe(seen.sizes)} rebuilt with the same weights,"
        )
        try:
            assert_close(out, expected, what, atol=ATOL)
        except CheckFailed as err:
            raise CheckFailed(f"{_diagnose(seen, out, weights, clip)}{err}") from None


def _check_outputs(seen: _Observed) -> None:
    require(_check_sizes, seen)
    _compare(seen, 0)


def _check_lengths(seen: _Observed) -> None:
    require(_check_sizes, seen)
    for clip in range(1, len(FRAMES)):
        _compare(seen, clip)


def assert_cnn_gru(build, frame_shape, features: int, units: int, classes: int, seed: int = 0):
    """Every judgement of exercise 9.1 for other sizes (for hidden tests): CheckFailed if any
    fails. ``frame_shape`` is (height, width, channels), each at least 3."""
    seen = _Observed(build, (*frame_shape, features, units, classes), seed)
    _check_sizes(seen)
    _check_outputs(seen)
    _check_lengths(seen)


@public_check(
    "9.1",
    "returns a keras.Model with the requested weights (encoder, GRU, Dense) and one "
    "prediction per clip (batch, classes)",
    gate=True,
)
def _cnn_gru_sizes(build_cnn_gru):
    _check_sizes(_Observed(build_cnn_gru, SIZES, 1))


@public_check(
    "9.1",
    "maps clips to class probabilities as TimeDistributed(encoder) -> GRU -> Dense(softmax) "
    "does (rebuilt by the checker with your model's weights)",
)
def _cnn_gru_outputs(build_cnn_gru):
    _check_outputs(_Observed(build_cnn_gru, SIZES, 2))


@public_check("9.1", "takes clips of any number of frames (3 and 9), read in order")
def _cnn_gru_lengths(build_cnn_gru):
    _check_lengths(_Observed(build_cnn_gru, SIZES, 3))
