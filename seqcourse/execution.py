"""Headless notebook execution shared by ``seqcourse run``, the test suite and the autograder.

Kernels always run this interpreter (the environment seqcourse is installed in), whatever
kernelspecs the machine has. They talk to the executing process over Unix sockets (ZeroMQ's
IPC transport), not TCP: nothing listens on the network, so execution also works in a
network namespace whose loopback is down (``unshare --net``). The client owns its kernel
manager, so the kernel is shut down when execution ends, and every process the kernel
started (its whole session, or every process carrying the kernel's run tag) is killed with it.
Every output type is capped per cell (stream text, rich displays and results, error
tracebacks, display updates) so that a notebook printing megabytes cannot exhaust memory.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import tempfile
import uuid

import ipykernel.kernelspec
import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError
from traitlets import CaselessStrEnum, default

CURRENT_ENV_KERNEL = "seqcourse-current-env"
_TIMEOUT = "SeqcourseCellTimeout"
DEFAULT_OUTPUT_CAP = 100_000  # characters of stream output kept per cell
RICH_OUTPUT_CAP = 2_000_000  # characters of rich outputs (display data, results) kept per cell
ERROR_CAP = 20_000  # characters of an error's message and traceback
TOTAL_OUTPUT_CAP = 20_000_000  # characters of output of every kind kept for a whole notebook
RUN_TAG = "SEQCOURSE_KERNEL_TAG"  # environment variable marking every process of one kernel


def _processes():
    """``(pid, session id, parent pid)`` of every process visible in /proc."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
            yield int(entry), int(fields[3]), int(fields[1])
        except (OSError, IndexError, ValueError):
            continue


def _has_tag(pid: int, tag: bytes) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            return tag in fh.read().split(b"\0")
    except OSError:
        return False


def _tree(pid: int, table: list[tuple[int, int, int]]) -> set[int]:
    """``pid``, the processes of its session and all their descendants, from ``table``."""
    children: dict[int, list[int]] = {}
    for p, _sid, ppid in table:
        children.setdefault(ppid, []).append(p)
    found: set[int] = set()
    stack = [pid, *(p for p, sid, _ in table if sid == pid)]
    while stack:
        p = stack.pop()
        if p not in found:
            found.add(p)
            stack.extend(children.get(p, []))
    return found


def tree_memory(pid: int) -> int:
    """Resident memory in bytes of ``pid`` and every process of its tree (see :func:`_tree`);
    0 where /proc cannot tell."""
    if not os.path.isdir("/proc"):
        return 0
    total, page = 0, os.sysconf("SC_PAGE_SIZE")
    for p in _tree(pid, list(_processes())):
        try:
            with open(f"/proc/{p}/statm", "rb") as fh:
                total += int(fh.read().split()[1]) * page
        except (OSError, IndexError, ValueError):
            continue
    return total


def kill_kernel_tree(pid: int | None, tag: str | None = None) -> int:
    """SIGKILL the kernel ``pid``, its session, its descendants and every process whose
    environment carries ``RUN_TAG=tag`` (which catches detached, re-parented grandchildren
    that did not clear their environment). Returns how many processes were signalled."""
    if not os.path.isdir("/proc"):  # not Linux: the process group is the best we can do
        if pid:
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
        return 0
    marker = f"{RUN_TAG}={tag}".encode() if tag else None
    killed = 0
    for _ in range(3):  # processes may fork while we look
        table = list(_processes())
        doomed = _tree(pid, table) if pid else set()
        if marker:
            doomed |= {p for p, _, _ in table if _has_tag(p, marker)}
        doomed.discard(os.getpid())
        if not doomed:
            break
        for p in doomed:
            try:
                os.kill(p, signal.SIGKILL)
                killed += 1
            except OSError:
                pass
    return killed


class KernelUnresponsive(RuntimeError):
    """The kernel did not answer after an interrupt (it ignores SIGINT or is stuck in C code)."""


class _CurrentEnvKernelSpecs(KernelSpecManager):
    """Resolves :data:`CURRENT_ENV_KERNEL` to an IPython kernel on ``sys.executable``."""

    def get_kernel_spec(self, kernel_name):
        if kernel_name == CURRENT_ENV_KERNEL:
            spec = ipykernel.kernelspec.get_kernel_dict()
            spec["argv"][0] = sys.executable
            return self.kernel_spec_class(resource_dir=ipykernel.kernelspec.RESOURCES, **spec)
        return super().get_kernel_spec(kernel_name)


class CurrentEnvKernelManager(AsyncKernelManager):
    """An (async, as nbclient expects) kernel manager: this environment's Python, IPC sockets.

    The sockets live in a private temporary folder (mode 0700, absolute path, so the kernel
    finds them whatever its working directory), removed when the kernel's resources are.
    """

    transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)

    @default("kernel_spec_manager")
    def _default_kernel_spec_manager(self):
        return _CurrentEnvKernelSpecs()

    @default("ip")
    def _default_ip(self):
        if self.transport != "ipc":
            return super()._ip_default()
        self._socket_dir = tempfile.mkdtemp(prefix="seqcourse-kernel-")
        return os.path.join(self._socket_dir, "kernel")

    # Every process of this kernel carries RUN_TAG=<run_tag> in its environment.
    run_tag = ""

    def kernel_command_prefix(self) -> list[str]:
        """Words put before the kernel's command (a sandbox launcher, for the grader)."""
        return []

    def kernel_popen_kwargs(self) -> dict:
        """Extra ``Popen`` arguments for the kernel process."""
        return {}

    def tagged_env(self, env: dict | None) -> dict:
        """``env`` (default: this process's) with the kernel's run tag (drawn on first use)."""
        self.run_tag = self.run_tag or uuid.uuid4().hex
        return dict(env or os.environ, **{RUN_TAG: self.run_tag})

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        kw["env"] = self.tagged_env(kw.get("env"))
        kw.update(self.kernel_popen_kwargs())
        self._kernel_pid = None
        await super()._async_launch_kernel(self.kernel_command_prefix() + list(kernel_cmd), **kw)
        self._kernel_pid = getattr(self.provisioner, "pid", None)

    _launch_kernel = _async_launch_kernel

    def kill_process_tree(self) -> int:
        """Kill the kernel and everything it started (see :func:`kill_kernel_tree`)."""
        return kill_kernel_tree(getattr(self, "_kernel_pid", None), self.run_tag or None)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        if not restart:
            self.kill_process_tree()
        await super()._async_cleanup_resources(restart)
        if not restart and getattr(self, "_socket_dir", None):
            shutil.rmtree(self._socket_dir, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources


class CappedClient(NotebookClient):
    """A NotebookClient that caps every kind of output per cell and in total.

    Stream text past ``output_cap`` characters and rich outputs (display data, results, display
    updates) past ``RICH_OUTPUT_CAP`` are dropped with one note; error messages and tracebacks
    are cut to ``ERROR_CAP``. Once the outputs kept in the whole notebook reach
    ``TOTAL_OUTPUT_CAP`` characters, every further output is dropped (one note), so many cells
    of just-under-the-cap output cannot add up to an executed copy of hundreds of megabytes.
    ``on_progress(done, total)``, if given, is called after every executed code cell.
    Kernels start with ``kernel_manager_class`` (a keyword argument) or else with the class's
    ``default_kernel_manager`` (the test suite forks them: ``tests/forked_kernels.py``).
    """

    default_kernel_manager: type = CurrentEnvKernelManager

    def __init__(self, nb, output_cap: int = DEFAULT_OUTPUT_CAP, on_progress=None, **kwargs):
        kwargs.setdefault("kernel_name", CURRENT_ENV_KERNEL)
        kwargs.setdefault("kernel_manager_class", self.default_kernel_manager)
        super().__init__(nb, **kwargs)
        self.output_cap = output_cap
        self.rich_output_cap = RICH_OUTPUT_CAP
        self._stream_chars: dict[int, int] = {}
        self._rich_chars: dict[int, int] = {}
        self._rich_note: dict[int, bool] = {}
        self.total_output_cap = TOTAL_OUTPUT_CAP
        self._total_kept = 0
        self._total_note = False
        self._last_reply = None
        self._on_progress = on_progress
        self._code_cells = sum(c.cell_type == "code" for c in nb.cells)
        self._executed = 0
        self.on_cell_executed = self._remember_reply

    def _too_big(self, cell_index: int, content: dict) -> bool:
        """Count a rich output against the cell's cap; True if it must be dropped."""
        size = len(json.dumps(content.get("data", {}), default=str)) + len(
            json.dumps(content.get("metadata", {}), default=str)
        )
        seen = self._rich_chars.get(cell_index, 0)
        self._rich_chars[cell_index] = seen + size
        return seen + size > self.rich_output_cap

    def _update_display_id(self, display_id, msg):
        if self._too_big(-1, msg.get("content", {})):  # updates share one budget per client
            return None
        return super()._update_display_id(display_id, msg)

    def output(self, outs, msg, display_id, cell_index):
        kept = self._capped_output(outs, msg, display_id, cell_index)
        if kept is not None:
            self._total_kept += len(json.dumps(kept, default=str))
        return kept

    def _capped_output(self, outs, msg, display_id, cell_index):
        kind = msg["msg_type"]
        content = msg["content"]
        if kind in ("stream", "display_data", "execute_result", "error") and (
            self._total_kept >= self.total_output_cap
        ):
            if not self._total_note:
                self._total_note = True
                note = "[seqcourse: the notebook's total output cap was reached; output dropped]\n"
                outs.append(nbformat.v4.new_output("stream", name="stderr", text=note))
            return None
        if kind in ("display_data", "execute_result") and self._too_big(cell_index, content):
            if not self._rich_note.get(cell_index):
                self._rich_note[cell_index] = True
                note = "[seqcourse: oversized display output dropped]\n"
                outs.append(nbformat.v4.new_output("stream", name="stderr", text=note))
            return None
        if kind == "error":
            content["evalue"] = str(content.get("evalue", ""))[:2000]
            content["ename"] = str(content.get("ename", ""))[:200]
            tb, used = [], 0
            for line in content.get("traceback", []) or []:
                line = str(line)[: ERROR_CAP - used]
                used += len(line)
                tb.append(line)
                if used >= ERROR_CAP:
                    break
            content["traceback"] = tb
        if kind == "stream":
            seen = self._stream_chars.get(cell_index, 0)
            text = msg["content"].get("text", "")
            self._stream_chars[cell_index] = seen + len(text)
            if seen >= self.output_cap:
                return None
            if seen + len(text) > self.output_cap:
                msg["content"]["text"] = (
                    text[: self.output_cap - seen]
                    + "\n[seqcourse: further output of this cell dropped]\n"
                )
        return super().output(outs, msg, display_id, cell_index)

    def run_cell(self, cell, timeout: float, probe_timeout: float = 15) -> str:
        """Execute one code cell of ``self.nb`` with a time limit; return what happened.

        Returns ``"ok"``, ``"error"`` (the cell raised; the error is in its outputs) or
        ``"timeout"`` (the cell ran past ``timeout``, was interrupted like the Jupyter stop
        button, and the kernel answered again within ``probe_timeout`` seconds).

        Raises:
            KernelUnresponsive: the kernel ignored the interrupt.
            nbclient.exceptions.DeadKernelError: the kernel died (a crash, ``os._exit``).
        """
        index = self._index(cell)
        self.timeout = max(1, int(timeout))
        # On time-out nbclient interrupts the kernel, waits for the cell's remaining output and
        # hands back this error reply instead of raising (which would leave a reader behind).
        self.interrupt_on_timeout = True
        self.error_on_timeout = {
            "ename": _TIMEOUT,
            "evalue": f"over {self.timeout} s",
            "traceback": [],
        }
        self._last_reply = None
        self.execute_cell(cell, index)
        content = (self._last_reply or {}).get("content", {})
        if content.get("ename") != _TIMEOUT:
            return "error" if content.get("status") == "error" else "ok"
        probe = nbformat.v4.new_code_cell("pass")
        self.nb.cells.append(probe)
        self.timeout, self.interrupt_on_timeout = max(1, int(probe_timeout)), False
        try:
            self.execute_cell(probe, len(self.nb.cells) - 1)
        except CellTimeoutError as err:
            raise KernelUnresponsive(
                "the kernel ignored the interrupt and stopped responding"
            ) from err
        finally:
            self.nb.cells.pop()  # the probe
        return "timeout"

    def dropped_chars(self, cell) -> int:
        """How many characters of a cell's output (stream or rich) the caps dropped."""
        index = self._index(cell)
        return max(0, self._stream_chars.get(index, 0) - self.output_cap) + max(
            0, self._rich_chars.get(index, 0) - self.rich_output_cap
        )

    def _index(self, cell) -> int:
        return next(i for i, c in enumerate(self.nb.cells) if c is cell)

    def _remember_reply(self, cell, cell_index, execute_reply):
        self._last_reply = execute_reply
        self._executed += 1
        if self._on_progress is not None:
            self._on_progress(self._executed, self._code_cells)
