"""``seqcourse grade --shard K/N`` and ``seqcourse grade merge``: N shards merged write what one
run writes (grades.csv and report.html byte for byte; the same JSON, feedback and Gradescope
files but for the seconds each grading took), and shards that do not make one run are refused with the reason."""

import json
import random
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from test_grader_models import _reduced_master, _student, _with

from seqcourse.grading.grade import grade
from seqcourse.grading.shards import ShardError, merge, parse_shard, pick

NAME = "01_rnn_from_scratch.ipynb"
OPTIONS = dict(assignment=NAME[:-6], jobs=2, cell_timeout=120, total_timeout=400,
               formats=("csv", "gradescope"), feedback=True, progress=lambda line: None)  # fmt: skip


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_the_shards_split_any_order_of_the_list_without_overlap_or_gap(n):
    names = [f"class/s{i:02d}/{NAME}" for i in range(13)]
    parts = [{names[i] for i in pick(names, (k, n))} for k in range(1, n + 1)]
    assert set().union(*parts) == set(names) and sum(map(len, parts)) == len(names)
    assert max(map(len, parts)) - min(map(len, parts)) <= 1
    shuffled = random.Random(n).sample(names, len(names))
    assert [{shuffled[i] for i in pick(shuffled, (k, n))} for k in range(1, n + 1)] == parts


@pytest.mark.parametrize("text", ["0/3", "4/3", "3", "a/b", "1/0", "-1/2"])
def test_a_malformed_shard_is_refused_with_the_form_expected(text):
    with pytest.raises(ValueError, match="K/N"):
        parse_shard(text)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A class of five (an honest, a partial and a stub copy of the reduced 01 master, a file
    that is not JSON, a notebook of another course), graded in one run and in three shards."""
    masters = tmp_path_factory.mktemp("masters")
    master = _reduced_master(NAME)
    (masters / NAME).write_text(nbformat.writes(master), encoding="utf-8")
    partial = _with(master, "1.4", answer="def rnn_backward(*args):\n    return None\n")
    folder = tmp_path_factory.mktemp("class")
    submissions = {"ann": master, "bob": partial, "cy": _student(master),
                   "dan": "{not json", "eve": nbformat.v4.new_notebook()}  # fmt: skip
    paths = []
    for student, nb in submissions.items():
        path = folder / student / NAME
        path.parent.mkdir()
        path.write_text(nb if isinstance(nb, str) else nbformat.writes(nb), encoding="utf-8")
        paths.append(path)
    paths.reverse()  # the run's order is the list's, not the sorted order the shards use
    one = tmp_path_factory.mktemp("one")
    grade(paths, one, masters=masters, **OPTIONS)
    shard_dirs = [tmp_path_factory.mktemp(f"shard{k}") for k in (1, 2, 3)]
    for k, out in enumerate(shard_dirs, 1):
        grade(paths, out, masters=masters, shard=(k, 3), **OPTIONS)
    merged = tmp_path_factory.mktemp("merged")
    merge(shard_dirs, merged, masters)
    return one, shard_dirs, merged, masters


def _without_timing(path: Path):
    if path.suffix != ".json":
        return path.read_text(encoding="utf-8")
    data = json.loads(path.read_text(encoding="utf-8"))
    data.pop("seconds", None)
    data.pop("execution_time", None)
    if "log" in data:
        data["log"] = [line for line in data["log"] if not line.startswith("time: ")]
    return data


def test_each_shard_grades_its_part_only(runs):
    _, shard_dirs, _, _ = runs
    rows = [(d / "grades.csv").read_text().splitlines()[1:] for d in shard_dirs]
    assert sorted(map(len, rows)) == [1, 2, 2]
    assert len({row.split(",")[0] for part in rows for row in part}) == 5


def test_merged_shards_write_what_one_run_writes(runs):
    one, _, merged, _ = runs
    assert (merged / "grades.csv").read_text() == (one / "grades.csv").read_text()
    assert (merged / "report.html").read_text() == (one / "report.html").read_text()
    files = sorted(p.name for p in one.iterdir())
    assert sorted(p.name for p in merged.iterdir()) == files
    # grades.csv, report.html; per student JSON, feedback and Gradescope; the executed copies
    # of those that ran
    assert len(files) == 2 + 5 * 3 + 3
    for name in files:
        if not name.endswith(".executed.ipynb"):  # outputs hold timings and fresh probe seeds
            assert _without_timing(merged / name) == _without_timing(one / name), name
    scores = {r.split(",")[0].split("/")[-2]: r.split(",")[-3] for r in
              (one / "grades.csv").read_text().splitlines()[1:]}  # fmt: skip
    assert scores == {"ann": "10", "bob": "7", "cy": "0", "dan": "0", "eve": "0"}


def test_shards_that_do_not_make_one_run_are_refused(runs, tmp_path):
    _, shard_dirs, _, masters = runs
    with pytest.raises(ShardError, match=r"missing \[2\]"):
        merge([shard_dirs[0], shard_dirs[2]], tmp_path / "a", masters)
    with pytest.raises(ShardError, match=r"given twice \[1\]"):
        merge([shard_dirs[0], shard_dirs[0], shard_dirs[2]], tmp_path / "b", masters)
    with pytest.raises(ShardError, match="no shard.json"):
        merge([shard_dirs[0], tmp_path], tmp_path / "c", masters)
    other = tmp_path / "other"
    other.mkdir()
    manifest = json.loads((shard_dirs[1] / "shard.json").read_text())
    manifest["submissions"].pop()
    (other / "shard.json").write_text(json.dumps(manifest))
    with pytest.raises(ShardError, match="same run"):
        merge([shard_dirs[0], other, shard_dirs[2]], tmp_path / "d", masters)


def test_the_command_line_merges_and_explains_a_refusal(runs, tmp_path):
    _, shard_dirs, _, masters = runs
    command = [sys.executable, "-m", "seqcourse.cli", "grade", "merge"]
    done = subprocess.run(
        [*command, *map(str, shard_dirs), "--out", str(tmp_path / "m"), "--masters", str(masters)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0 and "merged 5 submission(s) of 3 shard(s)" in done.stdout
    done = subprocess.run(
        [*command, str(shard_dirs[0]), "--out", str(tmp_path / "n"), "--masters", str(masters)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "missing [2, 3]" in done.stderr
