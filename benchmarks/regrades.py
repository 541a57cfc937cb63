"""Benchmark: does grading the same submission again give the same score?

    python benchmarks/regrades.py [NN ...] [--times 20] [--jobs 2] [--full]

Every grading run draws fresh probe seeds, so a check that passes an honest answer only on
most inputs shows up as a score that changes between regrades. For each notebook (all
thirteen by default) this grades ``--times`` copies of two submissions in one run:

* the master (every exercise answered by the reference), and
* a partial submission: the released student copy with the master's answers pasted into every
  other exercise (the first, third… answered; the others left as stubs).

By default the masters are cut down to their setup, exercise and check cells (no training:
what the checks judge is the exercise functions, which the cut keeps), as in
``tests/test_grader_models.py``; ``--full`` grades the whole masters instead (about 5× longer).
It prints, per notebook and submission, each distinct total with how many times it came out,
and for a total that is not always the same, the tests that failed in the odd runs with their
messages.
"""

from __future__ import annotations

import argparse
import collections
import copy
import sys
import tempfile
from pathlib import Path

import nbformat

from seqcourse.grading.grade import grade
from seqcourse.grading.notebook_format import solution_cells, split_hidden_tests, stub_solution
from seqcourse.runner import machine_description

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from test_grader_models import _reduced_master  # noqa: E402  (the tests' own cut)


def partial(master):
    """The student form of ``master`` with every other exercise answered (1st, 3rd, …)."""
    nb = copy.deepcopy(master)
    for n, (ex, i) in enumerate(solution_cells(nb).items()):
        nb.cells[i + 1].source = split_hidden_tests(nb.cells[i + 1].source)[0]
        if n % 2:
            nb.cells[i].source = stub_solution(nb.cells[i].source, ex)
    return nb


def regrade(name: str, times: int, jobs: int, full: bool) -> list[str]:
    """Markdown rows for notebook ``name``: distinct totals of each submission over ``times``."""
    master = (
        nbformat.read(ROOT / "notebooks" / name, as_version=4) if full else _reduced_master(name)
    )
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "masters").mkdir()
        (tmp / "masters" / name).write_text(nbformat.writes(master), encoding="utf-8")
        paths, kinds = [], {}
        for kind, nb in (("master", master), ("partial", partial(master))):
            for k in range(times):
                path = tmp / "class" / f"{kind}{k:02d}" / name
                path.parent.mkdir(parents=True)
                path.write_text(nbformat.writes(nb), encoding="utf-8")
                paths.append(path)
                kinds[str(path)] = kind
        results = grade(paths, tmp / "grades", assignment=name[:-6], masters=tmp / "masters",
                        jobs=jobs, progress=lambda line: None)  # fmt: skip
    rows = []
    for kind in ("master", "partial"):
        mine = [r for r in results if kinds.get(r.submission) == kind]
        totals = collections.Counter(r.total for r in mine)
        common = totals.most_common(1)[0][0]
        odd = sorted({f"{e}: {t['name']}: {t['message'][:200]}" for r in mine if r.total != common
                      for e, x in r.exercises.items() for t in x.tests if not t["passed"]})  # fmt: skip
        seen = ", ".join(f"{total:g} ×{n}" for total, n in sorted(totals.items(), reverse=True))
        rows.append(f"| {name[:-6]} | {kind} | {mine[0].max_points:g} | {seen} | "
                    f"{'; '.join(odd)[:900] or '–'} |")  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "notebooks", nargs="*", help="notebook numbers, in the order to run (default: all)"
    )
    parser.add_argument("--times", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--full", action="store_true", help="whole masters, not cut down")
    args = parser.parse_args()
    names = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    if args.notebooks:  # in the order given
        names = [n for number in args.notebooks for n in names if n[:2] == number]
    cut = "whole masters" if args.full else "masters cut to setup, exercise and check cells"
    print(f"# regrades: {args.times} gradings of each submission, {cut}, --jobs {args.jobs}")
    print(f"# {machine_description()}")
    print("| notebook | submission | points | totals (× times) | failed in the odd runs |")
    print("|---|---|---:|---|---|")
    for name in names:
        for row in regrade(name, args.times, args.jobs, args.full):
            print(row, flush=True)


if __name__ == "__main__":
    main()
