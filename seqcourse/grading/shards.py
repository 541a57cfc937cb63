"""Grading a class in shards on a batch engine, and merging the shards into one run's output.

``seqcourse grade SUBMISSIONS --shard K/N --out grades-K`` grades a deterministic 1/N of
``SUBMISSIONS``: sorted by path, every N-th from the K-th on (K = 1..N), so that N tasks given the
same list in any order — a Slurm job array, a CI matrix — split it without overlap and without a
gap. Each shard writes the files one run would write for its submissions (per-submission JSON
under the name one run would give it, feedback, Gradescope files), its own ``grades.csv``, and
``shard.json``: the assignment, K and N, and the whole list with the output name of each
submission. ``seqcourse grade merge grades-*/ --out grades/`` checks that the shards are the N
parts of one list, copies their files, and writes the ``grades.csv`` and ``report.html`` one run
would have written (rows in the order of the list given to the shards).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from seqcourse.grading.notebook_format import Assignment, read_assignment
from seqcourse.grading.report import write_report
from seqcourse.grading.results import SubmissionResult, write_atomic, write_csv

MANIFEST = "shard.json"
_SHARD = re.compile(r"(\d+)/(\d+)")


class ShardError(ValueError):
    """Shards that cannot be merged (missing, from different runs, incomplete)."""


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` -> ``(K, N)`` with 1 <= K <= N.

    Raises:
        ValueError: not of that form (the message says what is expected)."""
    match = _SHARD.fullmatch(text.strip())
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise ValueError(f"--shard {text!r}: give K/N with 1 <= K <= N, e.g. --shard 2/8")
    return int(match[1]), int(match[2])


def pick(names: list[str], shard: tuple[int, int]) -> list[int]:
    """Indices into ``names`` (the submissions' paths as text) that shard ``(K, N)`` grades:
    sorted by name, every N-th from the K-th on; returned in the order of ``names``."""
    k, n = shard
    order = sorted(range(len(names)), key=lambda i: (names[i], i))
    return sorted(order[k - 1 :: n])


def write_manifest(out_dir: Path, assignment: Assignment, shard: tuple[int, int],
                   names: list[str], outputs: list[str]) -> None:  # fmt: skip
    """``out_dir/shard.json``: what :func:`merge` needs to rebuild one run from the shards."""
    data = {
        "assignment": assignment.name,
        "shard": list(shard),
        "submissions": [{"name": s, "json": o} for s, o in zip(names, outputs, strict=True)],
        "graded": pick(names, shard),
    }
    write_atomic(out_dir / MANIFEST, json.dumps(data, indent=1))


def _read_manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        k, n = data["shard"]
        listed, graded = data["submissions"], data["graded"]
        assert isinstance(data["assignment"], str) and isinstance(listed, list)
        assert all(isinstance(i, int) and 0 <= i < len(listed) for i in graded)
        return {"assignment": data["assignment"], "k": int(k), "n": int(n),
                "names": [(s["name"], s["json"]) for s in listed], "graded": graded}  # fmt: skip
    except FileNotFoundError:
        raise ShardError(
            f"{folder} is not a shard's output: it has no {MANIFEST} "
            "(write it with seqcourse grade ... --shard K/N --out FOLDER)"
        ) from None
    except (OSError, ValueError, KeyError, TypeError, AssertionError) as err:
        raise ShardError(
            f"{path} is damaged ({type(err).__name__}): grade that shard again"
        ) from err


def merge(folders: list[Path], out_dir: Path, masters: Path) -> list[SubmissionResult]:
    """Join shard folders into ``out_dir`` as one grading run would have written it; return
    the results in the order of the run's list.

    Raises:
        ShardError: a folder is not a shard, the shards come from different runs or
            assignments, one is missing or given twice, or a graded submission has no result."""
    manifests = [(Path(f), _read_manifest(Path(f))) for f in folders]
    if not manifests:
        raise ShardError("no shard folders given")
    first = manifests[0][1]
    for folder, m in manifests:
        if (m["assignment"], m["n"], m["names"]) != (
            first["assignment"],
            first["n"],
            first["names"],
        ):
            raise ShardError(
                f"{folder} is not a shard of the same run as the others (assignment, number of "
                "shards or list of submissions differ): merge the shards of one run"
            )
    n = first["n"]
    ks = sorted(m["k"] for _, m in manifests)
    if ks != list(range(1, n + 1)):
        missing = sorted(set(range(1, n + 1)) - set(ks))
        twice = sorted({k for k in ks if ks.count(k) > 1})
        raise ShardError(
            f"shards of {n}: missing {missing or 'none'}, given twice {twice or 'none'}"
        )
    assignment = read_assignment(Path(masters) / f"{first['assignment']}.ipynb")
    owner = {i: folder for folder, m in manifests for i in m["graded"]}
    out_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for i, (name, json_name) in enumerate(first["names"]):
        folder = owner.get(i)
        path = folder / json_name if folder else None
        if path is None or not path.is_file():
            raise ShardError(f"no result for {name} (expected {path}): grade that shard again")
        data = json.loads(path.read_text(encoding="utf-8"))
        result = SubmissionResult.from_dict(data, assignment)
        result.submission, result.name_escaped = name, bool(data.get("name_escaped"))
        result.seconds = float(data.get("seconds", 0.0))
        results.append(result)
    for folder, _ in manifests:
        for path in sorted(folder.iterdir()):
            if path.is_file() and path.name not in (MANIFEST, "grades.csv", "report.html"):
                shutil.copyfile(path, out_dir / path.name)
    write_csv(results, assignment, out_dir / "grades.csv")
    write_report(results, assignment, out_dir / "report.html")
    return results
