"""Public checks of notebook 01 against correct, wrong and unattempted answers."""

import numpy as np
import pytest

from seqcourse.grading import check, run_public_checks
from seqcourse.grading.public_checks import format_report


# Reference answers, written here independently of the master notebook.
def cell_forward(x_t, h_prev, W_x, W_h, b):
    return np.tanh(x_t @ W_x + h_prev @ W_h + b)


def forward(xs, h0, W_x, W_h, b):
    states, h = [], h0
    for t in range(xs.shape[1]):
        h = cell_forward(xs[:, t], h, W_x, W_h, b)
        states.append(h)
    return np.stack(states, 1)


def step_backward(dh, x_t, h_prev, h_t, W_x, W_h):
    dz = dh * (1 - h_t**2)
    return dz @ W_x.T, dz @ W_h.T, x_t.T @ dz, h_prev.T @ dz, dz.sum(0)


def stub(*args):
    raise NotImplementedError("Exercise: not attempted yet")


@pytest.mark.parametrize(
    ("ex", "fn"), [("1.1", cell_forward), ("1.2", forward), ("1.3", step_backward)]
)
def test_correct_answers_pass(ex, fn, capsys):
    assert check(ex, fn) is None
    assert "all checks passed" in capsys.readouterr().out
    assert all(r.passed for r in run_public_checks(ex, fn))


@pytest.mark.parametrize("ex", ["1.1", "1.2", "1.3"])
def test_stub_is_not_attempted(ex, capsys):
    check(ex, stub)
    out = capsys.readouterr().out
    assert "not attempted yet" in out and "Traceback" not in out


def test_ignoring_the_previous_state_fails_on_values_not_shape():
    results = run_public_checks("1.1", lambda x, h, W_x, W_h, b: np.tanh(x @ W_x + b))
    assert [r.passed for r in results] == [True, False]
    assert "differs from the expected values" in results[1].message


def test_reversed_time_order_fails():
    results = run_public_checks("1.2", lambda xs, h0, *w: forward(xs, h0, *w)[:, ::-1])
    assert not results[1].passed


def test_wrong_shape_is_named():
    results = run_public_checks("1.2", lambda xs, h0, *w: forward(xs, h0, *w)[:, -1])
    assert "has shape (3, 5), expected (3, 6, 5)" in results[0].message


def test_missing_return_is_explained():
    results = run_public_checks("1.1", lambda *a: None)
    assert "did you forget a `return`" in results[0].message


def test_backward_with_wrong_tanh_derivative_fails():
    def wrong(dh, x_t, h_prev, h_t, W_x, W_h):
        return step_backward(dh / (1 - h_t**2) * (1 - h_t), x_t, h_prev, h_t, W_x, W_h)

    results = run_public_checks("1.3", wrong)
    assert results[0].passed and not results[1].passed


def test_backward_returning_too_few_arrays():
    results = run_public_checks("1.3", lambda *a: step_backward(*a)[:3])
    assert "tuple of 5 arrays" in results[0].message


def test_student_exception_is_reported_with_its_line():
    def broken(x_t, h_prev, W_x, W_h, b):
        return x_t @ W_h  # shapes do not align

    results = run_public_checks("1.1", broken)
    assert "your code raised ValueError" in results[0].message and "line" in results[0].message


def test_unknown_exercise_is_a_clear_error():
    with pytest.raises(KeyError, match="no exercise '9.9'"):
        check("9.9", cell_forward)


def test_report_counts_checks():
    text = format_report(
        "1.1", run_public_checks("1.1", lambda x, h, W_x, W_h, b: np.tanh(x @ W_x + b))
    )
    assert "[PASS]" in text and "[FAIL]" in text and "1 of 2 checks passed" in text
