from pathlib import Path

import pytest

from seqcourse.targets import load_targets, parse_target

NOTEBOOKS = sorted(Path(__file__).parents[1].joinpath("notebooks").glob("*.ipynb"))


def test_parse_target_and_met():
    t = parse_target("acc", ">= 0.9")
    assert t.met(0.9) and t.met(1.0) and not t.met(0.89)
    assert str(t) == ">= 0.9"
    assert parse_target("err", "< 1e-6").met(1e-7)


@pytest.mark.parametrize("text", ["0.9", "=> 0.9", ">= high", ">= 1 2"])
def test_parse_target_rejects_malformed(text):
    with pytest.raises(ValueError, match="acc"):
        parse_target("acc", text)


def test_missing_budget_is_named():
    with pytest.raises(ValueError, match="fast_budget_s"):
        load_targets('["nb"]\nbudget_s = 1\n')


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_has_targets_and_budgets(path):
    entry = load_targets()[path.stem]
    assert entry.fast_budget_s <= 45 and entry.budget_s <= 300
    assert entry.targets, f"{path.stem} records no target"
