"""The kernel a submission runs in: its own namespaces, an unprivileged user, nothing hidden in reach.

:class:`~seqcourse.grading.kernel_manager.SandboxKernelManager` starts the kernel as::

    unshare [--user --map-root-user] --pid --fork --kill-child --mount-proc --mount --net -- \
        python -m seqcourse.grading.sandbox --root DIR --read-only DIR… --writable DIR \
        [--uid N --gid N] --workdir DIR -- KERNEL…

* a **PID namespace**: the kernel is process 1 of its namespace, so when it ends (shut down,
  killed, or its launcher killed: each link has a parent-death signal) the Linux kernel kills
  every process it started, detached ``setsid`` grandchildren included; it cannot see the
  grader's or other students' processes (``/proc`` is its own);
* a **network namespace** with no interface up: no network (kernels talk over IPC sockets);
* a **mount namespace** whose root is a new, nearly empty file system (``pivot_root``): the
  system folders (``/usr``, ``/etc``, ``/lib``…), Python's installation and virtual
  environment and the ``seqcourse`` package folder, all read-only; a few devices (``/dev/null``,
  ``/dev/urandom``…), its own ``/proc``; the kernel's socket folder; and one fresh tmpfs of
  :data:`SCRATCH_SIZE` for its working folder, ``/tmp``, ``/var/tmp`` and ``/dev/shm``,
  private to it and gone when it ends. ``seqcourse/grading`` (the grader's checks, probes and
  oracles) is replaced there by a package that refuses to be imported (probes arrive with
  each call, see :mod:`seqcourse.grading.probes`). Nothing else of the machine exists there:
  no master, hidden test, executed copy, grade, other submission or other checkout of the
  course, wherever they lie and whatever their permissions (see :func:`view_paths`);
* when the grader runs as **root**, every kernel runs under an **identity of its own**: a
  user and group id drawn for it alone from :data:`KERNEL_IDS` (ids that no account and no
  file on the machine has), with no supplementary groups and ``no_new_privs``. Its socket
  folder and its working folder (mode 0700: its ``HOME``, temporary folder, IPython, Jupyter,
  Matplotlib and Keras folders, all created fresh) belong to that id alone, so no other
  kernel — a classmate graded at the same time or before — can list, read or write them.

Where ``unshare`` is not permitted the kernel runs without namespaces (a warning is logged in
the result): it then sees the machine as the grader's user does. The process tree is still
killed by session and run tag (see ``seqcourse.execution``). When namespaces are permitted
but the view cannot be built, the kernel does not start (the grade says why): never a kernel
that sees more than it should.
Run as ``python -m seqcourse.grading.sandbox`` only by the kernel manager. In a grading
worker the kernel manager asks the kernel server instead (:mod:`seqcourse.grading.kernel_server`:
TensorFlow and ipykernel already imported), whose child makes the same namespaces with
``unshare(2)`` and enters the same view with :func:`enter_view`.
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
import threading

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


SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/sys")
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
SCRATCH_SIZE = "1g"  # all a kernel may write: its working folder, /tmp, /var/tmp, /dev/shm


def view_paths() -> list[str]:
    """What a kernel needs beyond the system folders, read-only: Python's installation, the
    virtual environment and its site-packages, and the ``seqcourse`` package folder — never the
    folder around the package (a source checkout holds the masters and ``runs/``)."""
    import sysconfig

    import seqcourse

    paths = {sys.base_prefix, sys.prefix, os.path.dirname(seqcourse.__file__)}
    paths |= {sysconfig.get_path(kind) for kind in ("stdlib", "platstdlib", "purelib", "platlib")}
    paths |= {os.path.dirname(os.path.realpath(sys.executable))}
    found = {os.path.realpath(p) for p in paths if p and os.path.isdir(p)}
    return sorted(found)


COVER_INIT = (
    "raise ImportError('seqcourse.grading (the checks, probes and oracles of the grader) does "
    "not exist in a graded kernel: write the exercise with your own code')\n"
)


def grading_folder() -> str:
    """The ``seqcourse/grading`` folder: covered in a kernel's view (see :func:`build_view`)."""
    return os.path.realpath(os.path.dirname(os.path.abspath(__file__)))


def _run(*args: str) -> None:
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise OSError(f"{' '.join(args)}: {done.stderr.strip()[:300]}")


def _place(root: str, path: str, is_dir: bool = True) -> str:
    """Create ``path`` inside the view being built at ``root``; the new mount point."""
    target = root + path
    if is_dir:
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "a").close()  # noqa: SIM115 (a mount point: an empty file)
    return target


def _bind(root: str, path: str, read_only: bool) -> None:
    """Bind ``path`` (with the mounts under it: a user namespace refuses less) into the view."""
    is_dir = os.path.isdir(path)
    target = _place(root, path, is_dir)
    _run("mount", "--rbind" if is_dir else "--bind", path, target)
    if read_only:
        _run("mount", "-o", "remount,bind,ro,nosuid,nodev", target)


def build_view(root, read_only, writable, workdir, uid=None, gid=None, cover=()) -> None:
    """Inside a fresh mount namespace (as its root): make the file system the kernel sees —
    a tmpfs at ``root`` holding only :data:`SYSTEM_PATHS` and ``read_only`` (read-only binds),
    ``writable`` (the socket folder), :data:`DEVICES`, a new ``/proc``, and folders of one
    fresh tmpfs of :data:`SCRATCH_SIZE` in all for ``workdir`` (owned by ``uid``), ``/tmp``,
    ``/var/tmp`` and ``/dev/shm``; each package folder of ``cover`` replaced by one whose
    ``__init__.py`` refuses the import (:data:`COVER_INIT`) — then ``pivot_root`` into it and
    detach the old root. OSError if any step fails."""
    _run("mount", "--make-rprivate", "/")
    _run("mount", "-t", "tmpfs", "-o", "mode=0755,size=16m", "seqcourse-view", root)
    for path in SYSTEM_PATHS:
        if os.path.islink(path):  # merged /usr: /bin -> usr/bin
            os.symlink(os.readlink(path), root + path)
        elif os.path.isdir(path):
            _bind(root, path, read_only=True)
    scratch = _place(root, "/.scratch")
    options = f"mode=0755,size={SCRATCH_SIZE},nosuid,nodev"
    _run("mount", "-t", "tmpfs", "-o", options, "seqcourse-scratch", scratch)

    def scratch_folder(path: str, mode: int, owner=None) -> None:
        folder = os.path.join(scratch, path.strip("/").replace("/", "-"))
        os.mkdir(folder)
        os.chmod(folder, mode)
        if owner and owner[0] is not None:
            os.chown(folder, *owner)
        _run("mount", "--bind", folder, _place(root, path))

    for path in ("/tmp", "/var/tmp"):
        scratch_folder(path, 0o1777)
    _place(root, "/dev")
    for name in DEVICES:
        if os.path.exists(f"/dev/{name}"):
            _bind(root, f"/dev/{name}", read_only=False)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):  # fmt: skip
        os.symlink(target, f"{root}/dev/{name}")
    scratch_folder("/dev/shm", 0o1777)
    _run("mount", "-t", "proc", "-o", "nosuid,nodev,noexec", "proc", _place(root, "/proc"))
    covered: list[str] = []
    for path in sorted(set(read_only)):  # parents first: a path inside a bound one is there
        if not any(path == c or path.startswith(c + os.sep) for c in (*SYSTEM_PATHS, *covered)):
            _bind(root, path, read_only=True)
            covered.append(path)
    for path in cover:
        target = root + path
        _run("mount", "-t", "tmpfs", "-o", "mode=0755,size=64k,nosuid,nodev", "covered", target)
        with open(os.path.join(target, "__init__.py"), "w") as fh:
            fh.write(COVER_INIT)
        _run("mount", "-o", "remount,ro,nosuid,nodev", target)
    for path in writable:
        _bind(root, path, read_only=False)
    scratch_folder(workdir, 0o700, (uid, gid))
    os.chdir(root)
    os.mkdir(".old")
    _run("pivot_root", ".", ".old")
    os.chdir("/")
    for path in ("/.old", "/.scratch"):  # the binds of scratch folders stay
        _run("umount", "-l", path)
        os.rmdir(path)
    _run("mount", "-o", "remount,ro,bind", "/")


def enter_view(workdir=None, root=None, read_only=(), writable=(), cover=(), uid=None, gid=None):
    """Inside the namespaces: build the kernel's view (when ``root`` is given), drop to ``uid``
    and ``gid``, forbid new privileges and move to ``workdir``: what
    :meth:`SandboxKernelManager.jail_options` describes. The process exits with status 70 if the
    view cannot be built (fail closed: no kernel rather than one that sees too much)."""
    if root is not None:
        try:
            build_view(root, read_only, writable, workdir, uid, gid, cover)
        except OSError as err:
            sys.stderr.write(f"seqcourse sandbox: the kernel's view could not be built: {err}\n")
            sys.exit(70)
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


def jail_words(options: dict) -> list[str]:
    """``options`` (keyword arguments of :func:`enter_view`) as ``python -m
    seqcourse.grading.sandbox`` options."""
    words = []
    for key, value in options.items():
        for one in value if isinstance(value, list | tuple) else [value]:
            if one is not None:
                words += [f"--{key.replace('_', '-')}", str(one)]
    return words


def _jail(argv: list[str]) -> None:
    """``python -m seqcourse.grading.sandbox OPTIONS -- KERNEL…``: :func:`enter_view` with the
    options (the words of :func:`jail_words`), then become the kernel."""
    split = argv.index("--")
    options, command = argv[:split], argv[split + 1 :]
    many, ints = ("read_only", "writable", "cover"), ("uid", "gid")
    view: dict = {key: [] for key in many}
    for key, value in zip(options[::2], options[1::2], strict=True):
        name = key.removeprefix("--").replace("-", "_")
        if name in many:
            view[name].append(value)
        else:
            view[name] = int(value) if name in ints else value
    enter_view(**view)
    os.execv(command[0], command)


if __name__ == "__main__":
    _jail(sys.argv[1:])
