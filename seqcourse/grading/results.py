"""Scores of graded submissions and how they are stored (one JSON per submission, a CSV)."""

from __future__ import annotations

import csv
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

    @classmethod
    def from_tests(
        cls, ex_id: str, points: float, tests: list[dict], cell_problem: str = ""
    ) -> ExerciseScore:
        """Score an exercise from its test results: points x fraction of tests passed.

        ``cell_problem`` says what went wrong running the exercise cell itself, if anything."""
        if (
            any(t.get("not_attempted") for t in tests)
            or "raised NotImplementedError" in cell_problem
        ):
            return cls(ex_id, points, 0.0, NOT_ATTEMPTED, "not attempted", tests)
        passed = sum(bool(t.get("passed")) for t in tests)
        total = len(tests)
        score = round(points * passed / total, 2) if total else 0.0
        status = PASSED if total and passed == total else (PARTIAL if passed else FAILED)
        failures = [f"{t['name']}: {t.get('message', '')}" for t in tests if not t.get("passed")]
        reason = "; ".join(([cell_problem] if cell_problem else []) + failures)
        return cls(ex_id, points, score, status, reason, tests)


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
        if self.reason:
            return self.reason
        short = [f"{e.id}: {e.status}" for e in self.exercises.values() if e.score < e.points]
        return "; ".join(short)

    def to_dict(self) -> dict:
        data = asdict(self)
        data.update(total=self.total, max_points=self.max_points)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> SubmissionResult:
        exercises = {k: ExerciseScore(**v) for k, v in data.get("exercises", {}).items()}
        keep = {
            k: data[k]
            for k in ("submission", "assignment", "status", "reason", "seconds", "log")
            if k in data
        }
        return cls(**keep, exercises=exercises)

    def save(self, path: str | Path) -> None:
        """Write the result as JSON atomically (a reader never sees half a file)."""
        path = Path(path)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=1), encoding="utf-8")
        os.replace(tmp, path)


def write_csv(results: list[SubmissionResult], assignment: Assignment, path: str | Path) -> None:
    """One row per submission: status, one column per exercise, total, max and the reason."""
    ids = list(assignment.exercises)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            [
                "submission",
                "status",
                *[f"{i} ({assignment.exercises[i].points:g})" for i in ids],
                "total",
                "max",
                "reason",
            ]
        )
        for r in results:
            scores = [f"{r.exercises[i].score:g}" if i in r.exercises else "0" for i in ids]
            writer.writerow(
                [r.submission, r.status, *scores, f"{r.total:g}", f"{r.max_points:g}", r.summary()]
            )
