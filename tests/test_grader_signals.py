"""A grading run that is stopped leaves nothing behind, and every submission keeps its row.

Two slow submissions of notebook 01 are graded with ``--jobs 2``; each starts a detached
(``setsid``) daemon and then sleeps in its first exercise cell. Once both daemons run, the
grader gets SIGTERM, SIGINT or SIGKILL. Afterwards no process of the run is left (found by a
marker in the daemons' command line and by the run's temporary folder in every process's
command line or environment), no work folder is left (after SIGKILL: once the next run's
sweep has removed the dead grader's folders), and ``grades.csv`` lists both submissions.
"""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from grading_copies import NAME, ROOT, solved_copy

from seqcourse.grading.notebook_format import solution_cells

MARK = "seqcourse-signal-daemon-7171"
SLOW = f"""
import subprocess, time
subprocess.Popen(["setsid", "sh", "-c", "sleep 600; : {MARK}"])
time.sleep(600)
"""


def _pids_with(text: str, files=("cmdline", "environ")) -> list[int]:
    """Processes whose command line or environment contains ``text``."""
    needle, found = text.encode(), []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        for name in files:
            try:
                with open(f"/proc/{pid}/{name}", "rb") as fh:
                    if needle in fh.read():
                        found.append(int(pid))
                        break
            except OSError:
                pass
    return found


def _wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.5)
    return condition()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_a_stopped_run_leaves_no_process_no_folder_and_every_row(tmp_path, request, signum):
    # the grader's temporary folder (its workers' folders go there): short, as /tmp is, so
    # that the kernels' socket paths stay within the 107 bytes a Unix socket path may have
    scratch = Path(tempfile.mkdtemp(prefix="sqsig-", dir="/tmp"))
    request.addfinalizer(lambda: shutil.rmtree(scratch, ignore_errors=True))
    paths = []
    for student in ("ann", "bob"):
        nb = solved_copy()
        nb.cells[solution_cells(nb)["1.1"]].source = SLOW
        path = tmp_path / student / NAME
        path.parent.mkdir()
        nbformat.write(nb, path)
        paths.append(str(path))
    out = tmp_path / "grades"
    env = dict(os.environ, TMPDIR=str(scratch))
    log = open(tmp_path / "grader.log", "wb")  # noqa: SIM115 (closed when the test ends)
    grader = subprocess.Popen(
        [sys.executable, "-m", "seqcourse.cli", "grade", *paths, "--out", str(out),
         "--masters", str(ROOT / "notebooks"), "--assignment", NAME[:-6], "--jobs", "2",
         "--timeout-cell", "900", "--timeout-total", "900"],
        env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        started = _wait_for(lambda: len(_pids_with(MARK, ("cmdline",))) == 2, 240)
        assert started, (tmp_path / "grader.log").read_text()[-3000:]
        grader.send_signal(signum)
        grader.wait(timeout=90)
    finally:
        if grader.poll() is None:
            grader.kill()
    assert grader.returncode != 0
    gone = _wait_for(
        lambda: not _pids_with(MARK, ("cmdline",)) and not _pids_with(str(scratch)), 30
    )
    assert gone, f"left running: {_pids_with(MARK, ('cmdline',))} {_pids_with(str(scratch))}"
    if signum == signal.SIGKILL:
        from seqcourse.grading.grade import sweep_stale_scratch

        sweep_stale_scratch(scratch)  # what the next grading run does first
    assert list(scratch.iterdir()) == []
    rows = list(csv.DictReader(open(out / "grades.csv")))
    assert sorted(os.path.basename(os.path.dirname(r["submission"])) for r in rows) == [
        "ann",
        "bob",
    ]
    assert all(r["status"] == "error" and "not graded" in r["reason"] for r in rows)
    if signum != signal.SIGKILL:
        name = signal.Signals(signum).name
        assert all(name in r["reason"] for r in rows), rows
