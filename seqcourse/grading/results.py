"""Scores of graded submissions and how they are stored (one JSON per submission, a CSV)."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from seqcourse.grading.notebook_format import Assignment

# Exercise statuses
PASSED, PARTIAL, FAILED = "passed", "partial", "failed"
NOT_ATTEMPTED, MISSING, NOT_GRADED = "not attempted", "missing", "not graded"


@dataclass
class ExerciseScore:
    """The score of one exercise in one submission, with the reason and per-test messages."""

    id: str
    points: float
    score: float = 0.0
    status: str = NOT_GRADED
    reason: str = ""
    tests: list[dict] = field(default_factory=list)
    cell_error: str = ""  # what running the exercise cell itself raised (or its time-out)

    @classmethod
    def from_tests(
        cls, ex_id: str, points: float, tests: list[dict], cell_problem: str = ""
    ) -> ExerciseScore:
        """Score an exercise from its test results.

        Gates (shape/type tests) earn nothing but, failed, zero the exercise; checks on fixed
        public inputs earn nothing either (feedback only); the score is points x the share of
        the other tests passed. "Not attempted" only when the
        exercise's own function raised NotImplementedError (the tests say so).
        ``cell_problem`` says what went wrong running the exercise cell itself, if anything."""
        tests = [_capped_test(t) for t in tests if isinstance(t, dict)][:100]
        cell_problem = cell_problem[:600]
        if tests and any(t.get("not_attempted") for t in tests):
            return cls(ex_id, points, 0.0, NOT_ATTEMPTED, "not attempted", tests, cell_problem)
        gates = [t for t in tests if t.get("gate")]
        scored = [t for t in tests if not t.get("gate") and not t.get("fixed")]
        failures = [f"{t['name']}: {t.get('message', '')}" for t in tests if not t.get("passed")]
        reason = "; ".join(([cell_problem] if cell_problem else []) + failures)[:2000]
        if any(not t.get("passed") for t in gates) or not scored:
            return cls(ex_id, points, 0.0, FAILED, reason or "no test ran", tests, cell_problem)
        passed = sum(bool(t.get("passed")) for t in scored)
        score = round(points * passed / len(scored), 2)
        status = PASSED if passed == len(scored) else (PARTIAL if passed else FAILED)
        return cls(ex_id, points, score, status, reason, tests, cell_problem)

    def cell_error_note(self) -> str:
        """A line for the student when the exercise cell itself failed: the real error first
        (an ``IndentationError`` leaves the function undefined, so the checks then report
        ``NameError``), or "" when the cell ran."""
        if not self.cell_error:
            return ""
        return (
            f"{self.cell_error[0].upper()}{self.cell_error[1:]}. Fix this first: the checks "
            "below could not use the code of that cell."
        )


def _capped_test(test: dict) -> dict:
    """A test result with bounded text (messages come partly from student code)."""
    return {
        "name": str(test.get("name", "test"))[:200],
        "passed": test.get("passed") is True,
        "message": str(test.get("message", ""))[:1000],
        "not_attempted": test.get("not_attempted") is True,
        "gate": test.get("gate") is True,
        "fixed": test.get("fixed") is True,
        "hidden": test.get("hidden") is True,
    }


@dataclass
class SubmissionResult:
    """Everything the grader knows about one submission."""

    submission: str
    assignment: str
    status: str = "graded"  # graded | incomplete | error
    reason: str = ""
    seconds: float = 0.0
    exercises: dict[str, ExerciseScore] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)
    name_escaped: bool = False  # the path is not valid UTF-8: ``submission`` holds \xNN escapes

    @classmethod
    def blank(cls, submission: str, assignment: Assignment) -> SubmissionResult:
        """A result with every exercise of ``assignment`` at 0, 'not graded'."""
        exercises = {i: ExerciseScore(i, e.points) for i, e in assignment.exercises.items()}
        return cls(str(submission), assignment.name, exercises=exercises)

    @property
    def total(self) -> float:
        return round(sum(e.score for e in self.exercises.values()), 2)

    @property
    def max_points(self) -> float:
        return sum(e.points for e in self.exercises.values())

    def close(self, reason: str, status: str = "incomplete") -> None:
        """Mark every exercise not graded yet with ``reason`` (kept scores are untouched)."""
        pending = [e for e in self.exercises.values() if e.status == NOT_GRADED and not e.reason]
        for e in pending:
            e.reason = reason
        if pending or status == "error":
            self.status = status
            self.reason = reason

    def summary(self) -> str:
        """The reason for the row: the submission-level problem, else each exercise short of full marks."""
        note = ["path not valid UTF-8, written with \\xNN escapes"] if self.name_escaped else []
        if self.reason:
            return "; ".join([*note, self.reason])
        short = [f"{e.id}: {e.status}" for e in self.exercises.values() if e.score < e.points]
        return "; ".join(note + short)

    def to_dict(self) -> dict:
        data = asdict(self)
        data.update(total=self.total, max_points=self.max_points)
        return data

    @classmethod
    def from_dict(cls, data: dict, assignment: Assignment) -> SubmissionResult:
        """A result from a worker's report, validated against ``assignment`` (the grader's
        own list of exercises and points: a report cannot add exercises or change points)."""
        result = cls(str(data.get("submission", ""))[:1000], assignment.name)
        status = data.get("status")
        result.status = status if status in ("graded", "incomplete", "error") else "error"
        result.reason = str(data.get("reason", ""))[:2000]
        result.log = [str(line)[:500] for line in data.get("log", [])][:200]
        reported = data.get("exercises", {})
        for ex_id, ex in assignment.exercises.items():
            got = reported.get(ex_id) if isinstance(reported, dict) else None
            if not isinstance(got, dict):
                result.exercises[ex_id] = ExerciseScore(ex_id, ex.points)
                continue
            tests = got.get("tests") if isinstance(got.get("tests"), list) else []
            status = str(got.get("status", NOT_GRADED))
            cell_error = str(got.get("cell_error", ""))
            if tests:  # re-score from the tests: the score is the grader's arithmetic
                score = ExerciseScore.from_tests(ex_id, ex.points, tests, cell_error)
                score.reason = str(got.get("reason", score.reason))[:2000]
            else:
                score = ExerciseScore(
                    ex_id, ex.points, 0.0, status[:40], str(got.get("reason", ""))[:2000],
                    cell_error=cell_error[:600],
                )  # fmt: skip
            result.exercises[ex_id] = score
        return result

    def save(self, path: str | Path) -> None:
        """Write the result as JSON atomically (a reader never sees half a file)."""
        write_atomic(Path(path), json.dumps(self.to_dict(), indent=1))

    def feedback_markdown(self) -> str:
        """Per-student feedback: each test's verdict and message, no test source."""
        lines = [
            f"# {self.assignment}: {self.total:g} / {self.max_points:g}",
            "",
            f"Status: {self.status}" + (f" ({_md(self.reason)})" if self.reason else ""),
            "",
        ]
        for e in self.exercises.values():
            lines += [f"## Exercise {e.id}: {e.score:g} / {e.points:g} ({e.status})", ""]
            if e.cell_error_note():
                lines += [f"**{_md(e.cell_error_note())}**", ""]
            if e.reason and not e.tests:
                lines += [_md(e.reason), ""]
            for t in e.tests:
                mark = (
                    "PASS"
                    if t.get("passed")
                    else ("not attempted" if t.get("not_attempted") else "FAIL")
                )
                kind = " (required shape/type check)" if t.get("gate") else ""
                message = "" if t.get("passed") else f": {_md(t.get('message', ''))}"
                lines.append(f"- **{mark}** {_md(t.get('name', ''))}{kind}{message}")
            lines.append("")
        return "\n".join(lines)

    def gradescope(self, hidden_visibility: str = "after_published") -> dict:
        """This result as Gradescope's ``results.json`` (its autograder specification,
        https://gradescope-autograders.readthedocs.io/en/latest/specs/; the keys are checked
        by ``tests/gradescope_results.schema.json``).

        One test per exercise holds its visible checks; an exercise with hidden tests gets a
        second test holding their share of the points (their messages, never their text),
        shown to students as ``hidden_visibility`` says (by default once grades are
        published). The two add up to the exercise's score; ``score`` is the total."""
        if hidden_visibility not in VISIBILITIES:
            raise ValueError(f"hidden_visibility must be one of {VISIBILITIES}")
        tests = [
            part
            for e in self.exercises.values()
            for part in _gradescope_parts(e, hidden_visibility)
        ]
        return {
            "score": self.total,
            "execution_time": round(self.seconds),
            "output": self.summary() or "all tests passed",
            "output_format": "text",
            "test_output_format": "text",
            "test_name_format": "text",
            "visibility": "visible",
            "stdout_visibility": "hidden",  # the grader's log is for the instructor
            "tests": tests,
        }


VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")


def _gradescope_parts(e: ExerciseScore, hidden_visibility: str) -> list[dict]:
    """Exercise ``e`` as one or two Gradescope tests: its visible checks and, if any, its
    hidden tests, the points split by how many scored tests each holds."""
    scored = [t for t in e.tests if not t.get("gate") and not t.get("fixed")]
    parts = [(False, [t for t in e.tests if not t.get("hidden")])]
    if any(t.get("hidden") for t in e.tests):
        parts.append((True, [t for t in e.tests if t.get("hidden")]))
    entries = []
    for hidden, group in parts:
        counted = [t for t in group if t in scored]
        share = len(counted) / len(scored) if scored else float(not hidden)
        passed = sum(bool(t.get("passed")) for t in counted)
        earned = e.points * passed / len(scored) if e.score and scored else 0.0
        lines = [] if hidden or not e.cell_error else [e.cell_error_note()]
        if e.reason and not e.tests and not hidden:
            lines.append(e.reason)
        for t in group:
            verdict = "PASS " if t.get("passed") else "FAIL "
            message = "" if t.get("passed") else f": {t.get('message', '')}"
            lines.append(verdict + t.get("name", "") + message)
        max_score = round(e.points * share, 4)
        entries.append(
            {
                "name": f"Exercise {e.id}" + (": hidden tests" if hidden else ""),
                "number": f"{e.id}.h" if hidden else e.id,
                "score": round(earned, 4),
                "max_score": max_score,
                "status": "passed" if round(earned, 4) >= max_score else "failed",
                "output": "\n".join(lines) or "no test ran",
                "output_format": "text",
                "tags": [f"exercise {e.id}", e.status] + (["hidden tests"] if hidden else []),
                "visibility": hidden_visibility if hidden else "visible",
            }
        )
    return entries


def _md(text: str) -> str:
    """Text from a result made safe to put in Markdown (no HTML, one line, bounded)."""
    text = " ".join(str(text).split())[:1000]
    return text.replace("<", "&lt;").replace(">", "&gt;")


def write_atomic(path: Path, text: str, sync: bool = False) -> None:
    """Write ``text`` to ``path`` through a fresh, exclusively created temporary file
    (``sync``: flushed to the disk before it replaces ``path``)."""
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:50]}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            if sync:
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _cell(text: str) -> str:
    """A CSV field: bounded, one line, and never read as a formula by a spreadsheet."""
    text = " ".join(str(text).split())[:1000]
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def csv_header(assignment: Assignment) -> list[str]:
    """The columns of ``grades.csv``: submission, status, one per exercise, total, max, reason."""
    exercises = [f"{i} ({e.points:g})" for i, e in assignment.exercises.items()]
    return ["submission", "status", *exercises, "total", "max", "reason"]


def csv_row(result: SubmissionResult, assignment: Assignment) -> list[str]:
    """One submission's row of ``grades.csv`` (see :func:`csv_header`)."""
    ex = result.exercises
    scores = [f"{ex[i].score:g}" if i in ex else "0" for i in assignment.exercises]
    return [_cell(result.submission), result.status, *scores, f"{result.total:g}",
            f"{result.max_points:g}", _cell(result.summary())]  # fmt: skip


def write_csv(results: list[SubmissionResult], assignment: Assignment, path: str | Path) -> None:
    """One row per submission: status, one column per exercise, total, max and the reason
    (written atomically and flushed to disk)."""
    fh = io.StringIO(newline="")
    writer = csv.writer(fh)
    writer.writerow(csv_header(assignment))
    writer.writerows(csv_row(r, assignment) for r in results)
    write_atomic(Path(path), fh.getvalue(), sync=True)


class IncrementalCsv:
    """``grades.csv`` that lists every submission at every moment of a run: it starts with a
    placeholder row per submission (not graded yet), and each finished submission's row
    replaces its placeholder at once, the whole file rewritten atomically and flushed to
    disk. A run that is killed, even with SIGKILL, leaves every finished row and a row saying
    "not graded" for each of the others."""

    def __init__(self, path: Path, assignment: Assignment, placeholders: list[SubmissionResult]):
        self.path, self.assignment = Path(path), assignment
        self.results = list(placeholders)
        self._write()

    def _write(self) -> None:
        write_csv(self.results, self.assignment, self.path)

    def set(self, index: int, result: SubmissionResult) -> None:
        """Put submission ``index``'s result in its row and rewrite the file."""
        self.results[index] = result
        self._write()

    def finish(self, results: list[SubmissionResult]) -> None:
        """Write the final rows (one per submission, in submission order)."""
        self.results = list(results)
        self._write()
