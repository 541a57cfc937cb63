"""``seqcourse grade``: grade many submissions, each in its own worker process and sandboxed kernel.

Every submission yields a row in ``grades.csv`` and a JSON file with per-test messages, even
when the file is broken, the code loops forever (in Python or in C), the kernel dies or the
student tampers with anything in their kernel. Scores travel from a worker to the grader over a
pipe the kernel cannot reach; the grader writes ``--out`` itself and never reads from it. The
master is chosen by assignment name among ``--masters``, never by a path from a submission.
What is and is not isolated: see the README's instructor guide and
:mod:`seqcourse.grading.sandbox`.
"""

from __future__ import annotations

import collections
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat

from seqcourse.execution import kill_kernel_tree
from seqcourse.grading.notebook_format import METADATA_KEY, Assignment, read_assignment
from seqcourse.grading.results import SubmissionResult, write_atomic, write_csv
from seqcourse.runtime import FAST_ENV, GRADING_ENV

GRACE_S = 30  # worker start-up and clean-up beyond the submission's total time limit
RESULT_CAP = 20_000_000  # bytes read from a worker's result pipe
TAG_PREFIX = ""  # start of every run tag (tests set it to find this run's processes)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,100}")


def _claimed_notebook(path: Path) -> str | None:
    """The notebook name a submission's metadata claims, if it is a well-formed name."""
    try:
        if path.stat().st_size > 200_000_000:
            return None
        meta = nbformat.read(path, as_version=4).metadata.get(METADATA_KEY)
        name = meta.get("notebook") if isinstance(meta, dict) else None
    except Exception:
        return None
    return name if isinstance(name, str) and _NAME.fullmatch(name) else None


def resolve_master(submissions: list[Path], assignment: str | None, masters: Path) -> Path:
    """The master notebook: ``masters/<assignment>.ipynb``, or, without ``assignment``, the
    name most submissions' metadata claim, looked up in ``masters`` the same way. Only a
    notebook *name* is ever taken from a submission, never a path."""
    if assignment:
        name = Path(assignment).stem if assignment.endswith(".ipynb") else assignment
        if not _NAME.fullmatch(name):
            raise FileNotFoundError(f"no master notebook {assignment!r}: give a notebook name")
        candidate = masters / f"{name}.ipynb"
        if candidate.is_file():
            return candidate
        raise FileNotFoundError(f"no master notebook {assignment!r} (looked for {candidate})")
    known = {p.stem for p in masters.glob("*.ipynb")}
    names = collections.Counter(
        n for n in map(_claimed_notebook, submissions) if n in known
    )  # fmt: skip
    if not names:
        raise ValueError("cannot tell which notebook the submissions are: pass --assignment NAME")
    name, _ = names.most_common(1)[0]
    return resolve_master(submissions, name, masters)


def _json_name(path: Path, taken: set[str]) -> str:
    stem = (
        re.sub(r"[^A-Za-z0-9._-]+", "_", "__".join(path.with_suffix("").parts[-2:])).strip("_.")
        or "submission"
    )[:120]
    name, n = f"{stem}.json", 1
    while name.lower() in taken or name.lower() == "grades.csv":
        n += 1
        name = f"{stem}-{n}.json"
    taken.add(name.lower())
    return name


def _hidden_paths(
    submissions: list[Path], masters: Path, out_dir: Path, private: Path
) -> list[str]:
    """Folders a kernel must not see: masters, results, other submissions, the repository's
    history, the grader's own files. Never a folder the kernel needs (Python, seqcourse)."""
    import seqcourse

    needed = [Path(sys.prefix).resolve(), Path(seqcourse.__file__).resolve().parent]
    needed.append(Path(tempfile.gettempdir()).resolve())
    candidates = {masters.resolve(), out_dir.resolve(), private.resolve()}
    candidates |= {p.resolve().parent for p in submissions}
    git = masters.resolve().parent / ".git"
    if git.is_dir():
        candidates.add(git)

    def safe(path: Path) -> bool:
        return path.is_dir() and not any(n == path or path in n.parents for n in needed)

    return sorted(str(p) for p in candidates if safe(p))


def _read_results(stream, sink: list, cap: int = RESULT_CAP) -> None:
    """Read JSON lines from a worker's result pipe (at most ``cap`` bytes); keep the last."""
    read = 0
    try:
        for line in stream:
            read += len(line)
            if read > cap:
                break
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if isinstance(message, dict) and isinstance(message.get("result"), dict):
                sink.append(message["result"])
                del sink[:-1]
    except (OSError, ValueError):
        pass
    finally:
        stream.close()


def _tail(path: Path, size: int = 2000) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(max(0, os.path.getsize(path) - size))
            return fh.read().decode(errors="replace")
    except OSError:
        return ""


def _run_worker(job: dict, private: Path, total_timeout: float) -> tuple[dict | None, str]:
    """Run one worker; return (its last reported result or None, "" or why it ended badly)."""
    env = dict(os.environ, **{FAST_ENV: "1", GRADING_ENV: "1"}, TF_CPP_MIN_LOG_LEVEL="3")
    env["SEQCOURSE_GRADER_TAG"] = job["tag"]
    read_fd, write_fd = os.pipe()
    log = private / f"worker-{job['tag']}.log"
    with open(log, "wb") as log_fh:
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "seqcourse.grading.worker", "--result-fd", str(write_fd)],
                env=env,
                stdin=subprocess.PIPE,
                stdout=log_fh,
                stderr=subprocess.STDOUT,
                pass_fds=(write_fd,),
                start_new_session=True,
                cwd=private,
            )
        finally:
            os.close(write_fd)
    sink: list = []
    reader = threading.Thread(
        target=_read_results, args=(os.fdopen(read_fd, "r", encoding="utf-8", errors="replace"), sink),
        daemon=True,
    )  # fmt: skip
    reader.start()
    problem = ""
    try:
        proc.stdin.write(json.dumps(job).encode())
        proc.stdin.close()
    except OSError:
        pass
    try:
        proc.wait(timeout=total_timeout + GRACE_S)
    except subprocess.TimeoutExpired:
        problem = f"not graded: total time limit of {total_timeout:g} s exceeded"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the worker and anything left in its session
        except OSError:
            pass
        proc.wait()
        kill_kernel_tree(None, job["tag"])  # the kernel and all it started
    reader.join(timeout=10)
    if not problem and proc.returncode != 0:
        tail = _tail(log).strip().splitlines()[-1:] or ["no output"]
        problem = f"not graded: the grading worker failed (exit {proc.returncode}: {tail[0][:200]})"
    return (sink[-1] if sink else None), problem


def grade_one(
    submission: Path,
    assignment: Assignment,
    out: Path,
    cell_timeout: float,
    total_timeout: float,
    hide: list[str] = (),
    private: Path | None = None,
) -> SubmissionResult:
    """Grade one submission in a worker process; always return a complete result (and write
    ``out`` and ``out``'s executed notebook when possible)."""
    start = time.monotonic()
    own_private = private is None
    if own_private:
        private = Path(tempfile.mkdtemp(prefix="seqcourse-grader-"))
    tag = TAG_PREFIX + secrets.token_hex(12)
    executed = private / f"{tag}.executed.ipynb"
    job = {
        "submission": str(Path(submission).resolve()),
        "master": str(Path(assignment.path).resolve()),
        "cell_timeout": cell_timeout,
        "total_timeout": total_timeout,
        "executed": str(executed),
        "hide": list(hide) or _hidden_paths([Path(submission)], Path(assignment.path).parent, out.parent, private),
        "tag": tag,
    }  # fmt: skip
    try:
        reported, problem = _run_worker(job, private, total_timeout)
    except Exception as err:  # could not even start the worker
        reported, problem = None, f"not graded: could not start the grading worker ({err})"
    result = None
    if reported is not None:
        try:
            result = SubmissionResult.from_dict(reported, assignment)
        except Exception:
            result = None
    if result is None:
        result = SubmissionResult.blank(str(submission), assignment)
        problem = problem or "not graded: the grading worker left no result"
    result.submission = str(submission)
    if problem:
        result.close(
            problem, "incomplete" if any(e.tests for e in result.exercises.values()) else "error"
        )
    result.seconds = round(time.monotonic() - start, 2)
    try:
        result.save(out)
        if executed.is_file():
            shutil.copyfile(executed, out.with_suffix(".executed.ipynb"))
    except OSError as err:
        result.log.append(f"could not write {out.name} ({type(err).__name__})")
    finally:
        executed.unlink(missing_ok=True)
        if own_private:
            shutil.rmtree(private, ignore_errors=True)
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
    formats: tuple[str, ...] = ("csv",),
    feedback: bool = False,
) -> list[SubmissionResult]:
    """Grade ``submissions``; write ``out_dir/grades.csv`` and one JSON per submission.

    ``formats`` may add ``"gradescope"`` (``results.json`` for a single submission, else
    ``<name>.results.json``); ``feedback`` writes ``<name>.feedback.md`` per submission."""
    submissions = [Path(s) for s in submissions]
    master = resolve_master(submissions, assignment, Path(masters))
    parsed = read_assignment(master)
    out_dir.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    outs = [out_dir / _json_name(s, taken) for s in submissions]
    private = Path(tempfile.mkdtemp(prefix="seqcourse-grader-"))
    hide = _hidden_paths(submissions, Path(masters), out_dir, private)
    progress(
        f"grading {len(submissions)} submission(s) of {parsed.name} ({parsed.total_points:g} points) with {jobs} job(s)"
    )
    results: list[SubmissionResult | None] = [None] * len(submissions)
    lock = threading.Lock()
    done = 0

    def work(i: int) -> None:
        nonlocal done
        try:
            r = grade_one(
                submissions[i], parsed, outs[i], cell_timeout, total_timeout, hide, private
            )
        except Exception as err:  # never lose a row
            r = SubmissionResult.blank(str(submissions[i]), parsed)
            r.close(
                f"not graded: the grader failed ({type(err).__name__}: {str(err)[:200]})", "error"
            )
        results[i] = r
        try:
            if feedback:
                write_atomic(outs[i].with_suffix(".feedback.md"), r.feedback_markdown())
            if "gradescope" in formats:
                name = "results.json" if len(submissions) == 1 else outs[i].stem + ".results.json"
                write_atomic(out_dir / name, json.dumps(r.gradescope(), indent=1))
        except OSError as err:
            r.log.append(f"could not write feedback ({type(err).__name__})")
        with lock:
            done += 1
            progress(
                f"[{done}/{len(submissions)}] {submissions[i]!s:.200}: {r.total:g}/{r.max_points:g} ({r.status}, {r.seconds:.1f} s)"
            )

    try:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            list(pool.map(work, range(len(submissions))))
    finally:
        final = [
            r if r is not None else _lost(submissions[i], parsed) for i, r in enumerate(results)
        ]
        csv_path = out_dir / "grades.csv"
        try:
            write_csv(final, parsed, csv_path)
        except OSError:  # e.g. grades.csv is a folder: write next to it, never lose the grades
            csv_path = out_dir / f"grades-{secrets.token_hex(4)}.csv"
            write_csv(final, parsed, csv_path)
        shutil.rmtree(private, ignore_errors=True)
    progress(f"wrote {csv_path}")
    return final


def _lost(submission: Path, assignment: Assignment) -> SubmissionResult:
    r = SubmissionResult.blank(str(submission), assignment)
    r.close("not graded: the grading run was interrupted", "error")
    return r
