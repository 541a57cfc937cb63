"""Headless notebook execution shared by ``seqcourse run`` and the autograder (nbclient).

Kernels always run this interpreter (the environment seqcourse is installed in), whatever
kernelspecs the machine has, and stream output per cell is capped so that a notebook printing
megabytes cannot exhaust memory.
"""

from __future__ import annotations

import sys

import ipykernel.kernelspec
import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError

CURRENT_ENV_KERNEL = "seqcourse-current-env"
_TIMEOUT = "SeqcourseCellTimeout"
DEFAULT_OUTPUT_CAP = 100_000  # characters of stream output kept per cell


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


def kernel_manager() -> AsyncKernelManager:
    """An (async, as nbclient expects) kernel manager whose kernels use this Python environment."""
    return AsyncKernelManager(
        kernel_name=CURRENT_ENV_KERNEL, kernel_spec_manager=_CurrentEnvKernelSpecs()
    )


class CappedClient(NotebookClient):
    """A NotebookClient that keeps at most ``output_cap`` characters of stream output per cell.

    Output past the cap is dropped and one note says how much; errors and rich outputs are kept.
    """

    def __init__(self, nb, output_cap: int = DEFAULT_OUTPUT_CAP, **kwargs):
        kwargs.setdefault("km", kernel_manager())
        super().__init__(nb, **kwargs)
        self.output_cap = output_cap
        self._stream_chars: dict[int, int] = {}
        self._last_reply = None
        self.on_cell_executed = self._remember_reply

    def output(self, outs, msg, display_id, cell_index):
        if msg["msg_type"] == "stream":
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
        """How many characters of a cell's stream output the cap dropped."""
        return max(0, self._stream_chars.get(self._index(cell), 0) - self.output_cap)

    def _index(self, cell) -> int:
        return next(i for i, c in enumerate(self.nb.cells) if c is cell)

    def _remember_reply(self, cell, cell_index, execute_reply):
        self._last_reply = execute_reply
