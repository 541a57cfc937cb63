"""Issue 37: answers that memorise the public checks' inputs earn nothing in a grade.

For each exercise the checks call directly, a correct answer is run once without the grader's
salt (as in a student's notebook) while a recorder keeps every (inputs -> output) pair; then a
"memorised" answer — that table, and junk for anything else — is checked with a grading run's
salt. Every check that carries points must fail it (the fixed, feedback-only examples may pass:
they earn nothing)."""

from __future__ import annotations

import hashlib
import pickle

import numpy as np
import pytest
from test_public_checks import CORRECT

from seqcourse.grading.public_checks import run_public_checks, set_salt
from seqcourse.grading.results import ExerciseScore

DIRECT = ["0.1", "0.2", "4.1", "6.2", "7.2", "8.1", "11.1", "11.2", "12.1", "12.3"]


def _key(args, kwargs) -> str:
    def plain(value):
        if hasattr(value, "numpy"):
            value = value.numpy()
        if isinstance(value, np.ndarray):
            return ("array", value.shape, str(value.dtype), value.tobytes())
        if isinstance(value, (list, tuple)):
            return tuple(plain(v) for v in value)
        return value

    blob = pickle.dumps((plain(list(args)), sorted((k, plain(v)) for k, v in kwargs.items())))
    return hashlib.sha256(blob).hexdigest()


@pytest.mark.parametrize("exercise", DIRECT)
def test_a_table_of_the_public_inputs_scores_zero(exercise):
    correct = dict(CORRECT)[exercise]
    table = {}

    def recorder(*args, **kwargs):
        out = correct(*args, **kwargs)
        try:
            table[_key(args, kwargs)] = out
        except (AttributeError, TypeError, ValueError):  # symbolic tensors (a traced check)
            pass
        return out

    recorder.__name__ = correct.__name__
    set_salt(None)
    assert all(r.passed for r in run_public_checks(exercise, recorder))  # the notebook's run
    assert table

    def memorised(*args, **kwargs):
        try:
            return table.get(_key(args, kwargs))  # None (junk) for inputs it has not seen
        except (AttributeError, TypeError, ValueError):
            return None

    memorised.__name__ = correct.__name__
    # the attack works where the inputs are fixed (the notebook's own check): it must win there
    won = [r for r in run_public_checks(exercise, memorised) if not r.gate and not r.fixed]
    assert sum(r.passed for r in won) >= 1, won
    set_salt(20261206)
    try:
        results = run_public_checks(exercise, memorised)
    finally:
        set_salt(None)
    earning = [r for r in results if not r.gate and not r.fixed]
    assert earning and not any(r.passed for r in earning), results
    assert ExerciseScore.from_tests(exercise, 2, [r.to_dict() for r in results]).score == 0
