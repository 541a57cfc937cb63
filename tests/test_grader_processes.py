"""Kernels leave nothing behind: what a notebook starts dies with its kernel.

``seqcourse run`` and the grader both execute through ``seqcourse.execution.CappedClient``;
this runs a notebook whose cells start background and detached (``setsid``) processes and
counts what is left once execution ends. Also: every output type is capped.
"""

from __future__ import annotations

import os
import time

import nbformat

from seqcourse.execution import CappedClient

MARK = "seqcourse-leftover-4242"


def _alive(marker: str) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if marker.encode() in open(f"/proc/{pid}/cmdline", "rb").read():
                found.append(int(pid))
        except OSError:
            pass
    return found


def test_processes_started_by_a_notebook_die_with_its_kernel():
    cells = [
        f"import subprocess\nsubprocess.Popen(['sh', '-c', 'sleep 300; : {MARK}-a'])",
        f"subprocess.Popen(['setsid', 'sh', '-c', 'sleep 300; : {MARK}-b'])",
        "import os\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        f"    os.execvp('sh', ['sh', '-c', 'sleep 300; : {MARK}-c'])",
        "import time\ntime.sleep(1)",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    client = CappedClient(nb, allow_errors=True)
    with client.setup_kernel():
        for cell in nb.cells:
            client.run_cell(cell, 60)
        assert len(_alive(MARK)) == 3  # they did start
    time.sleep(0.5)
    assert _alive(MARK) == []


def test_every_output_type_is_capped():
    source = (
        "from IPython.display import display, HTML\n"
        "for _ in range(10):\n"
        "    display({'text/plain': 'x' * 1_000_000}, raw=True)\n"
        "    display(HTML('y' * 1_000_000))\n"
        "h = display({'text/plain': 'small'}, raw=True, display_id=True)\n"
        "for _ in range(5):\n"
        "    h.update({'text/plain': 'z' * 1_000_000}, raw=True)\n"
    )
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(source),
            nbformat.v4.new_code_cell("'r' * 5_000_000"),
            nbformat.v4.new_code_cell("raise ValueError('e' * 5_000_000)"),
        ]
    )
    client = CappedClient(nb, allow_errors=True)
    with client.setup_kernel():
        for cell in nb.cells:
            client.run_cell(cell, 60)
    sizes = [len(nbformat.writes(nbformat.v4.new_notebook(cells=[c]))) for c in nb.cells]
    assert all(size < 3_000_000 for size in sizes), sizes
    assert client.dropped_chars(nb.cells[0]) > 0
    assert "dropped" in nbformat.writes(nb)


def test_outputs_are_capped_for_the_whole_notebook_too():
    """Many cells of output just under the per-cell caps (once: a 199 MB executed copy)."""
    from seqcourse.execution import RICH_OUTPUT_CAP, TOTAL_OUTPUT_CAP

    just_under = RICH_OUTPUT_CAP - 1000
    cell = f"from IPython.display import display\ndisplay({{'text/plain': 'x' * {just_under}}}, raw=True)"
    cells = [nbformat.v4.new_code_cell(cell) for _ in range(2 * TOTAL_OUTPUT_CAP // just_under)]
    cells.append(nbformat.v4.new_code_cell("print('after the cap')"))
    nb = nbformat.v4.new_notebook(cells=cells)
    client = CappedClient(nb, allow_errors=True)
    with client.setup_kernel():
        for c in nb.cells:
            client.run_cell(c, 60)
    size = len(nbformat.writes(nb))
    assert TOTAL_OUTPUT_CAP <= size < TOTAL_OUTPUT_CAP + 2 * RICH_OUTPUT_CAP, size
    assert "total output cap was reached" in nbformat.writes(nb)
    assert nb.cells[-1].outputs == []  # nothing past the cap, not even a short line
