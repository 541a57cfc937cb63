"""A submission's kernel has a memory limit: past it, the kernel is stopped, the row says why,
and what was graded before stays graded."""

from __future__ import annotations

import nbformat
from grading_copies import MASTER, NAME, solved_copy
from nbformat.v4 import new_code_cell

from seqcourse.grading.grade import grade
from seqcourse.grading.notebook_format import solution_cells

HOG = """
import numpy as np
_hog = [np.ones(2**27) for _ in range(8)]  # 8 GiB if nothing stops it, 1 GiB at a time
"""


def test_a_kernel_over_its_memory_limit_is_stopped_and_the_row_says_why(tmp_path):
    nb = solved_copy()
    nb.cells.insert(solution_cells(nb)["1.3"], new_code_cell(HOG))
    submission = tmp_path / "hog" / NAME
    submission.parent.mkdir()
    submission.write_text(nbformat.writes(nb), encoding="utf-8")
    (result,) = grade(
        [submission], tmp_path / "out", masters=MASTER.parent, memory_gb=2,
        total_timeout=240, progress=lambda *a: None,
    )  # fmt: skip
    scores = {k: e.score for k, e in result.exercises.items()}
    assert scores == {"1.1": 2, "1.2": 2, "1.3": 0, "1.4": 0}, result.summary()
    reason = result.exercises["1.3"].reason
    assert "GiB of memory" in reason and "over the limit of 2 GiB" in reason, reason
