"""nbval's kernels in this suite (tests/forked_kernels.py): forked from a process that imported
TensorFlow, otherwise what a fresh ``python -m ipykernel_launcher`` is."""

from __future__ import annotations

import json

from forked_kernels import FRESH_ENV, ForkedKernelManager
from jupyter_client.kernelspec import NATIVE_KERNEL_NAME

LOOK = """
import json, os, sys
print(json.dumps({"preloaded": "tensorflow" in sys.modules, "cwd": os.getcwd(),
                  "path": sys.path, "marker": os.environ.get("SEQCOURSE_MARKER")}))
"""


def _look(tmp_path, monkeypatch, fresh: bool) -> dict:
    monkeypatch.setenv("SEQCOURSE_MARKER", "here")
    if fresh:
        monkeypatch.setenv(FRESH_ENV, "1")
    else:
        monkeypatch.delenv(FRESH_ENV, raising=False)
    km = ForkedKernelManager(kernel_name=NATIVE_KERNEL_NAME)
    km.start_kernel(cwd=str(tmp_path))
    try:
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=120)
        reply = kc.execute_interactive(LOOK, timeout=60, output_hook=_keep)
        assert reply["content"]["status"] == "ok"
        kc.stop_channels()
        return json.loads(_OUT.pop())
    finally:
        km.shutdown_kernel(now=True)


_OUT: list[str] = []


def _keep(msg) -> None:
    if msg["msg_type"] == "stream":
        _OUT.append(msg["content"]["text"])


def test_a_kernel_is_forked_from_the_preloaded_process_unless_told(tmp_path, monkeypatch):
    forked, fresh = (_look(tmp_path, monkeypatch, fresh) for fresh in (False, True))
    assert forked["preloaded"] and not fresh["preloaded"]
    assert forked["cwd"] == fresh["cwd"] == str(tmp_path)
    assert forked["path"] == fresh["path"]  # imports resolve as in a fresh kernel
    assert forked["marker"] == fresh["marker"] == "here"  # the kernel's environment


def test_seqcourse_runs_kernels_are_forked_with_their_run_tag_and_killed_with_it(tmp_path):
    """``seqcourse run`` in this process (CappedClient's default manager, set by conftest.py)
    forks its kernel too, with the run tag in the kernel's environment; the kernel is gone once
    the run ends."""
    import os
    import time

    from nbformat.v4 import new_code_cell, new_notebook

    from seqcourse.execution import RUN_TAG, CappedClient

    nb = new_notebook(cells=[new_code_cell(LOOK.replace('"cwd"', '"pid": os.getpid(), "cwd"'))])
    nb.cells[0].source = nb.cells[0].source.replace(
        '"marker": os.environ.get("SEQCOURSE_MARKER")', f'"marker": os.environ.get("{RUN_TAG}")'
    )
    client = CappedClient(nb, resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    seen = json.loads(client.nb.cells[0].outputs[0]["text"])
    assert seen["preloaded"] and seen["cwd"] == str(tmp_path)
    assert client.kernel_manager_class.__name__ == "ForkedRunnerKernelManager"
    assert len(seen["marker"] or "") == 32  # a run tag: uuid4().hex
    time.sleep(1)  # the fork server reaps its child
    assert not os.path.exists(f"/proc/{seen['pid']}")
