"""Notebook 12's checks diagnose the classic mistakes of a scan and a minGRU step, and the
hidden-test judges reject what the public checks reject."""

import numpy as np
import pytest
from keras import ops

from seqcourse.grading import run_public_checks
from seqcourse.grading.checks.nb12 import (
    assert_composition,
    assert_min_gru_step,
    assert_parallel_recurrence,
)
from seqcourse.grading.public_checks import CheckFailed


def compose(earlier, later):
    (a1, b1), (a2, b2) = earlier, later
    return a1 * a2, a2 * b1 + b2


def later_first(earlier, later):
    (a1, b1), (a2, b2) = earlier, later
    return a1 * a2, a1 * b2 + b1


def scan(**options):
    def parallel_recurrence(a, b):
        return ops.associative_scan(compose, (a, b), **options)[1]

    return parallel_recurrence


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
    assert_parallel_recurrence(scan(axis=1), seed=3)
    assert_min_gru_step(step(), seed=3)


def test_applying_the_later_update_first_is_named():
    assert "applies `later` first" in messages("12.1", later_first)
    with pytest.raises(CheckFailed, match="later"):
        assert_composition(later_first, seed=3)


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"axis": 1, "reverse": True}, "backwards in time"),
        ({"axis": 0}, "axis 0"),
    ],
)
def test_scan_mistakes_are_named(options, named):
    assert named in messages("12.2", scan(**options))
    with pytest.raises(CheckFailed):
        assert_parallel_recurrence(scan(**options), seed=3)


def test_returning_the_decay_products_is_named():
    def decays(a, b):
        return ops.associative_scan(compose, (a, b), axis=1)[0]

    assert "products of the decays" in messages("12.2", decays)


def test_a_loop_library_call_is_banned():
    def uses_the_package(a, b):
        from seqcourse.layers.min_rnn import linear_recurrence

        return linear_recurrence(a, b)

    results = run_public_checks("12.2", uses_the_package)
    assert not results[0].passed and "linear_recurrence" in results[0].message


@pytest.mark.parametrize(
    ("answer", "named"),
    [(step(swap=True), "z and 1 - z are swapped"), (step(squash=np.tanh), "has a tanh")],
)
def test_min_gru_step_mistakes_are_named(answer, named):
    assert named in messages("12.3", answer)
    with pytest.raises(CheckFailed):
        assert_min_gru_step(answer, seed=3)
