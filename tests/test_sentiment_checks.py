"""The checks of notebook 03's exercise 3.2 (the output at each sequence's last real step) name
the classic mistakes, and its hidden-test judge passes the reference answer."""

import numpy as np
import pytest

from seqcourse.grading import run_public_checks
from seqcourse.grading.checks.nb03 import assert_last_step
from seqcourse.grading.public_checks import CheckFailed
from seqcourse.models import last_real_step


def last_of_batch(outputs, mask):
    return outputs[:, -1]


def first_step(outputs, mask):
    return outputs[:, 0]


def in_numpy(outputs, mask):
    outputs, mask = np.asarray(outputs), np.asarray(mask)
    return outputs[np.arange(len(outputs)), mask.sum(axis=1) - 1]


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (last_of_batch, "last step of the padded batch"),
        (first_step, "takes the first step"),
    ],
)
def test_last_step_mistakes_are_named(answer, words):
    results = run_public_checks("3.2", answer)
    assert [r.passed for r in results] == [True, False, False]
    assert words in results[1].message and words in results[2].message


def test_numpy_answer_is_right_but_cannot_run_in_a_model():
    results = run_public_checks("3.2", in_numpy)
    assert [r.passed for r in results] == [True, True, False]
    assert "use keras.ops only" in results[2].message


def test_wrong_shape_fails_the_gate():
    results = run_public_checks("3.2", lambda outputs, mask: np.asarray(outputs)[:, -1:])
    assert results[0].gate and not results[0].passed and "shape" in results[0].message


def test_hidden_judge_passes_the_reference_and_fails_mistakes():
    assert_last_step(last_real_step, seed=7)
    assert_last_step(in_numpy, seed=7)  # right values: only the public traced check needs ops
    with pytest.raises(CheckFailed, match="last step of the padded batch"):
        assert_last_step(last_of_batch, seed=7)
