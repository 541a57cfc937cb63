"""Public checks of notebook 08 (speech recognition). Oracles: ``keras.ops.ctc_decode``
(greedy) for the collapse rule; for the CTC forward recursion, brute-force enumeration of every
frame path (tiny cases) and ``keras.ops.ctc_loss`` (long ones)."""

from __future__ import annotations

import itertools

import numpy as np

from seqcourse.grading.public_checks import (
    CheckFailed,
    assert_close,
    fresh_rng,
    public_check,
    replaces,
)

replaces("8.1", "ctc_decode", "collapse_path")
replaces("8.2", "ctc_loss", "ctc_decode", "keras_ctc_log_likelihood")


def _keras_collapse(frame_ids, classes: int = 6) -> list[int]:
    import keras

    frame_ids = np.asarray(frame_ids)
    one_hot = np.eye(classes)[frame_ids][None].astype("float32")  # argmax = the given ids
    decoded, _ = keras.ops.ctc_decode(one_hot, np.array([len(frame_ids)]), strategy="greedy")
    return [int(i) for i in np.asarray(decoded[0][0]) if i >= 0]


# ---------------------------------------------------------------- 8.1 collapse


def _compare_collapse(collapse, rng, count: int, classes: int = 6) -> None:
    for _ in range(count):
        path = rng.integers(0, classes, rng.integers(1, 20))
        got = collapse(path)
        expected = _keras_collapse(path, classes)
        if type(got) not in (list, tuple) or list(map(int, got)) != expected:
            raise CheckFailed(f"collapse({path.tolist()}) returned {got!r}, expected {expected}")


def assert_collapse(collapse, seed: int = 0) -> None:
    """Judge of exercise 8.1 for hidden tests: keras.ops.ctc_decode on other random paths
    (more classes, empty and all-blank paths). CheckFailed if any differs."""
    for path, expected in [([], []), ([0, 0, 0], [])]:
        if list(collapse(path)) != expected:
            raise CheckFailed(f"collapse({path}) should be {expected}")
    _compare_collapse(collapse, fresh_rng(seed), 200, classes=9)


@public_check(
    "8.1", "merges repeats, then drops blanks: [1,1,0,2,2,0,0,2] -> [1, 2, 2]", fixed=True
)
def _collapse_example(collapse):
    got = collapse([1, 1, 0, 2, 2, 0, 0, 2])
    if list(map(int, got)) != [1, 2, 2]:
        raise CheckFailed(
            f"collapse([1, 1, 0, 2, 2, 0, 0, 2]) returned {got!r}, expected [1, 2, 2] "
            "(the blank between the 2s keeps them apart)"
        )


@public_check("8.1", "agrees with keras.ops.ctc_decode on 100 random frame paths")
def _collapse_random(collapse):
    _compare_collapse(collapse, fresh_rng(0), 100)


# ---------------------------------------------------------------- 8.2 ctc_log_likelihood
#
# The oracles: every path of T frames over C classes enumerated (C**T of them, tiny cases)
# and keras.ops.ctc_loss. The mistakes named in the messages are recognised by running the
# recursion with that mistake (``_variant``), for diagnosis only.


def _log_probs(rng, frames: int, classes: int) -> np.ndarray:
    logits = rng.normal(size=(frames, classes)) * 1.5
    return logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)


def all_paths_log_likelihood(log_probs, labels, blank: int = 0) -> float:
    """log of the summed probability of every frame path that collapses to ``labels``."""
    frames, classes = log_probs.shape
    total = -np.inf
    for path in itertools.product(range(classes), repeat=frames):
        kept = [k for k, _ in itertools.groupby(path) if k != blank]
        if kept == list(labels):
            total = np.logaddexp(total, log_probs[np.arange(frames), path].sum())
    return float(total)


def _keras(log_probs, labels, blank: int = 0) -> float:
    import keras

    loss = keras.ops.ctc_loss(
        np.asarray(labels, "int32")[None],
        np.asarray(log_probs, "float32")[None],
        np.array([len(labels)]),
        np.array([len(log_probs)]),
        mask_index=blank,
    )
    return -float(np.asarray(loss)[0])


def _variant(log_probs, labels, blank=0, skip="different", final=(-1, -2)) -> float:
    """The forward recursion with a classic mistake, to name it: ``skip`` "none" (no skip
    over a blank), "always" (also between equal labels); ``final`` the states summed."""
    states = [blank]
    for label in labels:
        states += [label, blank]
    alpha = np.full(len(states), -np.inf)
    alpha[:2] = log_probs[0, states[:2]]
    for t in range(1, len(log_probs)):
        new = alpha.copy()
        new[1:] = np.logaddexp(alpha[1:], alpha[:-1])
        for s in range(2, len(states)):
            allowed = states[s] != blank and (
                skip == "always" or (skip == "different" and states[s] != states[s - 2])
            )
            if allowed:
                new[s] = np.logaddexp(new[s], alpha[s - 2])
        alpha = new + log_probs[t, states]
    return float(np.logaddexp.reduce(alpha[list(final)]))


_MISTAKES = [
    (
        {"skip": "none"},
        "you never skip a blank: the path may jump from one label straight to the next "
        "different label (state s - 2 -> s). ",
    ),
    (
        {"skip": "always"},
        "you allow the jump over a blank between two EQUAL labels: a repeated letter must "
        "have a blank between its copies, or the collapse merges them. ",
    ),
    ({"final": (-1,)}, "you end only in the final blank: also add the state of the last label. "),
    ({"final": (-2,)}, "you end only on the last label: also add the final blank's state. "),
]


def _diagnose(got, log_probs, labels) -> str:
    for variant, message in _MISTAKES:
        if np.isclose(got, _variant(log_probs, labels, **variant), atol=1e-6):
            return message
    return ""


def _compare_ctc(fn, log_probs, labels, expected, what, atol) -> None:
    got = fn(np.array(log_probs), list(labels))
    if not isinstance(got, (float, int, np.floating, np.integer)) and np.ndim(got) != 0:
        raise CheckFailed(f"expected one number (a log-probability), got {type(got).__name__}")
    if not np.isfinite(got) and np.isfinite(expected):
        raise CheckFailed(
            f"{what}: you gave {got!r}, expected {expected:.6g}. Over many frames the path "
            "probabilities underflow to 0: work with log-probabilities (np.logaddexp) or "
            "rescale alpha at every frame"
        )
    try:
        assert_close(np.float64(got), expected, what, atol=atol)
    except CheckFailed as err:
        raise CheckFailed(f"{_diagnose(float(got), log_probs, labels)}{err}") from None


def _tiny_cases(rng):
    """(log_probs, labels): each with a repeated label, over 3 or 4 classes."""
    yield _log_probs(rng, 5, 3), [1, 1]
    yield _log_probs(rng, 6, 3), [2, 1, 2]
    yield _log_probs(rng, 5, 4), [3, 1]


def _checkall_paths_log_likelihood(fn, rng, cases) -> None:
    for log_probs, labels in cases:
        _compare_ctc(
            fn,
            log_probs,
            labels,
            all_paths_log_likelihood(log_probs, labels),
            f"log p({labels} | {len(log_probs)} frames) against all "
            f"{log_probs.shape[1]}**{len(log_probs)} paths enumerated",
            atol=1e-8,
        )


def _check_keras(fn, rng, frames: int, classes: int, length: int) -> None:
    labels = list(rng.integers(1, classes, length))
    labels[1] = labels[0]  # a repeat: it needs a blank between its copies
    log_probs = _log_probs(rng, frames, classes)
    _compare_ctc(
        fn,
        log_probs,
        labels,
        _keras(log_probs, labels),
        f"log p(labels | {frames} frames) against keras.ops.ctc_loss",
        atol=2e-3 + 1e-5 * frames,  # Keras computes in float32
    )


def assert_ctc_log_likelihood(fn, seed: int = 0) -> None:
    """Judge of exercise 8.2 for hidden tests: other tiny cases against brute force, and a
    400-frame utterance against keras.ops.ctc_loss (its probability underflows float64 unless
    the recursion works in log space or rescales)."""
    rng = fresh_rng(seed)
    cases = [(_log_probs(rng, 4, 5), [4, 2]), (_log_probs(rng, 7, 3), [1, 2, 1, 1])]
    _checkall_paths_log_likelihood(fn, rng, cases)
    _check_keras(fn, rng, 400, 28, 40)


@public_check("8.2", "returns one finite number, the log-probability (at most 0)", gate=True)
def _ctc_number(ctc_log_likelihood):
    got = ctc_log_likelihood(_log_probs(fresh_rng(1), 4, 3), [1, 2])
    if np.ndim(got) != 0 or not np.isfinite(got) or got > 1e-9:
        raise CheckFailed(f"expected one finite log-probability <= 0, got {got!r}")


@public_check(
    "8.2", "sums every alignment: equals enumerating all frame paths (5-6 frames, 3-4 classes)"
)
def _ctcall_paths_log_likelihood(ctc_log_likelihood):
    rng = fresh_rng(2)
    _checkall_paths_log_likelihood(ctc_log_likelihood, rng, list(_tiny_cases(rng)))


@public_check("8.2", "agrees with keras.ops.ctc_loss on a 60-frame utterance, 28 classes")
def _ctc_keras(ctc_log_likelihood):
    _check_keras(ctc_log_likelihood, fresh_rng(3), 60, 28, 12)
