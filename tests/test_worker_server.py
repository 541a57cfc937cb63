"""The fork server that starts grading workers (``seqcourse.grading.worker_server``): each
worker is a child of its own session, in the job's folder, with the job's streams, killed with
its session, and no server outlives its grader."""

import os
import signal
import subprocess
import sys
import time

import pytest

from seqcourse.grading.worker_server import ServerGone, WorkerServer

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")


@pytest.fixture(scope="module")
def server():
    s = WorkerServer(dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    yield s
    s.close()


def _fork(server, tmp_path, job: bytes | None):
    """A worker forked with ``job`` on its stdin (None: stdin left open, the worker waits)."""
    stdin_r, stdin_w = os.pipe()
    result_r, result_w = os.pipe()
    log = open(tmp_path / "worker.log", "wb")
    env = dict(os.environ, SEQCOURSE_TEST_MARK="job-env")
    try:
        worker = server.fork(env, str(tmp_path), stdin_r, log.fileno(), result_w)
    finally:
        os.close(stdin_r)
        os.close(result_w)
        log.close()
    if job is not None:
        os.write(stdin_w, job)
        os.close(stdin_w)
    return worker, stdin_w, result_r


def test_a_worker_runs_the_worker_main_and_reports_its_exit_status(server, tmp_path):
    worker, _, result_r = _fork(server, tmp_path, b"not json")
    assert worker.wait(timeout=120) == 1
    log = (tmp_path / "worker.log").read_text()
    assert "JSONDecodeError" in log and "seqcourse/grading/worker.py" in log, log
    os.close(result_r)


def test_a_worker_has_its_own_session_and_folder_and_dies_with_it(server, tmp_path):
    worker, stdin_w, result_r = _fork(server, tmp_path, None)
    try:
        assert os.getsid(worker.pid) == worker.pid  # killpg(pid) reaches all it started
        status = open(f"/proc/{worker.pid}/status").read()
        assert f"PPid:\t{server.process.pid}\n" in status
        with pytest.raises(subprocess.TimeoutExpired):
            worker.wait(timeout=0.5)  # still waiting for its job
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
    assert worker.wait(timeout=30) == -signal.SIGKILL
    os.close(stdin_w)
    os.close(result_r)


def test_no_server_outlives_its_grader(tmp_path):
    grader = subprocess.Popen(
        [sys.executable, "-c",
         "import os, sys, time\n"
         "from seqcourse.grading.worker_server import WorkerServer\n"
         "s = WorkerServer(dict(os.environ))\n"
         "print(s.process.pid, flush=True)\n"
         "time.sleep(600)\n"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    server_pid = int(grader.stdout.readline())
    grader.kill()
    grader.wait()
    for _ in range(100):
        try:
            os.kill(server_pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(server_pid, signal.SIGKILL)
        pytest.fail("the worker server outlived the grader that started it")


def test_a_closed_server_refuses_jobs_with_a_clear_error(tmp_path):
    s = WorkerServer(dict(os.environ))
    s.close()
    with pytest.raises(ServerGone, match="worker server"):
        _fork(s, tmp_path, b"{}")
