"""answer_or_reference: the student's function once written, the reference only for the stub."""

import pytest

from seqcourse import answer_or_reference
from seqcourse.grading.notebook_format import stub_solution


def _stub_of(exercise_id: str):
    """The function a student copy holds for ``exercise_id`` (made by release's own stubber)."""
    source = stub_solution(
        "def answer(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n", exercise_id
    )
    space: dict = {}
    exec(source, space)
    return space["answer"]


def test_the_release_stub_falls_back_to_the_reference_once_and_says_so(capsys):
    run = answer_or_reference("6.3", _stub_of("6.3"), lambda x: x + 1)
    assert [run(1), run(2)] == [2, 3]
    out = capsys.readouterr().out
    assert out.count("Exercise 6.3 is not attempted yet") == 1


def test_a_written_answer_is_used_and_its_mistakes_are_not_hidden():
    calls = []

    def answer(x):
        calls.append(x)
        if x < 0:
            raise ValueError("negative")
        return -x

    run = answer_or_reference("6.3", answer, lambda x: x)
    assert run(3) == -3 and calls == [3]
    with pytest.raises(ValueError, match="negative"):
        run(-1)


def test_a_not_implemented_error_of_another_origin_propagates():
    def answer(x):
        raise NotImplementedError("half written")

    with pytest.raises(NotImplementedError, match="half written"):
        answer_or_reference("6.3", answer, lambda x: x)(1)
    # another exercise's stub is not this exercise's stub either
    with pytest.raises(NotImplementedError):
        answer_or_reference("6.3", _stub_of("6.2"), lambda x: x)(1)
