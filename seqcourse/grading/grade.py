"""``seqcourse grade``: grade many submissions, each in its own worker process and kernel.

Every submission yields a row in ``grades.csv`` and a JSON file with per-test messages, even
when the file is broken, the code loops forever or the kernel dies. Submissions are untrusted
code: run the grader in a container or without network (see the README).
"""

from __future__ import annotations

import collections
import json
import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat

from seqcourse.grading.notebook_format import METADATA_KEY, Assignment, read_assignment
from seqcourse.grading.results import SubmissionResult, write_csv

GRACE_S = 30  # worker start-up and clean-up beyond the submission's total time limit


def _claimed_notebook(path: Path) -> str | None:
    try:
        return nbformat.read(path, as_version=4).metadata.get(METADATA_KEY, {}).get("notebook")
    except Exception:
        return None


def resolve_master(submissions: list[Path], assignment: str | None, masters: Path) -> Path:
    """Find the master notebook: ``assignment`` (a path or a name in ``masters``) or inferred.

    Without ``assignment``, the notebook named in most submissions' metadata is used.
    """
    if assignment:
        candidate = Path(assignment)
        if candidate.suffix == ".ipynb" and candidate.exists():
            return candidate
        candidate = masters / f"{Path(assignment).stem}.ipynb"
        if candidate.exists():
            return candidate
        raise FileNotFoundError(f"no master notebook {assignment!r} (looked for {candidate})")
    names = collections.Counter(n for n in map(_claimed_notebook, submissions) if n)
    if not names:
        raise ValueError("cannot tell which notebook the submissions are: pass --assignment NAME")
    name, _ = names.most_common(1)[0]
    return resolve_master(submissions, name, masters)


def _json_name(path: Path, taken: set[str]) -> str:
    stem = (
        re.sub(r"[^A-Za-z0-9._-]+", "_", "__".join(path.with_suffix("").parts[-2:])).strip("_")
        or "submission"
    )
    name, n = f"{stem}.json", 1
    while name in taken:
        n += 1
        name = f"{stem}-{n}.json"
    taken.add(name)
    return name


def _run_worker(
    submission: Path, master: Path, out: Path, cell_timeout: float, total_timeout: float
) -> str:
    """Run one worker process; return "" or why it ended abnormally."""
    env = dict(os.environ, SEQCOURSE_FAST="1", SEQCOURSE_GRADING="1", TF_CPP_MIN_LOG_LEVEL="3")
    cmd = [
        sys.executable,
        "-m",
        "seqcourse.grading.worker",
        "--submission",
        str(submission),
        "--master",
        str(master),
        "--out",
        str(out),
        "--timeout-cell",
        str(cell_timeout),
        "--timeout-total",
        str(total_timeout),
    ]
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        output, _ = proc.communicate(timeout=total_timeout + GRACE_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return f"not graded: total time limit of {total_timeout:g} s exceeded"
    if proc.returncode != 0:
        tail = output.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        return f"not graded: the grading worker failed (exit {proc.returncode}: {tail[0][:200]})"
    return ""


def grade_one(
    submission: Path, assignment: Assignment, out: Path, cell_timeout: float, total_timeout: float
) -> SubmissionResult:
    """Grade one submission in a worker process; always return a complete result."""
    start = time.monotonic()
    out.unlink(missing_ok=True)
    try:
        problem = _run_worker(submission, assignment.path, out, cell_timeout, total_timeout)
    except Exception as err:  # could not even start the worker
        problem = f"not graded: could not start the grading worker ({err})"
    try:
        result = SubmissionResult.from_dict(json.loads(out.read_text(encoding="utf-8")))
    except Exception:
        result = SubmissionResult.blank(str(submission), assignment)
        problem = problem or "not graded: the grading worker left no result"
    if problem:
        result.close(
            problem, "incomplete" if any(e.tests for e in result.exercises.values()) else "error"
        )
    result.seconds = round(time.monotonic() - start, 2)
    result.save(out)
    return result


def grade(
    submissions: list[Path],
    out_dir: Path,
    assignment: str | None = None,
    masters: Path = Path("notebooks"),
    jobs: int = 1,
    cell_timeout: float = 60,
    total_timeout: float = 600,
    progress=print,
) -> list[SubmissionResult]:
    """Grade ``submissions``; write ``out_dir/grades.csv`` and one JSON per submission."""
    master = resolve_master(submissions, assignment, masters)
    parsed = read_assignment(master)
    out_dir.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    outs = [out_dir / _json_name(s, taken) for s in submissions]
    progress(
        f"grading {len(submissions)} submission(s) of {parsed.name} ({parsed.total_points:g} points) with {jobs} job(s)"
    )
    results: list[SubmissionResult | None] = [None] * len(submissions)
    done = 0

    def work(i: int) -> None:
        nonlocal done
        results[i] = grade_one(submissions[i], parsed, outs[i], cell_timeout, total_timeout)
        done += 1
        r = results[i]
        progress(
            f"[{done}/{len(submissions)}] {submissions[i]}: {r.total:g}/{r.max_points:g} ({r.status}, {r.seconds:.1f} s)"
        )

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        list(pool.map(work, range(len(submissions))))
    final = [r for r in results if r is not None]
    write_csv(final, parsed, out_dir / "grades.csv")
    progress(f"wrote {out_dir / 'grades.csv'}")
    return final
