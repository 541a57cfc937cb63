"""A fork server for grading workers: Python, the worker, TensorFlow and Keras imported once.

Grading one submission used to start ``python -m seqcourse.grading.worker``, which imported
the grader and, for the judges that rebuild or run Keras models, TensorFlow — 6 to 8 s of CPU
on a 2-core VM before any student code ran. The server (``python -m
seqcourse.grading.worker_server``, started by the grader and killed with it) imports all of
that once, runs no TensorFlow operation, and then forks one worker per submission. Each child
is what the separate process was: a fresh copy of a process that has graded nothing (no
classmate's state can reach it), in a session of its own (``setsid``: the grader kills it and
everything left in its session with ``killpg``), killed if the server dies, with the job's own
environment, working folder, stdin, log and result pipe (received with ``SCM_RIGHTS``), and it
runs :func:`seqcourse.grading.worker.main` exactly as the command did. The server also
starts the kernel server (:mod:`seqcourse.grading.kernel_server`) that forks its workers'
kernels; each worker gets its socket to it (``SEQCOURSE_KERNEL_SERVER_FD``).

The grader talks to the server over a socket pair only it holds: one message per job (its
environment, working folder and three file descriptors, plus a socket for that job's replies),
answered with the child's process id and, when it ends, its exit status (the server reaps its
children). :class:`ForkedWorker` is the grader's handle on one child, shaped like the
:class:`subprocess.Popen` it replaces (``pid``, ``wait``, ``returncode``).
"""

from __future__ import annotations

import importlib
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback

from seqcourse.grading import kernel_server

_KERNELS = None  # the kernel server this server started (its workers' kernels), if any
PRELOAD = ("seqcourse.grading.worker", "tensorflow", "keras", "seqcourse.grading.rebuilt_models")
MAX_MESSAGE = 1 << 20
START_TIMEOUT = 120  # seconds the server may take to fork a worker (it may still be importing)
FDS_PER_JOB = 4  # the job's reply socket, the worker's stdin, its log, its result pipe


class ServerGone(OSError):
    """The fork server is not running (it failed to start, or died)."""


class ForkedWorker:
    """The grader's handle on one worker forked by the server (the parts of ``Popen`` used)."""

    def __init__(self, reply: socket.socket):
        self._reply, self.returncode = reply, None
        reply.settimeout(START_TIMEOUT)
        try:
            message = reply.recv(64)
        except TimeoutError:
            message = b"no answer"
        if not message.startswith(b"pid "):
            reply.close()
            raise ServerGone(f"the worker server did not start the worker ({message[:60]!r})")
        self.pid = int(message[4:])

    def wait(self, timeout: float | None = None) -> int:
        """The worker's exit status, as ``Popen.returncode`` gives it (``-N`` for signal N).

        Raises:
            subprocess.TimeoutExpired: it still runs after ``timeout`` seconds."""
        if self.returncode is not None:
            return self.returncode
        self._reply.settimeout(timeout)
        try:
            message = self._reply.recv(64)
        except (TimeoutError, BlockingIOError):  # BlockingIOError: timeout 0
            raise subprocess.TimeoutExpired(f"worker {self.pid}", timeout) from None
        self._reply.close()
        # no status: the server died, and took its children with it (parent-death signal)
        self.returncode = int(message[5:]) if message.startswith(b"exit ") else -signal.SIGKILL
        return self.returncode

    def poll(self) -> int | None:
        """The exit status if the child has ended, else None."""
        try:
            return self.wait(0)
        except subprocess.TimeoutExpired:
            return None

    def send_signal(self, signum: int) -> None:
        """Signal the child's whole session (it leads one: see :func:`_run_child`)."""
        if self.returncode is None:
            os.killpg(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    stdin = stdout = stderr = None  # what jupyter_client's provisioner closes on a Popen


def request_child(
    control: socket.socket, request: dict, fds: list[int], server: str = "fork server"
) -> ForkedWorker:
    """Ask the fork server at the other end of ``control`` (named ``server`` in errors) for a
    child that does ``request`` (JSON) with file descriptors ``fds`` (kept open here); its
    handle.

    Raises:
        ServerGone: the server is not running, or did not start the child."""
    reply, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        socket.send_fds(control, [json.dumps(request).encode()], [theirs.fileno(), *fds])
    except OSError as err:
        reply.close()
        raise ServerGone(f"the {server} is gone ({err})") from err
    finally:
        theirs.close()
    return ForkedWorker(reply)


def start_fork_server(
    args: list[str], env: dict[str, str] | None = None, cwd: str | None = None, quiet=False
) -> tuple[socket.socket, subprocess.Popen]:
    """Start ``python ARGS`` as a fork server: ``"{fd}"`` in ``args`` becomes the number of its
    end of a new SEQPACKET socket pair; it runs with ``env`` (default: this process's) in
    ``cwd``, reads nothing, writes to this process's output (nowhere when ``quiet``), leads a
    session of its own and dies when the thread that started it ends. Returns this end of the
    socket (requests go through :func:`request_child`) and the server's process."""
    from seqcourse.grading.sandbox import die_with_parent

    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    quiet_out = subprocess.DEVNULL if quiet else None
    try:
        process = subprocess.Popen(
            [sys.executable] + [a.replace("{fd}", str(theirs.fileno())) for a in args],
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=quiet_out,
            stderr=quiet_out,
            pass_fds=(theirs.fileno(),),
            start_new_session=True,
            preexec_fn=die_with_parent,  # the thread that started it ends: the server too
        )
    except BaseException:
        mine.close()
        raise
    finally:
        theirs.close()
    return mine, process


class WorkerServer:
    """The grader's end of a running fork server (see the module's docstring)."""

    def __init__(self, env: dict[str, str]):
        self.env = env
        self._lock = threading.Lock()
        self._control, self.process = start_fork_server(
            ["-m", "seqcourse.grading.worker_server", "{fd}"], env
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def fork(
        self, env: dict[str, str], cwd: str, stdin: int, log: int, result: int
    ) -> ForkedWorker:
        """Fork a worker that runs with ``env`` in ``cwd``, reads its job on ``stdin``, writes
        its output to ``log`` and its results to ``result`` (file descriptors, kept open here).

        Raises:
            ServerGone: the server is not running."""
        with self._lock:
            request = {"env": env, "cwd": cwd}
            return request_child(self._control, request, [stdin, log, result], "worker server")

    def close(self) -> None:
        """Send no more jobs: the server exits once the workers it forked have ended."""
        self._control.close()


_SERVER: WorkerServer | None = None
_SERVER_LOCK = threading.Lock()


def shared_server(env: dict[str, str]) -> WorkerServer:
    """This process's server for workers with environment ``env`` (less the per-job variables
    the grader sets for each fork), started on first use and again if it died or ``env``
    changed (the modules it preloads read the environment when they are imported)."""
    global _SERVER
    with _SERVER_LOCK:
        if _SERVER is None or _SERVER.env != env or not _SERVER.alive():
            if _SERVER is not None:
                _SERVER.close()
            _SERVER = WorkerServer(env)
        return _SERVER


# ------------------------------------------------------------------------- the server itself


def leave_server(inherited: list, reply: int, ready: int, server: int) -> None:
    """The first steps of a forked child: forget the server's signal handling, close what it
    inherited of the server (``inherited``: its sockets, pipes and selector; the other jobs'
    reply sockets) and its own ``reply`` socket, lead a session of its own and die with the
    server; then close ``ready`` (the server waits for that before it gives the grader the
    child's process id)."""
    from seqcourse.grading.sandbox import die_with_parent

    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for thing in inherited:
        if isinstance(thing, int):
            os.close(thing)
        else:
            thing.close()
    os.close(reply)
    os.setsid()
    die_with_parent()
    if os.getppid() != server:  # the server died before the parent-death signal was set
        os._exit(1)
    os.close(ready)


def exit_with(run) -> None:
    """In a forked child: ``run()`` and leave the process with its status (a ``SystemExit``'s
    code; 1 after an error, whose traceback goes to stderr). Never returns."""
    status = 1
    try:
        status = run()
    except SystemExit as end:
        status = end.code if isinstance(end.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(status if isinstance(status, int) else 0)


def _run_child(request: dict, fds: list[int], inherited: list, ready: int, server: int) -> None:
    """In a forked child: become the worker the job asks for. Never returns."""

    def run() -> int:
        from seqcourse.grading import worker

        reply, stdin, log, result = fds
        leave_server(inherited, reply, ready, server)
        os.dup2(stdin, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(stdin)
        os.close(log)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        if _KERNELS is not None:  # the worker's kernels are forked by the kernel server
            os.environ[kernel_server.FD_ENV] = str(_KERNELS.control.fileno())
        import tempfile

        tempfile.tempdir = None  # TMPDIR is the job's: look it up again
        return worker.main(["--result-fd", str(result)])

    exit_with(run)


def _wait_until_ready(ready: int, timeout: float = 30) -> None:
    """Wait until a new child closed its end of the pipe ``ready`` (it leads its own session:
    ``killpg`` on its process id reaches it), or died, or ``timeout`` passed; close ``ready``."""
    selector = selectors.DefaultSelector()
    selector.register(ready, selectors.EVENT_READ)
    try:
        selector.select(timeout)
    finally:
        selector.close()
        os.close(ready)


def _report_exits(children: dict[int, socket.socket]) -> None:
    """Reap every child that ended and send its status (``Popen.returncode``'s form)."""
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        reply = children.pop(pid, None)
        if reply is not None:
            code = os.waitstatus_to_exitcode(status)
            try:
                reply.send(f"exit {code}".encode())
            except OSError:
                pass
            reply.close()


def serve(control: socket.socket, run_child=None, fds_per_job: int = FDS_PER_JOB) -> None:
    """Fork a child for each job received on ``control`` (a JSON request and ``fds_per_job``
    file descriptors, the first the job's reply socket), which ``run_child`` (default: a
    grading worker, :func:`_run_child`) becomes; return when the grader closes ``control``."""
    run_child = run_child or _run_child
    children: dict[int, socket.socket] = {}
    server = os.getpid()
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    selector = selectors.DefaultSelector()
    selector.register(control, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    while True:
        for key, _ in selector.select(timeout=1.0):
            if key.fileobj == wake_r:
                os.read(wake_r, 4096)
                continue
            try:
                message, fds, _, _ = socket.recv_fds(control, MAX_MESSAGE, fds_per_job)
            except OSError:
                message, fds = b"", []
            if not message:  # the grader closed its end: no more jobs, finish those running
                for fd in fds:
                    os.close(fd)
                while children:
                    time.sleep(0.2)
                    _report_exits(children)
                return
            if len(fds) != fds_per_job:
                for fd in fds:
                    os.close(fd)
                continue
            reply = socket.socket(fileno=fds[0])
            sys.stdout.flush()
            sys.stderr.flush()
            ready_r, ready_w = os.pipe()
            pid = os.fork()
            if pid == 0:
                inherited = [selector, control, wake_r, wake_w, ready_r, *children.values()]
                run_child(json.loads(message), fds, inherited, ready_w, server)
            os.close(ready_w)
            for fd in fds[1:]:
                os.close(fd)
            _wait_until_ready(ready_r)
            children[pid] = reply
            try:
                reply.send(f"pid {pid}".encode())
            except OSError:
                pass
        _report_exits(children)


def main(argv=None) -> int:
    from seqcourse.grading.sandbox import not_dumpable

    not_dumpable()
    argv = sys.argv[1:] if argv is None else argv
    control = socket.socket(fileno=int(argv[0]))
    global _KERNELS
    _KERNELS = kernel_server.start()  # its imports run while this server's do
    for name in PRELOAD:
        importlib.import_module(name)
    serve(control)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
