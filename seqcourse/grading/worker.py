"""Grade one submission in its own kernel; run as ``python -m seqcourse.grading.worker``.

The grader starts one worker process per submission. The worker executes the submission's
code cells in order with a per-cell time limit; right after each exercise cell it injects the
master's tests for that exercise and saves the result file, so scores obtained before a hang
or a kernel crash are kept. It always leaves a result file, whatever the submission does.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient.exceptions import DeadKernelError

from seqcourse.execution import CappedClient, KernelUnresponsive
from seqcourse.grading.autograde import RESULT_MIME, injected_source
from seqcourse.grading.notebook_format import (
    METADATA_KEY,
    Assignment,
    read_assignment,
    solution_cells,
)
from seqcourse.grading.results import FAILED, MISSING, ExerciseScore, SubmissionResult

PROBE_TIMEOUT = 15  # seconds a kernel gets to answer after an interrupt


def _cell_error(cell) -> str:
    """``"Name: value"`` of the error a cell raised, or ``""``."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return f"{out.get('ename', 'Error')}: {out.get('evalue', '')}"[:300]
    return ""


def _read_result(cell, token: str) -> list[dict] | None:
    """The test results the injected cell emitted with ``token``, or None."""
    for out in cell.get("outputs", []):
        data = (
            out.get("data", {}).get(RESULT_MIME)
            if out.get("output_type") == "display_data"
            else None
        )
        if isinstance(data, dict) and data.get("token") == token:
            return data.get("tests", [])
    return None


def read_submission(path: Path, assignment: Assignment, result: SubmissionResult):
    """Read the notebook and check it belongs to ``assignment``; None (with reasons) if not."""
    try:
        nb = nbformat.read(path, as_version=4)
        cells = [c for c in nb.cells if c.cell_type == "code" and isinstance(c.source, str)]
    except Exception as err:  # invalid JSON, not a notebook, unreadable file…
        result.close(f"not a readable notebook ({type(err).__name__}: {str(err)[:200]})", "error")
        return None
    claimed = nb.metadata.get(METADATA_KEY, {}).get("notebook")
    if claimed and claimed != assignment.name:
        result.close(f"this submission is notebook {claimed!r}, not {assignment.name!r}", "error")
        return None
    if not cells or not set(solution_cells(nb)) & set(assignment.exercises):
        result.close(
            f"no exercise cell of {assignment.name!r} found: is this the right notebook?", "error"
        )
        return None
    return nb


def _score(ex, cell_outcome: str, grader, grader_outcome: str, token: str, cell_timeout: float):
    """Score exercise ``ex`` from its injected test cell and how its own cell ran.

    ``cell_outcome``/``grader_outcome``: "" (ran fine), "timeout", or the error the cell raised.
    """
    if grader_outcome == "timeout":
        reason = f"the tests timed out after {cell_timeout:g} s (an endless loop?)"
        return ExerciseScore(ex.id, ex.points, 0.0, FAILED, reason)
    tests = _read_result(grader, token)
    if tests is None:
        reason = f"the tests could not run: {grader_outcome or 'no result'}"
        return ExerciseScore(ex.id, ex.points, 0.0, FAILED, reason)
    if cell_outcome == "timeout":
        problem = "the exercise cell ran past the time limit and was interrupted"
    else:
        problem = f"the exercise cell raised {cell_outcome}" if cell_outcome else ""
    return ExerciseScore.from_tests(ex.id, ex.points, tests, problem)


class _Stop(Exception):
    """Grading of this submission cannot go on (kernel dead or hung, time is up)."""


def grade_submission(
    path: Path, assignment: Assignment, out: Path, cell_timeout: float, total_timeout: float
) -> SubmissionResult:
    """Execute ``path`` with the tests of ``assignment`` injected; save and return the result."""
    start = time.monotonic()
    result = SubmissionResult.blank(str(path), assignment)
    nb = read_submission(path, assignment, result)
    if nb is None:
        result.save(out)
        return result
    where = solution_cells(nb)
    for ex_id in assignment.exercises.keys() - where.keys():
        result.exercises[ex_id].status = MISSING
        result.exercises[
            ex_id
        ].reason = "exercise cell not found (deleted, or its '# Exercise' header removed)"
    after_cell = {index: ex_id for ex_id, index in where.items() if ex_id in assignment.exercises}
    token = secrets.token_hex(16)
    run_nb = nbformat.v4.new_notebook(cells=[c for c in nb.cells if c.cell_type == "code"])
    index_map = {id(c): i for i, c in enumerate(nb.cells)}

    with tempfile.TemporaryDirectory(prefix="seqcourse-grade-") as workdir:
        client = CappedClient(
            run_nb,
            allow_errors=True,
            resources={"metadata": {"path": workdir}},
        )

        def execute(cell, label: str) -> str:
            remaining = total_timeout - (time.monotonic() - start)
            if remaining <= 1:
                raise _Stop(f"total time limit of {total_timeout:g} s reached before {label}")
            limit = min(cell_timeout, remaining)
            try:
                outcome = client.run_cell(cell, limit, PROBE_TIMEOUT)
            except KernelUnresponsive as err:
                raise _Stop(f"the kernel stopped responding after {label} timed out") from err
            except DeadKernelError as err:
                raise _Stop(f"the kernel died while running {label} (a crash or os._exit)") from err
            if outcome == "timeout":
                result.log.append(f"{label} exceeded the time limit ({limit:.0f} s); interrupted")
            if client.dropped_chars(cell):
                result.log.append(f"{label}: printed output beyond the cap was dropped")
            return "timeout" if outcome == "timeout" else _cell_error(cell)

        try:
            with client.setup_kernel():
                for cell in list(run_nb.cells):
                    number = index_map[id(cell)]
                    cell.outputs = []
                    outcome = execute(cell, f"cell {number}")
                    ex_id = after_cell.get(number)
                    if ex_id is None:
                        continue
                    ex = assignment.exercises[ex_id]
                    grader = nbformat.v4.new_code_cell(
                        injected_source(ex_id, ex.public_tests, ex.hidden_tests, token)
                    )
                    run_nb.cells.append(grader)
                    tested = execute(grader, f"the tests of exercise {ex_id}")
                    score = _score(ex, outcome, grader, tested, token, cell_timeout)
                    result.exercises[ex_id] = score
                    result.seconds = round(time.monotonic() - start, 2)
                    result.save(out)
        except _Stop as stop:
            result.close(f"not graded: {stop}")
        except Exception as err:  # kernel failed to start, zmq trouble…: keep what we have
            result.close(
                f"not graded: the grader failed ({type(err).__name__}: {str(err)[:200]})", "error"
            )
        nbformat.write(run_nb, out.with_suffix(".executed.ipynb"))
    result.close("not graded: its exercise cell never finished running")
    result.seconds = round(time.monotonic() - start, 2)
    result.save(out)
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--submission", required=True, type=Path)
    parser.add_argument("--master", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--timeout-cell", type=float, default=60)
    parser.add_argument("--timeout-total", type=float, default=600)
    args = parser.parse_args(argv)
    os.environ["SEQCOURSE_FAST"] = "1"
    os.environ["SEQCOURSE_GRADING"] = "1"
    assignment = read_assignment(args.master)
    result = grade_submission(
        args.submission, assignment, args.out, args.timeout_cell, args.timeout_total
    )
    print(json.dumps({"submission": result.submission, "total": result.total}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
