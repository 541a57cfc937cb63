"""The kernel a submission runs in: its own namespaces, an unprivileged user, nothing hidden in reach.

:class:`SandboxKernelManager` starts the kernel as::

    unshare [--user --map-root-user] --pid --fork --kill-child --mount-proc --mount --net -- \
        python -m seqcourse.grading.sandbox --hide DIR… [--user nobody] --workdir DIR -- KERNEL…

* a **PID namespace**: the kernel is process 1 of its namespace, so when it ends (shut down,
  killed, or its launcher killed: each link has a parent-death signal) the Linux kernel kills
  every process it started, detached ``setsid`` grandchildren included; it cannot see the
  grader's or other students' processes (``/proc`` is its own);
* a **network namespace** with no interface up: no network (kernels talk over IPC sockets);
* a **mount namespace** where the folders the grader names (masters, ``--out``, other
  submissions, the repository's ``.git``) are covered by empty read-only tmpfs mounts;
* when the grader runs as **root**, every kernel runs under an **identity of its own**: a
  user and group id drawn for it alone from :data:`KERNEL_IDS` (ids that no account and no
  file on the machine has), with no supplementary groups and ``no_new_privs``. Its socket
  folder and its working folder (mode 0700: its ``HOME``, temporary folder, IPython, Jupyter,
  Matplotlib and Keras folders, all created fresh) belong to that id alone, so no other
  kernel — a classmate graded at the same time or before — can list, read or write them.

Where ``unshare`` is not permitted the kernel runs without namespaces (a warning is logged);
the process tree is still killed by session and run tag (see ``seqcourse.execution``).
Run as ``python -m seqcourse.grading.sandbox`` only by the kernel manager.
"""

from __future__ import annotations

import ctypes
import functools
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading

from traitlets import default

from seqcourse.execution import CurrentEnvKernelManager

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38
KERNEL_IDS = range(2_000_000, 3_000_000)  # user and group ids of graded kernels, one each
_given: set[int] = set()
_given_lock = threading.Lock()


def _prctl(option: int, value: int) -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)
    except Exception:  # not Linux
        pass


def die_with_parent() -> None:
    """``preexec_fn``: SIGKILL this child when the thread that started it ends."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def not_dumpable() -> None:
    """Make this process's /proc/<pid>/{mem,fd,environ} unreadable to same-user processes."""
    _prctl(PR_SET_DUMPABLE, 0)


def unshare_flags() -> list[str] | None:
    """The ``unshare`` words that work on this machine, or None if namespaces are refused."""
    return _unshare_flags_cached(os.geteuid() == 0)


@functools.lru_cache(maxsize=2)
def _unshare_flags_cached(root: bool) -> list[str] | None:
    if not shutil.which("unshare") or not sys.platform.startswith("linux"):
        return None
    base = ["--pid", "--fork", "--kill-child", "--mount-proc", "--mount", "--net"]
    for flags in ([base] if root else []) + [["--user", "--map-root-user", *base]]:
        try:
            done = subprocess.run(
                ["unshare", *flags, "true"], capture_output=True, timeout=20, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0:
            return flags
    return None


def kernel_ids() -> tuple[int, int] | None:
    """A fresh ``(uid, gid)`` for one kernel when the grader is root, never given to another
    kernel of this grader (drawn at random from :data:`KERNEL_IDS`, so two graders on one
    machine are very unlikely to meet either); None when not root or when this process's user
    namespace does not map those ids (the kernel then runs as the grader's user)."""
    if os.geteuid() != 0:
        return None
    with _given_lock:
        while True:
            uid = KERNEL_IDS.start + secrets.randbelow(len(KERNEL_IDS))
            if uid not in _given:
                break
        if not (_mapped(uid, "uid_map") and _mapped(uid, "gid_map")):
            return None  # e.g. in a user namespace that maps only root
        _given.add(uid)
    return uid, uid


def _mapped(an_id: int, table: str) -> bool:
    try:
        with open(f"/proc/self/{table}") as fh:
            rows = [line.split() for line in fh]
    except OSError:
        return True
    return any(int(a) <= an_id < int(a) + int(n) for a, _, n in (r for r in rows if len(r) == 3))


class SandboxKernelManager(CurrentEnvKernelManager):
    """A kernel manager that starts the kernel in the sandbox described in this module.

    Set :attr:`hide` (folders the kernel must not see) and :attr:`workdir` before starting.
    """

    hide: list[str] = []
    workdir: str = ""
    kernel_env: dict = {}
    namespaced = False

    def _private_dir(self) -> str:
        if getattr(self, "_sandbox_parent", None) is None:
            self._sandbox_parent = tempfile.mkdtemp(prefix="seqcourse-sandbox-")
            os.chmod(self._sandbox_parent, 0o711)  # traversable, not listable
            self._socket_dir = tempfile.mkdtemp(dir=self._sandbox_parent)
        return self._socket_dir

    @default("ip")
    def _default_ip(self):  # sockets in the private folder
        return os.path.join(self._private_dir(), "kernel")

    async def _async_pre_start_kernel(self, **kw):
        self._private_dir()
        self.connection_file = os.path.join(self._socket_dir, "connection.json")
        return await super()._async_pre_start_kernel(**kw)

    def kernel_command_prefix(self) -> list[str]:
        if not hasattr(self, "_ids"):  # one identity per kernel, kept across restarts
            self._ids = kernel_ids()
        ids = self._ids
        if ids:
            for path in (self._socket_dir, self.connection_file, self.workdir):
                if path and os.path.exists(path):
                    os.chown(path, *ids)
        flags = unshare_flags()
        self.namespaced = flags is not None
        jail = [sys.executable, "-m", "seqcourse.grading.sandbox", "--workdir", self.workdir]
        for path in self.hide:
            jail += ["--hide", path]
        if ids:
            jail += ["--uid", str(ids[0]), "--gid", str(ids[1])]
            import seqcourse

            # Python, the course, and the kernel's own folders: a grader whose temporary folder
            # sits in a private place (TMPDIR under a 0700 folder) must still start its kernels
            needed = {sys.base_prefix, sys.prefix, os.path.dirname(seqcourse.__file__)}
            needed |= {p for p in (self.workdir, self._socket_dir) if p}
            for path in sorted(needed):
                jail += ["--expose", os.path.realpath(path)]
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
        await super()._async_launch_kernel(kernel_cmd, **kw)

    _launch_kernel = _async_launch_kernel

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart)
        if not restart and getattr(self, "_sandbox_parent", None):
            shutil.rmtree(self._sandbox_parent, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], check=False, capture_output=True).returncode == 0


def _expose(path: str, uid: int, workdir: str | None) -> None:
    """Make ``path`` reachable for ``uid``: every ancestor it cannot traverse (e.g. a 0700
    home folder holding the Python interpreter) is covered by a tmpfs holding only the way
    to ``path`` (so the rest of that folder stays out of sight)."""
    parts = os.path.realpath(path).split(os.sep)[1:]
    for depth in range(len(parts) - 1):
        ancestor = os.sep + os.sep.join(parts[: depth + 1])
        child = os.path.join(ancestor, parts[depth + 1])
        st = os.stat(ancestor)
        if st.st_mode & 0o001 or (st.st_uid == uid and st.st_mode & 0o100):
            continue
        # the staging folder must stay reachable once `ancestor` is covered
        bases = [b for b in (workdir, "/tmp", "/dev/shm", "/run") if b]
        outside = [b for b in bases if not os.path.realpath(b).startswith(ancestor + os.sep)]
        if not outside:
            return
        stage = tempfile.mkdtemp(dir=outside[0])
        if not _mount("--bind", child, stage):
            os.rmdir(stage)
            return
        if _mount("-t", "tmpfs", "-o", "mode=0755,size=64k", "exposed", ancestor):
            os.makedirs(child, exist_ok=True)
            _mount("--move", stage, child)
        else:
            subprocess.run(["umount", stage], check=False, capture_output=True)
        os.rmdir(stage)


def _jail(argv: list[str]) -> None:
    """Inside the namespaces: hide folders, drop privileges, become the kernel (exec)."""
    split = argv.index("--")
    options, command = argv[:split], argv[split + 1 :]
    hide, expose, uid, gid, workdir = [], [], None, None, None
    i = 0
    while i < len(options):
        key, value = options[i], options[i + 1]
        if key == "--hide":
            hide.append(value)
        elif key == "--expose":
            expose.append(value)
        elif key == "--uid":
            uid = int(value)
        elif key == "--gid":
            gid = int(value)
        elif key == "--workdir":
            workdir = value
        i += 2
    if os.getpid() == 1:  # in our own mount namespace: cover the hidden folders
        subprocess.run(["mount", "--make-rprivate", "/"], check=False, capture_output=True)
        for path in hide:
            if os.path.isdir(path):
                subprocess.run(
                    ["mount", "-t", "tmpfs", "-o", "ro,size=4k,mode=0555", "hidden", path],
                    check=False,
                    capture_output=True,
                )
        if uid is not None:
            for path in expose:
                _expose(path, uid, workdir)
    if gid is not None:
        os.setgroups([])
        os.setgid(gid)
    if uid is not None:
        os.setuid(uid)
        # changing credentials clears the parent-death signal that `unshare --kill-child` set:
        # arm it again, so that the kernel still dies with its launcher (and the grader)
        die_with_parent()
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    if workdir:
        os.chdir(workdir)
    os.execv(command[0], command)


if __name__ == "__main__":
    _jail(sys.argv[1:])
