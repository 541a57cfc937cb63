"""The part of the autograder that runs *inside* a submission's kernel.

The grader injects, after a student's exercise cell, a cell that drops the cached
``seqcourse`` and ``seqcourse.grading`` modules (so a student who patched or replaced them
changes nothing), imports this module afresh and calls :func:`run_exercise_tests`. Results
leave the kernel as a display message of type :data:`RESULT_MIME` carrying a per-run secret token: text a student
prints, or a display message without the token, is never read as a score.
"""

from __future__ import annotations

from seqcourse.grading.public_checks import CheckResult, describe_error, run_public_checks

RESULT_MIME = "application/vnd.seqcourse.grade+json"


def injected_source(
    exercise_id: str, public_tests: list[str], hidden_tests: list[str], token: str
) -> str:
    """The code of the grading cell injected after exercise ``exercise_id``."""
    return (
        "def _seqcourse_grade_exercise():\n"
        "    import importlib, sys\n"
        "    for _name in [m for m in sys.modules if m == 'seqcourse' or m.startswith('seqcourse.grading')]:\n"
        "        del sys.modules[_name]\n"
        "    _autograde = importlib.import_module('seqcourse.grading.autograde')\n"
        f"    _autograde.run_exercise_tests(globals(), {exercise_id!r}, {public_tests!r}, {hidden_tests!r}, {token!r})\n"
        "_seqcourse_grade_exercise()\n"
        "del _seqcourse_grade_exercise\n"
    )


def _run_block(source: str, namespace: dict, label: str, extra: dict) -> CheckResult:
    """Execute one test block in a copy of the student's namespace; pass = nothing raised."""
    scope = dict(namespace)
    scope.update(extra)
    try:
        exec(compile(source, f"<{label}>", "exec"), scope)
    except NotImplementedError:
        return CheckResult(label, False, "not attempted yet", True)
    except AssertionError as err:
        return CheckResult(label, False, str(err) or "an assertion failed")
    except Exception as err:  # student code may raise anything
        return CheckResult(label, False, describe_error(err))
    return CheckResult(label, True)


def run_exercise_tests(
    namespace: dict, exercise_id: str, public_tests, hidden_tests, token: str
) -> None:
    """Run the master's public and hidden tests of one exercise and emit the results.

    Args:
        namespace: the student's global namespace (their functions live there).
        public_tests: sources of the public check cells, e.g. ``check("1.1", rnn_cell_forward)``.
        hidden_tests: sources of the hidden-test blocks (asserts).
        token: the grader's secret for this run, echoed in the result message.
    """
    from IPython.display import display

    collected: list[CheckResult] = []

    def grader_check(ex_id, *answers):
        results = run_public_checks(str(ex_id), *answers)
        collected.extend(results)

    tests: list[CheckResult] = []
    for n, source in enumerate(public_tests, 1):
        outcome = _run_block(source, namespace, f"public check cell {n}", {"check": grader_check})
        if not outcome.passed:  # the check call itself broke (e.g. the function is undefined)
            tests.append(outcome)
    tests = collected + tests
    for n, source in enumerate(hidden_tests, 1):
        tests.append(_run_block(source, namespace, f"hidden test {n}", {"check": grader_check}))
    payload = {"token": token, "exercise": exercise_id, "tests": [t.to_dict() for t in tests]}
    display({RESULT_MIME: payload}, raw=True)
