"""The ``seqcourse`` command: run (benchmark notebooks), release (student copies), grade,
gradescope (an autograder zip), doctor."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _cmd_run(args) -> int:
    from seqcourse.parameters import ParameterError, parse_assignment, resolve_paths
    from seqcourse.runner import run

    paths = (
        sorted(Path(args.masters).glob("*.ipynb"))
        if args.all
        else [Path(p) for p in args.notebooks]
    )
    if not paths:
        print("seqcourse run: name notebooks to run, or pass --all", file=sys.stderr)
        return 2
    missing = [p for p in paths if not p.exists()]
    if missing:
        print(f"seqcourse run: no such notebook: {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    mode = "fast" if args.fast else "default"
    out = Path(args.out) if args.out else Path("runs") / mode
    report = Path(args.report) if args.report else out / "report.md"
    try:
        parameters = resolve_paths(dict(parse_assignment(text) for text in args.parameter))
        return run(paths, args.fast, report, out, parameters=parameters)
    except ParameterError as err:
        print(f"seqcourse run: {err}", file=sys.stderr)
        return 2


def _cmd_release(args) -> int:
    from seqcourse.grading.release import release

    report = release(Path(args.masters), Path(args.out), check=args.check)
    if args.check:
        if report.in_sync:
            print(f"{args.out}/ is in sync with {args.masters}/")
            return 0
        for name in report.stale:
            print(f"out of date: {args.out}/{name}\n{report.diffs[name]}\n")
        for name in report.extra:
            print(f"no master for: {args.out}/{name} (delete it or restore notebooks/{name})")
        print(f"{args.out}/ is out of sync: run `seqcourse release` and commit the result")
        return 1
    print(f"released {len(report.written)} changed notebook(s) to {args.out}/")
    for name in report.extra:
        print(f"warning: {args.out}/{name} has no master in {args.masters}/")
    return 0


def _cmd_grade(args) -> int:
    from seqcourse.grading.grade import GradingInterrupted, grade
    from seqcourse.grading.shards import ShardError, merge, parse_shard

    submissions = [Path(p) for p in args.submissions]
    try:
        if args.submissions[0] == "merge" and not submissions[0].is_file():
            results = merge(submissions[1:], Path(args.out), Path(args.masters))
            print(
                f"merged {len(results)} submission(s) of {len(submissions) - 1} shard(s) into {args.out}/"
            )
            return 0
        grade(
            submissions,
            Path(args.out),
            assignment=args.assignment,
            masters=Path(args.masters),
            jobs=args.jobs,
            cell_timeout=args.timeout_cell,
            total_timeout=args.timeout_total,
            memory_gb=args.memory_gb,
            formats=("csv", *args.format),
            feedback=args.feedback,
            hidden_visibility=args.hidden_visibility,
            shard=parse_shard(args.shard) if args.shard else None,
        )
    except (FileNotFoundError, ValueError, ShardError) as err:
        print(f"seqcourse grade: {err}", file=sys.stderr)
        return 2
    except GradingInterrupted as err:
        print(f"seqcourse grade: {err}", file=sys.stderr)
        return 130
    return 0


def _cmd_gradescope(args) -> int:
    from seqcourse.grading.gradescope import build_bundle
    from seqcourse.grading.notebook_format import FormatError

    try:
        out = build_bundle(
            Path(args.notebook),
            Path(args.out),
            wheel=Path(args.wheel) if args.wheel else None,
            cell_timeout=args.timeout_cell,
            total_timeout=args.timeout_total,
            memory_gb=args.memory_gb,
            hidden_visibility=args.hidden_visibility,
        )
    except (FileNotFoundError, FormatError) as err:
        print(f"seqcourse gradescope: {err}", file=sys.stderr)
        return 2
    print(
        f"wrote {out}: upload it as the assignment's autograder (Gradescope: Configure Autograder)"
    )
    return 0


def _cmd_doctor(args) -> int:
    from seqcourse.doctor import run_doctor

    return run_doctor()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seqcourse", description="Course tools for seqcourse.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="execute notebooks headless and report time and targets")
    p.add_argument("notebooks", nargs="*", help="notebooks to execute")
    p.add_argument("--all", action="store_true", help="every notebook in --masters")
    p.add_argument("--fast", action="store_true", help="fast mode (SEQCOURSE_FAST=1)")
    p.add_argument("--report", help="Markdown report path (default: runs/<mode>/report.md)")
    p.add_argument("--out", help="folder for executed copies (default: runs/<mode>)")
    p.add_argument("--masters", default="notebooks", help="notebook folder for --all")
    p.add_argument(
        "-p",
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a parameter of the notebook's 'parameters' cell, e.g. -p FULL_DATA=True "
        "or -p DATA=my_wavs/ (repeatable; values are Python literals, else strings; relative "
        "paths are taken from the folder you run the command in)",
    )
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("release", help="write student copies (exercises/) from the masters")
    p.add_argument("--check", action="store_true", help="only check exercises/ is up to date")
    p.add_argument("--masters", default="notebooks")
    p.add_argument("--out", default="exercises")
    p.set_defaults(func=_cmd_release)

    p = sub.add_parser(
        "grade",
        help="grade submissions into grades.csv and per-submission JSON "
        "(seqcourse grade merge SHARD_FOLDERS --out FOLDER joins shards)",
    )
    p.add_argument(
        "submissions",
        nargs="+",
        help="submitted .ipynb files; or 'merge' followed by the --out folders of the N shards",
    )
    p.add_argument("--out", required=True, help="folder for grades.csv and the JSON files")
    p.add_argument(
        "--assignment", help="master notebook name, e.g. 01_rnn_from_scratch (default: inferred)"
    )
    p.add_argument("--masters", default="notebooks", help="folder of the master notebooks")
    p.add_argument("--jobs", type=int, default=1, help="submissions graded in parallel")
    _limit_options(p)
    p.add_argument(
        "--feedback", action="store_true", help="also write a Markdown feedback file per student"
    )
    p.add_argument(
        "--format",
        action="append",
        default=[],
        choices=["gradescope"],
        help="also write Gradescope's results.json",
    )
    _visibility_option(p)
    p.add_argument(
        "--shard",
        metavar="K/N",
        help="grade only the K-th of N parts of the submissions (sorted by path, every N-th), "
        "for a job array; join the parts with: seqcourse grade merge FOLDERS --out FOLDER",
    )
    p.set_defaults(func=_cmd_grade)

    p = sub.add_parser("gradescope", help="write a Gradescope autograder zip for one notebook")
    p.add_argument("notebook", help="the master notebook, e.g. notebooks/01_rnn_from_scratch.ipynb")
    p.add_argument("--out", default="autograder.zip", help="the zip to write")
    p.add_argument(
        "--wheel",
        help="ship this seqcourse wheel in the zip and install it (default: seqcourse[tools]=="
        "this version, from PyPI, when Gradescope builds the image)",
    )
    _limit_options(p)
    _visibility_option(p)
    p.set_defaults(func=_cmd_gradescope)

    p = sub.add_parser("doctor", help="check the installation, GPU, embedded data and network")
    p.set_defaults(func=_cmd_doctor)
    return parser


def _limit_options(p) -> None:
    p.add_argument("--timeout-cell", type=float, default=60, help="seconds per cell")
    p.add_argument("--timeout-total", type=float, default=600, help="seconds per submission")
    p.add_argument(
        "--memory-gb",
        type=float,
        default=6,
        help="resident memory a submission's kernel may hold, all its processes together",
    )


def _visibility_option(p) -> None:
    p.add_argument(
        "--hidden-visibility",
        default="after_published",
        # results.VISIBILITIES; not imported: building the parser must not need the tools extra
        choices=["hidden", "after_due_date", "after_published", "visible"],
        help="when students see the hidden tests' results in Gradescope (default: once published)",
    )


TOOLS = {"nbformat", "nbclient", "ipykernel", "jupyter_client"}  # the "tools" extra


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ModuleNotFoundError as err:  # run/grade/release need the "tools" extra
        tool = (err.name or "").split(".")[0]
        if tool not in TOOLS:
            raise
        print(
            f"seqcourse {args.command}: needs {tool}, which comes with the tools extra: "
            'pip install "seqcourse[tools]"',
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
