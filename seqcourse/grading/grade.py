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
from seqcourse.grading import shards, worker_server
from seqcourse.grading.notebook_format import METADATA_KEY, Assignment, read_assignment
from seqcourse.grading.report import write_report
from seqcourse.grading.results import IncrementalCsv, SubmissionResult, write_atomic
from seqcourse.grading.submission_files import display_name, read_regular
from seqcourse.runtime import FAST_ENV, GRADING_ENV

GRACE_S = 30  # worker start-up and clean-up beyond the submission's total time limit
SCRATCH_PREFIX = "seqcourse-job-"  # per-worker temporary folders (the kernel's working folder…)
RESULT_CAP = 20_000_000  # bytes read from a worker's result pipe
TAG_PREFIX = ""  # start of every run tag (tests set it to find this run's processes)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,100}")


def _claimed_notebook(path: Path) -> str | None:
    """The notebook name a submission's metadata claims, if it is a well-formed name. Only a
    regular file is read (never a link's target, never a pipe: see :func:`read_regular`)."""
    try:
        text = read_regular(path).decode("utf-8")
        meta = nbformat.reads(text, as_version=4).metadata.get(METADATA_KEY)
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


class GradingInterrupted(Exception):
    """The grading run received SIGTERM, SIGINT or SIGHUP: its workers and kernels were ended,
    the finished rows kept and the others marked interrupted."""


class _Workers:
    """The live workers of this process's grading runs, so that a signal can end them all."""

    def __init__(self):
        self.lock = threading.Lock()
        self.live: dict[str, subprocess.Popen] = {}
        self.stopped: set[str] = set()
        self.signal_name = ""

    def add(self, tag: str, proc: subprocess.Popen) -> None:
        with self.lock:
            self.live[tag] = proc
            stopping = bool(self.signal_name)
        if stopping:  # started while the run was being stopped
            self.stop_all(self.signal_name)

    def remove(self, tag: str) -> None:
        with self.lock:
            self.live.pop(tag, None)

    def stop_all(self, signal_name: str) -> None:
        """SIGKILL every live worker's session and every process carrying its kernel's tag."""
        with self.lock:
            self.signal_name = self.signal_name or signal_name
            doomed = dict(self.live)
            self.stopped |= set(doomed)
        for tag, proc in doomed.items():
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
            kill_kernel_tree(None, tag)


_WORKERS = _Workers()


def _scratch_folder(label: str, mode: int = 0o711) -> Path:
    """A fresh temporary folder of this grader: a worker's ``TMPDIR`` (the kernel's working
    and socket folders go in it; 0711: traversable, not listable by kernels) or the run's
    private folder (0700). It records the grader's process id, so that a later run can remove
    it if this grader was killed outright (:func:`sweep_stale_scratch`)."""
    folder = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{label}-"))
    (folder / ".grader-pid").write_text(str(os.getpid()))
    folder.chmod(mode)
    return folder


def sweep_stale_scratch(root: Path | None = None) -> list[Path]:
    """Remove the scratch folders of graders that no longer run (killed with SIGKILL, say);
    return them. A folder whose grader is alive, or whose owner is unknown, is kept."""
    removed = []
    for folder in Path(root or tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*"):
        try:
            pid = int((folder / ".grader-pid").read_text())
        except (OSError, ValueError):
            continue
        try:
            os.kill(pid, 0)
            continue  # that grader is alive
        except ProcessLookupError:
            pass
        except OSError:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _start_worker(env: dict, private: Path, stdin: int, log: int, result: int):
    """Start a worker with ``env`` in ``private``: forked by this process's worker server
    (:mod:`seqcourse.grading.worker_server`: the grader and TensorFlow already imported), or,
    where the server cannot run (no fork server on this system), as a fresh process."""
    from seqcourse.grading.sandbox import die_with_parent

    for _attempt in range(2):  # a server that died since the last job is started again
        try:
            server = worker_server.shared_server(_shared_env())
            return server.fork(env, str(private), stdin, log, result)
        except (OSError, AttributeError):  # AttributeError: no socket.send_fds (not Unix)
            continue
    return subprocess.Popen(
        [sys.executable, "-m", "seqcourse.grading.worker", "--result-fd", str(result)],
        env=env,
        stdin=stdin,
        stdout=log,
        stderr=subprocess.STDOUT,
        pass_fds=(result,),
        start_new_session=True,
        cwd=private,
        preexec_fn=die_with_parent,  # the grader killed outright: the worker dies too
    )


def _shared_env() -> dict[str, str]:
    """The environment of every worker, less what differs per job (its run tag and TMPDIR)."""
    env = dict(os.environ, **{FAST_ENV: "1", GRADING_ENV: "1"}, TF_CPP_MIN_LOG_LEVEL="3")
    for per_job in ("SEQCOURSE_GRADER_TAG", "TMPDIR", "PYTEST_CURRENT_TEST"):
        env.pop(per_job, None)
    return env


def _run_worker(job: dict, private: Path, total_timeout: float) -> tuple[dict | None, str]:
    """Run one worker; return (its last reported result or None, "" or why it ended badly)."""
    scratch = _scratch_folder(job["tag"][-8:])
    env = dict(_shared_env(), SEQCOURSE_GRADER_TAG=job["tag"], TMPDIR=str(scratch))
    read_fd, write_fd = os.pipe()
    job_r, job_w = os.pipe()
    log = private / f"worker-{job['tag']}.log"
    with open(log, "wb") as log_fh:
        try:
            proc = _start_worker(env, private, job_r, log_fh.fileno(), write_fd)
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            os.close(read_fd)
            os.close(job_w)
            raise
        finally:
            os.close(write_fd)
            os.close(job_r)
    _WORKERS.add(job["tag"], proc)
    sink: list = []
    reader = threading.Thread(
        target=_read_results, args=(os.fdopen(read_fd, "r", encoding="utf-8", errors="replace"), sink),
        daemon=True,
    )  # fmt: skip
    reader.start()
    problem = ""
    try:
        with open(job_w, "wb") as job_fh:
            job_fh.write(json.dumps(job).encode())
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
        _WORKERS.remove(job["tag"])
        shutil.rmtree(scratch, ignore_errors=True)
    reader.join(timeout=10)
    if job["tag"] in _WORKERS.stopped:
        problem = f"not graded: the grading run was interrupted ({_WORKERS.signal_name})"
    elif not problem and proc.returncode != 0:
        tail = _tail(log).strip().splitlines()[-1:] or ["no output"]
        problem = f"not graded: the grading worker failed (exit {proc.returncode}: {tail[0][:200]})"
    return (sink[-1] if sink else None), problem


def grade_one(
    submission: Path,
    assignment: Assignment,
    out: Path,
    cell_timeout: float,
    total_timeout: float,
    private: Path | None = None,
    memory_gb: float = 6,
) -> SubmissionResult:
    """Grade one submission in a worker process; always return a complete result (and write
    ``out`` and ``out``'s executed notebook when possible)."""
    start = time.monotonic()
    own_private = private is None
    if own_private:
        private = _scratch_folder("private", 0o700)
    tag = TAG_PREFIX + secrets.token_hex(12)
    executed = private / f"{tag}.executed.ipynb"
    job = {
        "submission": os.path.abspath(submission),  # a link is not resolved: the worker refuses it
        "master": str(Path(assignment.path).resolve()),
        "cell_timeout": cell_timeout,
        "total_timeout": total_timeout,
        "memory_bytes": int(memory_gb * 2**30),
        "executed": str(executed),
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
    result.submission, escaped = display_name(submission)
    result.name_escaped = escaped
    if escaped:
        result.log.append(
            "the submission's path is not valid UTF-8: it is written with \\xNN escapes for "
            "the bytes that are not (and \\\\ for a backslash)"
        )
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
    memory_gb: float = 6,
    hidden_visibility: str = "after_published",
    shard: tuple[int, int] | None = None,
) -> list[SubmissionResult]:
    """Grade ``submissions``; write ``out_dir/grades.csv``, one JSON per submission and the
    class report ``out_dir/report.html`` (:mod:`seqcourse.grading.report`).

    ``shard=(K, N)`` grades only the K-th of N deterministic parts of ``submissions`` (see
    :mod:`seqcourse.grading.shards`), under the file names one run would give them, and writes
    ``out_dir/shard.json`` so that ``seqcourse grade merge`` can join the parts.

    ``formats`` may add ``"gradescope"`` (``results.json`` for a single submission, else
    ``<name>.results.json``), whose hidden tests students see as ``hidden_visibility`` says
    (Gradescope's visibility: hidden, after_due_date, after_published, visible);
    ``feedback`` writes ``<name>.feedback.md`` per submission.

    On SIGTERM, SIGINT or SIGHUP (in the main thread) every worker and kernel is killed, the
    finished rows are kept, the others are marked interrupted, and :class:`GradingInterrupted`
    is raised once ``grades.csv`` is written.

    Raises:
        GradingInterrupted: the run was stopped by a signal."""
    submissions = [Path(s) for s in submissions]
    sweep_stale_scratch()
    master = resolve_master(submissions, assignment, Path(masters))
    parsed = read_assignment(master)
    out_dir.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    outs = [out_dir / _json_name(s, taken) for s in submissions]
    one_file = len(submissions) == 1  # Gradescope's name: results.json for a run of one
    if shard is not None:
        names = [display_name(s)[0] for s in submissions]
        shards.write_manifest(out_dir, parsed, shard, names, [o.name for o in outs])
        picked = shards.pick(names, shard)
        submissions, outs = [submissions[i] for i in picked], [outs[i] for i in picked]
    private = _scratch_folder("private", 0o700)
    progress(
        f"grading {len(submissions)} submission(s) of {parsed.name} ({parsed.total_points:g} points) with {jobs} job(s)"
    )
    results: list[SubmissionResult | None] = [None] * len(submissions)
    lock = threading.Lock()
    done = 0
    csv_path = out_dir / "grades.csv"
    pending = [_lost(s, parsed) for s in submissions]
    try:  # every submission has its row from the start; finished ones replace theirs
        rows = IncrementalCsv(csv_path, parsed, pending)
    except OSError:  # e.g. grades.csv is a folder: write next to it, never lose the grades
        csv_path = out_dir / f"grades-{secrets.token_hex(4)}.csv"
        rows = IncrementalCsv(csv_path, parsed, pending)

    def work(i: int) -> None:
        nonlocal done
        if _WORKERS.signal_name:  # the run is being stopped: start nothing new
            return
        try:
            r = grade_one(
                submissions[i], parsed, outs[i], cell_timeout, total_timeout, private, memory_gb
            )
        except Exception as err:  # never lose a row
            r = SubmissionResult.blank(display_name(submissions[i])[0], parsed)
            r.close(
                f"not graded: the grader failed ({type(err).__name__}: {str(err)[:200]})", "error"
            )
        results[i] = r
        try:
            if feedback:
                write_atomic(outs[i].with_suffix(".feedback.md"), r.feedback_markdown())
            if "gradescope" in formats:
                name = "results.json" if one_file else outs[i].stem + ".results.json"
                write_atomic(out_dir / name, json.dumps(r.gradescope(hidden_visibility), indent=1))
        except OSError as err:
            r.log.append(f"could not write feedback ({type(err).__name__})")
        with lock:
            done += 1
            try:
                rows.set(i, r)
            except OSError as err:  # the full file is rewritten at the end
                r.log.append(f"could not append to {csv_path.name} ({type(err).__name__})")
            progress(
                f"[{done}/{len(submissions)}] {r.submission:.200}: {r.total:g}/{r.max_points:g} ({r.status}, {r.seconds:.1f} s)"
            )

    try:  # started here, not in a pool thread: it lives as long as this thread (see _start_worker)
        worker_server.shared_server(_shared_env())
    except (OSError, AttributeError):
        pass  # each worker will be a process of its own
    previous = _catch_stop_signals()
    try:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            list(pool.map(work, range(len(submissions))))
    finally:
        _restore_signals(previous)
        final = [
            r if r is not None else _lost(submissions[i], parsed) for i, r in enumerate(results)
        ]
        rows.finish(final)
        shutil.rmtree(private, ignore_errors=True)
    try:
        write_report(final, parsed, out_dir / "report.html")
    except Exception as err:  # the grades are written: a report that fails loses none of them
        progress(f"could not write {out_dir / 'report.html'} ({type(err).__name__}: {err})")
    progress(f"wrote {csv_path} and report.html")
    if _WORKERS.signal_name:
        raise GradingInterrupted(f"stopped by {_WORKERS.signal_name}; rows written to {csv_path}")
    return final


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def _catch_stop_signals() -> dict:
    """Make SIGTERM, SIGINT and SIGHUP end every worker (see :class:`_Workers`); return the
    handlers they replace. A second signal repeats the kill, it never waits on a child.
    Only possible in the main thread; elsewhere nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    _WORKERS.signal_name, _WORKERS.stopped = "", set()

    def stop(signum, frame):
        _WORKERS.stop_all(signal.Signals(signum).name)

    return {sig: signal.signal(sig, stop) for sig in STOP_SIGNALS}


def _restore_signals(previous: dict) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)


def _lost(submission: Path, assignment: Assignment) -> SubmissionResult:
    """The row of a submission the run did not grade (a placeholder until it is graded)."""
    name, escaped = display_name(submission)
    r = SubmissionResult.blank(name, assignment)
    r.name_escaped = escaped
    why = f" ({_WORKERS.signal_name})" if _WORKERS.signal_name else ""
    r.close(f"not graded: the grading run ended before this submission was graded{why}", "error")
    return r
