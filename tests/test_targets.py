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


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_and_its_student_copy_end_by_checking_their_targets(path):
    """nbval fails a notebook that misses a target because its last cell raises then."""
    import nbformat

    for copy in (path, path.parents[1] / "exercises" / path.name):
        last = nbformat.read(copy, as_version=4).cells[-1]
        assert last.cell_type == "code" and f'check_targets("{path.stem}")' in last.source, copy


@pytest.fixture
def recorded(monkeypatch):
    """A clean record of metrics in fast mode, outside grading, strictness from the caller."""
    from seqcourse import runtime

    monkeypatch.setattr(runtime, "_RECORDED", {})
    monkeypatch.setenv(runtime.FAST_ENV, "1")
    monkeypatch.delenv(runtime.GRADING_ENV, raising=False)
    return runtime


def test_a_missed_target_raises_with_its_table_when_strict(recorded, monkeypatch):
    from seqcourse.targets import TargetsMissed, check_targets

    monkeypatch.setenv(recorded.STRICT_TARGETS_ENV, "1")
    recorded.record("delayed_recall_val_loss_ratio", 0.97)  # fast target <= 0.9: missed
    with pytest.raises(TargetsMissed) as err:
        check_targets("01_rnn_from_scratch")
    table = str(err.value)
    assert "fast mode: 5 target(s) missed" in table
    assert "delayed_recall_val_loss_ratio" in table and "MISSED" in table
    assert "delayed_recall_accuracy" in table and "NOT RECORDED" in table


def test_a_students_run_prints_the_table_and_does_not_raise(recorded, monkeypatch, capsys):
    from seqcourse.targets import check_targets

    monkeypatch.delenv(recorded.STRICT_TARGETS_ENV, raising=False)
    missed = check_targets("01_rnn_from_scratch")
    assert len(missed) == 5 and "NOT RECORDED" in capsys.readouterr().out
    monkeypatch.setenv(recorded.STRICT_TARGETS_ENV, "1")
    monkeypatch.setenv(recorded.GRADING_ENV, "1")  # never raises while grading
    assert check_targets("01_rnn_from_scratch") == missed


def test_a_run_that_meets_its_targets_says_so(recorded, monkeypatch, capsys):
    from seqcourse.targets import check_targets

    monkeypatch.setenv(recorded.STRICT_TARGETS_ENV, "1")
    entry = load_targets()["01_rnn_from_scratch"]
    for target in entry.fast_targets:
        recorded.record(target.name, target.threshold)  # on the threshold: met
    for target in entry.targets:
        recorded.record(target.name, 123.0)  # default targets: only recorded in fast mode
    assert check_targets("01_rnn_from_scratch") == []
    assert "every target met" in capsys.readouterr().out


def test_an_unknown_notebook_is_named():
    from seqcourse.targets import check_targets

    with pytest.raises(KeyError, match="no entry in seqcourse/targets.toml"):
        check_targets("99_nothing")
