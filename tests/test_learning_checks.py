"""The notebook suite notices a notebook that stops learning.

A copy of a real notebook whose optimisers are frozen (learning rate 0) still runs every cell
without error, so a suite that only checks for exceptions passes it; the fast targets of
``seqcourse/targets.toml`` must catch it.
"""

from pathlib import Path

import nbformat
import pytest

from seqcourse.runner import run_notebook

ROOT = Path(__file__).parents[1]

FREEZE_OPTIMISERS = """\
# test: every optimiser is built with learning rate 0, whatever the notebook asks for
import keras

for _cls in (keras.optimizers.Adam, keras.optimizers.SGD):
    def _frozen_init(self, learning_rate=0.0, *args, _init=_cls.__init__, **kwargs):
        _init(self, 0.0, *args, **kwargs)

    _cls.__init__ = _frozen_init
"""


def _frozen_copy(name: str, folder: Path) -> Path:
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    setup = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    nb.cells.insert(setup + 1, nbformat.v4.new_code_cell(FREEZE_OPTIMISERS))
    path = folder / name  # same name, so the notebook's targets apply
    nbformat.write(nb, path)
    return path


@pytest.mark.parametrize(
    "name", ["01_rnn_from_scratch.ipynb", "03_sentiment.ipynb", "05_sequence_tagging.ipynb"]
)
def test_a_notebook_with_learning_rate_zero_fails_its_fast_targets(name, tmp_path):
    result = run_notebook(_frozen_copy(name, tmp_path), fast=True, out_dir=None)
    assert result.error == "", result.error_detail  # it runs: only the targets can notice
    missed = [p for p in result.problems(check_budget=False) if "target" in p]
    assert missed, f"{name} with learning rate 0 met every fast target: {result.metrics}"
