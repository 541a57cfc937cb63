"""Kernels for nbval forked from a process that imported TensorFlow, Keras and ipykernel once.

A notebook's setup cell spends 4–6 s of CPU importing TensorFlow and Keras; the suite runs 26
notebooks. ``conftest.py`` has nbval start each kernel through :class:`ForkedKernelManager`,
which asks this process's fork server (``python tests/forked_kernels.py FD``, started on first
use, killed with the test process) for a child that becomes ipykernel on the kernel's
connection file, with the kernel's environment, working folder and log. The child is a fresh
copy of a process that ran no notebook and no TensorFlow operation, in a session of its own;
every notebook then runs exactly as in a kernel started with ``python -m ipykernel_launcher``.
These are test kernels, not sandboxes (the grader's are: ``seqcourse.grading.kernel_server``).
``SEQCOURSE_FRESH_KERNELS=1`` starts every kernel as a fresh process instead (the Colab job of
``.ci/run`` does, as Colab would).
"""

from __future__ import annotations

import importlib
import os
import signal
import socket
import sys
import tempfile
import threading

from jupyter_client.manager import KernelManager

from seqcourse.execution import CurrentEnvKernelManager

PRELOAD = ("tensorflow", "keras", "ipykernel.kernelapp")
FRESH_ENV = "SEQCOURSE_FRESH_KERNELS"
_SERVER: dict = {}
_LOCK = threading.Lock()


def _control() -> socket.socket | None:
    """This process's socket to its fork server, started on first use; None where it cannot
    run (no ``socket.send_fds``) or ``SEQCOURSE_FRESH_KERNELS`` is set."""
    from seqcourse.grading.worker_server import start_fork_server

    if os.environ.get(FRESH_ENV) or not hasattr(socket, "send_fds"):
        return None
    with _LOCK:
        server = _SERVER.get("process")
        if server is None or server.poll() is not None:
            _SERVER["control"], _SERVER["process"] = start_fork_server([__file__, "{fd}"])
        return _SERVER["control"]


def _forked_launch(manager, kernel_cmd: list[str], kw: dict) -> bool:
    """Have the fork server start ``kernel_cmd`` (``python -m ipykernel_launcher -f FILE``) for
    jupyter_client's ``manager`` with the ``Popen`` arguments ``kw`` (environment, working
    folder, log); False where it cannot (another command, no server, the server gone)."""
    from seqcourse.grading.kernel_server import adopt
    from seqcourse.grading.worker_server import ServerGone, request_child

    control = _control() if list(kernel_cmd[1:3]) == ["-m", "ipykernel_launcher"] else None
    if control is None:
        return False
    cwd = str(kw.get("cwd") or os.getcwd())
    log = kw.get("stderr")
    fd = log.fileno() if hasattr(log, "fileno") else os.open(os.devnull, os.O_WRONLY)
    request = {"env": dict(kw.get("env") or os.environ), "cwd": cwd, "argv": kernel_cmd[3:]}
    try:
        handle = request_child(control, request, [fd])
    except ServerGone:
        return False
    finally:
        if not hasattr(log, "fileno"):
            os.close(fd)
    adopt(manager, handle, cwd)
    return True


class ForkedKernelManager(KernelManager):
    """jupyter_client's kernel manager (nbval's), with ipykernel forked by the fork server (see
    the module's docstring) where it runs; other kernels start as usual."""

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        if not _forked_launch(self, kernel_cmd, kw):
            await super()._async_launch_kernel(kernel_cmd, **kw)


class ForkedRunnerKernelManager(CurrentEnvKernelManager):
    """``seqcourse run``'s kernel manager (run tag, process-tree kill, IPC sockets), with
    ipykernel forked by the fork server where it runs. ``conftest.py`` makes it the runner's
    default in this suite."""

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        kw["env"] = self.tagged_env(kw.get("env"))
        if _forked_launch(self, kernel_cmd, kw):
            self._kernel_pid = self.provisioner.pid
        else:
            await super()._async_launch_kernel(kernel_cmd, **kw)

    _launch_kernel = _async_launch_kernel


def _run_kernel(request: dict, fds: list[int], inherited: list, ready: int, server: int) -> None:
    """In a forked child: become ipykernel as ``request`` asks, output to ``fds[1]``."""
    from seqcourse.grading.kernel_server import launch_ipykernel
    from seqcourse.grading.worker_server import exit_with, leave_server

    def run() -> int:
        reply, log = fds
        leave_server(inherited, reply, ready, server)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        tempfile.tempdir = None
        return launch_ipykernel(request["argv"])

    exit_with(run)


def main(fd: str) -> None:
    from seqcourse.grading.worker_server import serve

    control = socket.socket(fileno=int(fd))
    for name in PRELOAD:
        importlib.import_module(name)
    serve(control, run_child=_run_kernel, fds_per_job=2)


if __name__ == "__main__":
    main(sys.argv[1])
