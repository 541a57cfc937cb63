"""Public exercise checks: the feedback a student gets from ``check("1.2", fn)``.

Checks are registered per exercise with :func:`public_check` in ``seqcourse.grading.checks.nbNN``
(one module per notebook, imported on first use). A check receives the student's answer(s) and
raises :class:`CheckFailed` (or ``AssertionError``) with a reason; its oracle is Keras or a
numerical computation, never the reference solution.
"""

from __future__ import annotations

import importlib
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

_REGISTRY: dict[str, list[tuple[str, Callable]]] = {}


class CheckFailed(AssertionError):
    """Raised by a check with a reason meant for the student."""


@dataclass
class CheckResult:
    """The outcome of one check: passed, failed with a reason, or not attempted."""

    name: str
    passed: bool
    message: str = ""
    not_attempted: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


def public_check(exercise_id: str, name: str):
    """Decorator registering ``fn(*answers)`` as a public check of ``exercise_id``."""

    def register(fn):
        _REGISTRY.setdefault(exercise_id, []).append((name, fn))
        return fn

    return register


def _load_checks(exercise_id: str) -> list[tuple[str, Callable]]:
    chapter = exercise_id.split(".")[0]
    module = f"seqcourse.grading.checks.nb{int(chapter):02d}"
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as err:
        if err.name != module:
            raise
    if exercise_id not in _REGISTRY:
        raise KeyError(
            f"there is no exercise {exercise_id!r}; check the id written in the exercise header"
        )
    return _REGISTRY[exercise_id]


def describe_error(err: BaseException) -> str:
    """A one-line description of an exception raised by student code, with where it happened."""
    frames = traceback.extract_tb(err.__traceback__)
    student = [f for f in frames if "seqcourse" not in f.filename.replace("\\", "/").split("/")]
    where = f" (line {student[-1].lineno} of your code)" if student else ""
    return f"your code raised {type(err).__name__}: {err}{where}"


def run_public_checks(exercise_id: str, *answers) -> list[CheckResult]:
    """Run every public check of ``exercise_id`` on ``answers``; never raises for student errors."""
    results = []
    for name, fn in _load_checks(exercise_id):
        try:
            fn(*answers)
        except NotImplementedError:
            return [
                CheckResult(n, False, "not attempted yet", True) for n, _ in _REGISTRY[exercise_id]
            ]
        except AssertionError as err:
            results.append(CheckResult(name, False, str(err) or "assertion failed"))
        except Exception as err:  # the student's code may raise anything
            results.append(CheckResult(name, False, describe_error(err)))
        else:
            results.append(CheckResult(name, True))
    return results


def format_report(exercise_id: str, results: list[CheckResult]) -> str:
    """The text a student sees for one exercise's checks."""
    if results and all(r.not_attempted for r in results):
        return (
            f"Exercise {exercise_id}: not attempted yet. Replace the `raise NotImplementedError` "
            "line in the exercise cell with your code, run that cell, then run this one again."
        )
    lines = [f"Exercise {exercise_id}:"]
    for r in results:
        lines.append(
            f"  [{'PASS' if r.passed else 'FAIL'}] {r.name}"
            + ("" if r.passed else f": {r.message}")
        )
    passed = sum(r.passed for r in results)
    verdict = (
        "all checks passed"
        if passed == len(results)
        else f"{passed} of {len(results)} checks passed"
    )
    lines.append(f"  -> {verdict}")
    return "\n".join(lines)


def check(exercise_id: str, *answers) -> None:
    """Run the public checks of an exercise on the student's answer(s) and print the outcome.

    Prints one line per check (PASS, or FAIL with the reason) or "not attempted yet" for an
    untouched stub; never raises for mistakes in the student's code.
    """
    exercise_id = str(exercise_id)
    print(format_report(exercise_id, run_public_checks(exercise_id, *answers)))


# ----------------------------------------------------------------------------- check helpers


def as_array(value, what: str) -> np.ndarray:
    """Convert a student's return value to a float array or fail with a clear reason."""
    if value is None:
        raise CheckFailed(f"{what} is None: did you forget a `return`?")
    try:
        return np.asarray(value, dtype="float64")
    except (TypeError, ValueError) as err:
        raise CheckFailed(f"{what} should be a numeric array, got {type(value).__name__}") from err


def assert_shape(value, shape: tuple, what: str) -> np.ndarray:
    """Check ``value`` has ``shape`` and return it as an array."""
    array = as_array(value, what)
    if array.shape != tuple(shape):
        raise CheckFailed(f"{what} has shape {array.shape}, expected {tuple(shape)}")
    return array


def assert_close(actual, expected, what: str, atol: float = 1e-5) -> None:
    """Check two arrays agree to ``atol`` (after a shape check), naming the worst element."""
    expected = np.asarray(expected, dtype="float64")
    actual = assert_shape(actual, expected.shape, what)
    if not np.all(np.isfinite(actual)):
        raise CheckFailed(f"{what} contains NaN or infinite values")
    diff = np.abs(actual - expected)
    worst = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.size else ()
    if diff.size and diff[worst] > atol:
        where = f" at index {tuple(int(i) for i in worst)}" if diff.ndim else ""
        raise CheckFailed(
            f"{what} differs from the expected value{'s' if diff.ndim else ''} by up to "
            f"{diff[worst]:.3g}{where} (you gave {actual[worst]:.6g}, expected "
            f"{expected[worst]:.6g}; tolerance {atol:g})"
        )
