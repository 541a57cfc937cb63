"""Notebook 12's checks diagnose the classic mistakes of a scan and a minGRU step, and the
hidden-test judges reject what the public checks reject."""

import numpy as np
import pytest
from keras import ops

from seqcourse.grading import run_public_checks
from seqcourse.grading.checks.nb12 import (
    assert_composition,
    assert_min_gru_step,
    assert_scan,
)
from seqcourse.grading.public_checks import CheckFailed
from seqcourse.layers.min_rnn import interleave


def compose(earlier, later):
    (a1, b1), (a2, b2) = earlier, later
    return a1 * a2, a2 * b1 + b2


def later_first(earlier, later):
    (a1, b1), (a2, b2) = earlier, later
    return a1 * a2, a1 * b2 + b1


def odd_even_scan(operator, elems, skip_empty=True):
    """A correct answer written as a student would (the package's prefix_scan is banned).
    ``skip_empty=False``: the step for positions 2, 4, ... also runs when T == 2, on empty
    slices — right values, but XLA cannot differentiate it."""
    length = elems[0].shape[1]
    if length < 2:
        return tuple(elems)
    pairs = operator(tuple(e[:, 0:-1:2] for e in elems), tuple(e[:, 1::2] for e in elems))
    odd = odd_even_scan(operator, pairs, skip_empty)
    even = tuple(e[:, :1] for e in elems)
    if length > 2 or not skip_empty:
        before = tuple(o[:, : (length - 1) // 2] for o in odd)
        rest = operator(before, tuple(e[:, 2::2] for e in elems))
        even = tuple(ops.concatenate([e, v], axis=1) for e, v in zip(even, rest, strict=True))
    return tuple(interleave(v, o, length) for v, o in zip(even, odd, strict=True))


def empty_slice_scan(operator, elems):
    return odd_even_scan(operator, elems, skip_empty=False)


def flipped(elems, axis):
    return tuple(ops.flip(e, axis) for e in elems)


def loop_scan(operator, elems):
    """Correct prefixes, one operator call per step: the sequential scan."""
    prefixes = [tuple(e[:, :1] for e in elems)]
    for t in range(1, elems[0].shape[1]):
        prefixes.append(operator(prefixes[-1], tuple(e[:, t : t + 1] for e in elems)))
    return tuple(ops.concatenate(parts, axis=1) for parts in zip(*prefixes, strict=True))


def later_first_scan(operator, elems):
    return odd_even_scan(lambda earlier, later: operator(later, earlier), elems)


def reversed_scan(operator, elems):
    return flipped(odd_even_scan(operator, flipped(elems, 1)), 1)


def batch_axis_scan(operator, elems):
    swap = lambda es: tuple(ops.swapaxes(e, 0, 1) for e in es)  # noqa: E731
    return swap(odd_even_scan(operator, swap(elems)))


def exclusive_scan(operator, elems):
    prefixes = odd_even_scan(operator, elems)
    return tuple(ops.concatenate([ops.zeros_like(p[:, :1]), p[:, :-1]], axis=1) for p in prefixes)


def numpy_only_scan(operator, elems):
    """Correct on NumPy arrays, but converts tensors with np.asarray: cannot be traced."""
    return odd_even_scan(operator, tuple(np.asarray(e) for e in elems))


def step(swap=False, squash=None):
    def min_gru_step(x, h, kernel, bias):
        p = x @ kernel + bias
        z = 1 / (1 + np.exp(-p[:, : h.shape[1]]))
        candidate = p[:, h.shape[1] :] if squash is None else squash(p[:, h.shape[1] :])
        return z * h + (1 - z) * candidate if swap else (1 - z) * h + z * candidate

    return min_gru_step


def messages(exercise, answer):
    return " ".join(r.message for r in run_public_checks(exercise, answer) if not r.passed)


def test_correct_answers_pass_the_hidden_judges():
    assert_composition(compose, seed=3)
    assert_scan(odd_even_scan, seed=3)
    assert_min_gru_step(step(), seed=3)


def test_correct_answers_pass_every_public_check():
    for exercise, answer in (("12.1", compose), ("12.2", odd_even_scan), ("12.3", step())):
        assert messages(exercise, answer) == ""


def test_applying_the_later_update_first_is_named():
    assert "applies `later` first" in messages("12.1", later_first)
    with pytest.raises(CheckFailed, match="later"):
        assert_composition(later_first, seed=3)


@pytest.mark.parametrize(
    ("answer", "named"),
    [
        (later_first_scan, "operator(later, earlier)"),
        (reversed_scan, "backwards in time"),
        (batch_axis_scan, "axis 0"),
        (exclusive_scan, "one step late"),
        (loop_scan, "a loop over time"),
        (numpy_only_scan, "inside tf.function"),
        (empty_slice_scan, "no empty slice"),
    ],
)
def test_scan_mistakes_are_named(answer, named):
    assert named in messages("12.2", answer)
    with pytest.raises(CheckFailed):
        assert_scan(answer, seed=3)


def test_a_library_scan_is_banned():
    def uses_keras(operator, elems):
        return ops.associative_scan(operator, elems, axis=1)

    results = run_public_checks("12.2", uses_keras)
    assert not results[0].passed and "associative_scan" in results[0].message


@pytest.mark.parametrize(
    ("answer", "named"),
    [(step(swap=True), "z and 1 - z are swapped"), (step(squash=np.tanh), "has a tanh")],
)
def test_min_gru_step_mistakes_are_named(answer, named):
    assert named in messages("12.3", answer)
    with pytest.raises(CheckFailed):
        assert_min_gru_step(answer, seed=3)
