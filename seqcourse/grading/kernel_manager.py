"""The grader's side of the sandbox: the kernel manager that starts a submission's kernel in
the namespaces and view of :mod:`seqcourse.grading.sandbox`.

It lives apart from that module because graded kernels import :mod:`~seqcourse.grading.sandbox`
(the kernel server preloads it, forked children reach it through ``die_with_parent``), while
this manager needs nbclient's kernel manager: kept here, a graded kernel's modules are those
of a fresh kernel, without nbclient.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

from traitlets import default

from seqcourse.execution import CurrentEnvKernelManager
from seqcourse.grading.sandbox import (
    die_with_parent,
    grading_folder,
    jail_words,
    kernel_ids,
    unshare_flags,
    view_paths,
)


class SandboxKernelManager(CurrentEnvKernelManager):
    """A kernel manager that starts the kernel in the sandbox :mod:`seqcourse.grading.sandbox`
    describes.

    Set :attr:`workdir` (the kernel's working folder, the same path in its view) before
    starting.
    """

    workdir: str = ""
    kernel_env: dict = {}
    namespaced = False

    def _private_dir(self) -> str:
        if getattr(self, "_sandbox_parent", None) is None:
            self._sandbox_parent = tempfile.mkdtemp(prefix="seqcourse-sandbox-")
            os.chmod(self._sandbox_parent, 0o711)  # traversable, not listable
            self._socket_dir = tempfile.mkdtemp(dir=self._sandbox_parent)
            self._root_dir = tempfile.mkdtemp(dir=self._sandbox_parent)  # the view's mount point
        return self._socket_dir

    @default("ip")
    def _default_ip(self):  # sockets in the private folder
        return os.path.join(self._private_dir(), "kernel")

    async def _async_pre_start_kernel(self, **kw):
        self._private_dir()
        self.connection_file = os.path.join(self._socket_dir, "connection.json")
        return await super()._async_pre_start_kernel(**kw)

    def jail_options(self) -> dict:
        """Keyword arguments of :func:`enter_view` for this kernel (its view, identity and
        working folder); sets :attr:`namespaced`. The kernel's own folders are handed to its
        identity first."""
        if not hasattr(self, "_ids"):  # one identity per kernel, kept across restarts
            self._ids = kernel_ids()
        ids = self._ids
        if ids:
            for path in (self._socket_dir, self.connection_file, self.workdir):
                if path and os.path.exists(path):
                    os.chown(path, *ids)
        self.namespaced = unshare_flags() is not None
        options: dict = {"workdir": self.workdir}
        if self.namespaced:
            options.update(root=self._root_dir, read_only=view_paths(), writable=[self._socket_dir],
                           cover=[grading_folder()])  # fmt: skip
        if ids:
            options.update(uid=ids[0], gid=ids[1])
        return options

    def kernel_command_prefix(self) -> list[str]:
        jail = [sys.executable, "-m", "seqcourse.grading.sandbox", *jail_words(self.jail_options())]
        flags = unshare_flags()
        return (["unshare", *flags, "--"] if flags else []) + jail + ["--"]

    def kernel_popen_kwargs(self) -> dict:
        return {
            "stdout": subprocess.DEVNULL,
            "stderr": subprocess.DEVNULL,
            "preexec_fn": die_with_parent,
        }

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        env = dict(self.kernel_env) if self.kernel_env else dict(kw.get("env") or os.environ)
        kw["env"] = env
        kw["cwd"] = self.workdir or kw.get("cwd")
        if not self._fork_kernel(list(kernel_cmd), kw):
            await super()._async_launch_kernel(kernel_cmd, **kw)

    def _fork_kernel(self, kernel_cmd: list[str], kw: dict) -> bool:
        """Have the kernel server fork this kernel (see :mod:`seqcourse.grading.kernel_server`)
        when this process has one and the kernel is ipykernel in namespaces; False otherwise
        (the kernel is then started as a fresh process)."""
        from seqcourse.grading import kernel_server
        from seqcourse.grading.worker_server import ServerGone

        flags = unshare_flags()
        if not flags or kernel_cmd[1:3] != ["-m", "ipykernel_launcher"]:
            return False
        env = self.tagged_env(kw["env"])
        try:
            handle = kernel_server.fork_kernel(
                env, self.jail_options(), "--user" in flags, kernel_cmd[3:]
            )
        except ServerGone:  # it died: this kernel starts as a fresh process
            return False
        if handle is None:
            return False
        kernel_server.adopt(self, handle, kw["cwd"])
        self._kernel_pid = handle.pid
        return True

    _launch_kernel = _async_launch_kernel

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart)
        if not restart and getattr(self, "_sandbox_parent", None):
            shutil.rmtree(self._sandbox_parent, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources
