"""The student's answer where the lesson uses it, the reference while the exercise is a stub.

A notebook that *uses* what an exercise asks for (a beam-search step, a CTC recursion, a model
builder) calls it through :func:`answer_or_reference`, so the student's own code runs the
pipeline once written, and the lesson still runs, clearly marked, while it is not.
"""

from __future__ import annotations

import functools
from collections.abc import Callable


def is_stub_error(err: BaseException, exercise_id: str) -> bool:
    """Is ``err`` the ``NotImplementedError`` of exercise ``exercise_id``'s release stub?"""
    return isinstance(err, NotImplementedError) and str(err).startswith(
        f"Exercise {exercise_id}: not attempted yet"
    )


def answer_or_reference(exercise_id: str, answer: Callable, reference: Callable) -> Callable:
    """A callable that runs ``answer`` (the student's function), or ``reference`` from the first
    call on which ``answer`` is still the untouched stub of exercise ``exercise_id``.

    The switch is announced once, naming the exercise, so a student never mistakes the
    reference's results for their own. Any other exception from ``answer`` propagates: a
    mistake in written code is the student's to see, never hidden by the fallback.

    Example:
        >>> def stub(x):
        ...     raise NotImplementedError("Exercise 9.9: not attempted yet")
        >>> double = answer_or_reference("9.9", stub, lambda x: 2 * x)
        >>> double(21)
        Exercise 9.9 is not attempted yet: this step uses the course's reference `<lambda>` so the lesson runs. Write 9.9 and rerun to use your own.
        42
        >>> double(1)
        2
    """
    exercise_id = str(exercise_id)
    chosen: list[Callable] = []

    @functools.wraps(answer)
    def run(*args, **kwargs):
        if chosen:
            return chosen[0](*args, **kwargs)
        try:
            result = answer(*args, **kwargs)
        except NotImplementedError as err:
            if not is_stub_error(err, exercise_id):
                raise
            name = getattr(reference, "__qualname__", repr(reference))
            print(
                f"Exercise {exercise_id} is not attempted yet: this step uses the course's "
                f"reference `{name}` so the lesson runs. Write {exercise_id} and rerun to use "
                "your own."
            )
            chosen.append(reference)
            return reference(*args, **kwargs)
        chosen.append(answer)
        return result

    return run
