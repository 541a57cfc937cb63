"""A fork server for graded kernels: TensorFlow, Keras and ipykernel imported once, never a job.

A graded kernel used to start as a fresh Python (``unshare … python -m
seqcourse.grading.sandbox … -- python -m ipykernel_launcher``) whose notebook then imported
TensorFlow and Keras in its setup cell: 5–6 s of CPU per submission before any student code
ran. This server (``python -m seqcourse.grading.kernel_server FD``, started by the worker
server, :mod:`seqcourse.grading.worker_server`, and killed with it) imports them once, runs
no TensorFlow operation, holds nothing of any job or of the grader's environment (it starts
with a kernel's minimal environment, see :func:`seqcourse.grading.worker._kernel_env`), and
forks one kernel per request. Each kernel enters what ``unshare`` and the jail gave a fresh
one (see :mod:`seqcourse.grading.sandbox`):

1. the forked child closes every file descriptor the server holds (its sockets, the other
   jobs'), leads a session of its own and dies with the server (parent-death signal);
2. it calls ``unshare(2)`` for new mount, PID and network namespaces (and a user namespace
   mapping only its own user, where the grader is not root: ``unshare --map-root-user``);
3. it forks the kernel, process 1 of the new PID namespace, and replaces itself with a small
   Python that waits for it and exits with its status, ignoring SIGINT and SIGTERM (``unshare
   --fork --kill-child``: the kernel dies with it, and with it every process of the namespace);
4. the kernel builds its view, drops to its own user and group, forbids new privileges
   (:func:`seqcourse.grading.sandbox.enter_view`, as the jail does), takes the job's
   environment, forgets every ``seqcourse.grading`` module (the view covers that folder: an
   import fails as it does in a fresh kernel) and runs ipykernel on the job's connection file.

A kernel's memory is the server's: libraries only. The grader's side
(:class:`seqcourse.grading.kernel_manager.SandboxKernelManager`, in a grading worker) sends one
request per kernel and gets a :class:`~seqcourse.grading.worker_server.ForkedWorker` handle.
Where the server cannot run, kernels start as fresh processes, as before.
"""

from __future__ import annotations

import ctypes
import importlib
import os
import shutil
import signal
import socket
import sys
import tempfile
import traceback

PRELOAD = ("tensorflow", "keras", "ipykernel.kernelapp", "seqcourse.grading.sandbox")
HOME_PREFIX = "seqcourse-kernel-server-"  # the server's HOME: a fresh temporary folder
FD_ENV = "SEQCOURSE_KERNEL_SERVER_FD"  # in a grading worker: its socket to the kernel server
CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x20000, 0x10000000, 0x20000000, 0x40000000
EXIT_NO_NAMESPACES = 71
# the waiter a kernel's launcher becomes: `unshare --fork --kill-child`'s parent, in Python
WAITER = (
    "import os, sys\n"
    "status = os.waitpid(int(sys.argv[1]), 0)[1]\n"
    "code = os.waitstatus_to_exitcode(status)\n"
    "os._exit(code if code >= 0 else 128 - code)\n"
)


class KernelServer:
    """The worker server's handle on the kernel server it started (see the module's docstring)."""

    def __init__(self, env: dict[str, str], home: str):
        from seqcourse.grading.worker_server import start_fork_server

        self.control, self.process = start_fork_server(
            ["-m", "seqcourse.grading.kernel_server", "{fd}", home], env, cwd=home, quiet=True
        )


def start() -> KernelServer | None:
    """Start a kernel server for this worker server's workers, or None where graded kernels
    cannot have namespaces (they then start as fresh processes)."""
    from seqcourse.grading.sandbox import unshare_flags
    from seqcourse.grading.worker import _kernel_env

    if unshare_flags() is None or not hasattr(socket, "send_fds"):
        return None
    home = tempfile.mkdtemp(prefix=HOME_PREFIX)
    return KernelServer(_kernel_env(home), home)


def fork_kernel(env: dict[str, str], jail: dict, user_namespace: bool, argv: list[str]):
    """In a grading worker: ask the kernel server for a kernel that runs ipykernel with
    ``argv`` (``-f CONNECTION_FILE``) and environment ``env``, in the namespaces and view
    ``jail`` describes (keyword arguments of :func:`seqcourse.grading.sandbox.enter_view`).

    Returns:
        A :class:`~seqcourse.grading.worker_server.ForkedWorker` (Popen-like) for the kernel's
        launcher, or None where this worker has no kernel server.

    Raises:
        seqcourse.grading.worker_server.ServerGone: the server does not answer."""
    from seqcourse.grading.worker_server import request_child

    fd = os.environ.get(FD_ENV)
    if not fd:
        return None
    request = {"env": env, "jail": jail, "user": user_namespace, "argv": argv}
    with socket.socket(fileno=os.dup(int(fd))) as control:
        return request_child(control, request, [], "kernel server")


def adopt(manager, handle, cwd: str) -> None:
    """Make ``handle`` (a forked kernel's :class:`~seqcourse.grading.worker_server.ForkedWorker`)
    the kernel process of jupyter_client's ``manager``, as its provisioner's ``Popen`` would be
    (the child leads its own session: its process id is its process group's)."""
    provisioner = manager.provisioner
    provisioner.process = handle
    provisioner.pid = provisioner.pgid = handle.pid
    provisioner.cwd = cwd
    manager._reconcile_connection_info(provisioner.connection_info)


# ------------------------------------------------------------------------- the server itself


def _unshare(user_namespace: bool) -> None:
    """New mount, PID (for the next child) and network namespaces, and where asked a user
    namespace in which this process's user is root (``unshare --user --map-root-user``)."""
    uid, gid = os.getuid(), os.getgid()
    flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | (CLONE_NEWUSER if user_namespace else 0)
    if ctypes.CDLL(None, use_errno=True).unshare(flags) != 0:
        os._exit(EXIT_NO_NAMESPACES)
    if user_namespace:
        for table, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"), ("gid_map", f"0 {gid} 1")):  # fmt: skip
            with open(f"/proc/self/{table}", "w") as fh:
                fh.write(text)


def launch_ipykernel(argv: list[str]) -> int:
    """Become ipykernel with ``argv`` (``-f CONNECTION_FILE``), as ``python -m
    ipykernel_launcher`` started in this working folder would: without the folder Python put
    first on ``sys.path`` (the launcher removes its own, the working folder, which IPython puts
    back). Returns when the kernel shuts down."""
    from ipykernel.kernelapp import IPKernelApp

    del sys.path[0]
    sys.argv = [sys.executable, *argv]
    IPKernelApp.launch_instance()
    return 0


def _become_kernel(request: dict) -> None:
    """Process 1 of the new PID namespace: enter the view, then run ipykernel. Never returns."""
    from seqcourse.grading import sandbox
    from seqcourse.grading.worker_server import exit_with

    def run() -> int:
        sandbox.die_with_parent()  # with the waiter: and the waiter dies with the server
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        sandbox.enter_view(**request["jail"])
        sandbox._prctl(sandbox.PR_SET_DUMPABLE, 1)  # as after exec: its /proc is its own
        os.environ.clear()
        os.environ.update(request["env"])
        tempfile.tempdir = None
        import seqcourse

        for name in [m for m in sys.modules if m.split(".")[:2] == ["seqcourse", "grading"]]:
            del sys.modules[name]
        seqcourse.__dict__.pop("grading", None)
        return launch_ipykernel(request["argv"])

    exit_with(run)


def _run_kernel(request: dict, fds: list[int], inherited: list, ready: int, server: int) -> None:
    """In a child forked by :func:`seqcourse.grading.worker_server.serve`: steps 1–3 of the
    module's docstring. Never returns."""
    from seqcourse.grading.worker_server import leave_server

    try:
        leave_server(inherited, fds[0], ready, server)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))  # nothing of the server's reaches a kernel
        _unshare(request["user"])
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        kernel = os.fork()
        if kernel == 0:
            _become_kernel(request)
        os.execv(sys.executable, [sys.executable, "-S", "-c", WAITER, str(kernel)])
    except BaseException:
        traceback.print_exc()
    os._exit(1)


def main(argv=None) -> int:
    from seqcourse.grading.sandbox import not_dumpable
    from seqcourse.grading.worker_server import serve

    not_dumpable()
    argv = sys.argv[1:] if argv is None else argv
    control = socket.socket(fileno=int(argv[0]))
    for name in PRELOAD:
        importlib.import_module(name)
    try:
        serve(control, run_child=_run_kernel, fds_per_job=1)
    finally:
        if os.path.basename(argv[1]).startswith(HOME_PREFIX):
            shutil.rmtree(argv[1], ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
