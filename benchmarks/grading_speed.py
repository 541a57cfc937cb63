"""Benchmark: seconds per submission of the autograder, per notebook, and where they go.

    python benchmarks/grading_speed.py [NN ...] [--copies 2] [--jobs 2]

For each notebook (all thirteen by default) it grades ``--copies`` copies of the master
(honest work: every exercise answered, so every check and probe runs) with ``--jobs`` workers,
as ``seqcourse grade ... --jobs 2`` does, and prints the wall time per submission (wall time
of the whole call / copies) and, averaged over the copies, the phases the worker logs: kernel
start (sandbox, Python and TensorFlow imports), the notebook's own cells, the exercise cells,
and the checks with their probes. Run it on an otherwise idle machine and name the machine.
"""

from __future__ import annotations

import argparse
import re
import shutil
import tempfile
import time
from pathlib import Path

from seqcourse.grading.grade import grade
from seqcourse.runner import machine_description

ROOT = Path(__file__).resolve().parents[1]
PHASE = re.compile(r"([a-z ]+?) (\d+(?:\.\d+)?) s")


def phases(result) -> dict[str, float]:
    """The worker's time line ("time: 31.2 s in all (kernel start 6.1 s, ...)") as a dict."""
    line = next((entry for entry in result.log if entry.startswith("time: ")), "")
    inner = line.partition("(")[2].rstrip(")")
    return {m[1].strip(): float(m[2]) for m in PHASE.finditer(inner)}


def measure(master: Path, copies: int, jobs: int) -> tuple[float, dict[str, float], str]:
    """Grade ``copies`` copies of ``master``: seconds per submission, mean phases, scores."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        paths = []
        for k in range(copies):
            path = tmp / "class" / f"student{k}" / master.name
            path.parent.mkdir(parents=True)
            shutil.copy(master, path)
            paths.append(path)
        start = time.monotonic()
        results = grade(
            paths,
            tmp / "grades",
            assignment=master.stem,
            masters=master.parent,
            jobs=jobs,
            progress=lambda line: None,
        )
        wall = time.monotonic() - start
    mean: dict[str, float] = {}
    for result in results:
        for phase, seconds in phases(result).items():
            mean[phase] = mean.get(phase, 0.0) + seconds / len(results)
    scores = ", ".join(f"{r.total:g}/{r.max_points:g}" for r in results)
    for r in results:  # a master below full marks is a grader bug: say which test failed
        for ex_id, ex in r.exercises.items():
            for test in (t for t in ex.tests if not t["passed"]):
                print(f"<!-- {master.stem} {ex_id} FAILED {test['name']}: {test['message']} -->")
    return wall / copies, mean, scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="notebook numbers (default: all)")
    parser.add_argument("--copies", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    masters = sorted((ROOT / "notebooks").glob("*.ipynb"))
    if args.notebooks:
        masters = [m for m in masters if m.name[:2] in args.notebooks]
    print(f"# grading speed, {args.copies} copies of each master, --jobs {args.jobs}")
    print(f"# {machine_description()}")
    print(
        "| notebook | s / submission | kernel start | own cells | exercise cells | checks + probes | scores |"
    )
    print("|---|---:|---:|---:|---:|---:|---|")
    for master in masters:
        per, mean, scores = measure(master, args.copies, args.jobs)
        cells = [mean.get(k, 0.0) for k in ("kernel start", "other cells", "exercise cells")]
        cells.append(mean.get("checks and probes", 0.0))
        print(
            f"| {master.stem} | {per:.1f} | "
            + " | ".join(f"{c:.1f}" for c in cells)
            + f" | {scores} |"
        )


if __name__ == "__main__":
    main()
