#!/usr/bin/env python3
"""Check that installing the course changes none of Colab's preinstalled packages.

``constraints/colab.txt`` pins Colab's versions of every package the install touches. Run in an
environment that holds exactly those versions (``.ci/run`` builds one, ``.venv-colab``):

    python ci/check_colab_install.py env   --python .venv-colab/bin/python
    python ci/check_colab_install.py check --python .venv-colab/bin/python [TARGET]
    python ci/check_colab_install.py refresh FREEZE

``env``     fails unless the environment has every pinned package at its pinned version.
``check``   does ``env``, then what the notebooks' setup cell does on Colab, as a dry run
            (``pip install --dry-run --report``, TARGET defaults to this repository), and fails,
            naming package, versions and the requirement that asks for it, if the install would
            upgrade, downgrade or reinstall a pinned package.
``refresh`` rewrites the pinned versions from a new Colab ``pip freeze`` (FREEZE: a file, e.g.
            googlecolab/backend-info's ``pip-freeze.gpu.txt``), keeping names, order and
            comments; then update the file's header (date, source) by hand.

Standard library only: it runs with any Python 3.9+, and drives the environment's own pip.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONSTRAINTS = ROOT / "constraints" / "colab.txt"
PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)\s*(#.*)?$")


def canonical(name: str) -> str:
    """PEP 503 normalised name: ``Jupyter_Client`` -> ``jupyter-client``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(path: Path) -> dict[str, tuple[str, str]]:
    """canonical name -> (name as written, version) for every ``name==version`` line."""
    pins = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        stripped = line.split("#", 1)[0].strip()
        if not stripped:
            continue
        match = PIN.match(line)
        if not match:
            sys.exit(f"{path}:{number}: not a `name==version` line: {line!r}")
        pins[canonical(match[1])] = (match[1], match[2])
    return pins


def _release(version: str) -> tuple[int, ...] | None:
    match = re.match(r"^(\d+(?:\.\d+)*)", version)
    return tuple(int(p) for p in match[1].split(".")) if match else None


def change_word(old: str, new: str) -> str:
    """'upgrade' / 'downgrade' / 'reinstall' / 'change' (when versions do not compare simply)."""
    if old == new:
        return "reinstall"
    a, b = _release(old), _release(new)
    if a is None or b is None or a == b:
        return "change"
    width = max(len(a), len(b))
    a, b = a + (0,) * (width - len(a)), b + (0,) * (width - len(b))
    return "upgrade" if b > a else "downgrade"


def installed(python: str) -> dict[str, tuple[str, str]]:
    """canonical name -> (name, version) of what the environment of ``python`` has installed."""
    out = subprocess.run(
        [python, "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {canonical(p["name"]): (p["name"], p["version"]) for p in json.loads(out)}


def check_env(python: str, pins: dict, constraints: Path) -> list[str]:
    """Problems that make the environment differ from the pins (empty: it matches)."""
    have = installed(python)
    problems = []
    for key, (name, version) in sorted(pins.items()):
        if key not in have:
            problems.append(f"{name}: pinned {version}, not installed")
        elif have[key][1] != version:
            problems.append(f"{name}: pinned {version}, installed {have[key][1]}")
    if problems:
        problems.insert(0, f"the environment of {python} is not the one {constraints} describes:")
    return problems


def requirers(report: dict, key: str) -> list[str]:
    """'<package> <version>: <requirement>' for each package in the report that asks for ``key``."""
    found = []
    for item in report.get("install", []):
        meta = item["metadata"]
        for requirement in meta.get("requires_dist") or []:
            match = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
            marker = requirement.partition(";")[2]
            if match and canonical(match[1]) == key and "extra" not in marker:
                found.append(f"{meta['name']} {meta['version']}: {requirement}")
    return found


def dry_run(python: str, target: str) -> dict:
    """pip's installation report for ``pip install TARGET`` in the environment of ``python``."""
    with tempfile.TemporaryDirectory() as tmp:
        report_path = Path(tmp) / "report.json"
        cmd = [
            python,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--quiet",
            "--disable-pip-version-check",
            "--report",
            str(report_path),
            target,
        ]
        result = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        if result.returncode != 0:
            sys.stderr.write(result.stdout + result.stderr)
            sys.exit(f"FAIL: pip cannot resolve `pip install {target}` here ({' '.join(cmd)})")
        return json.loads(report_path.read_text())


def cmd_env(args) -> int:
    pins = read_pins(args.constraints)
    problems = check_env(args.python, pins, args.constraints)
    if problems:
        print("FAIL: " + "\n  ".join(problems))
        return 1
    print(
        f"OK: the environment has all {len(pins)} packages of {args.constraints} at their pinned versions"
    )
    return 0


def cmd_check(args) -> int:
    pins = read_pins(args.constraints)
    problems = check_env(args.python, pins, args.constraints)
    if problems:
        print("FAIL: " + "\n  ".join(problems))
        print("(build it with `pip install -r constraints/colab.txt` in a fresh Python 3.13 venv)")
        return 1
    report = dry_run(args.python, args.target)
    changed, added = [], []
    for item in report.get("install", []):
        meta = item["metadata"]
        key = canonical(meta["name"])
        if key in pins:
            name, pinned = pins[key]
            why = requirers(report, key)
            changed.append(
                f"{name}: Colab has {pinned}; the install would {change_word(pinned, meta['version'])} "
                f"it to {meta['version']}" + (f" (required by {'; '.join(why)})" if why else "")
            )
        else:
            added.append(f"{meta['name']} {meta['version']}")
    if args.save_report:
        Path(args.save_report).write_text(json.dumps(report, indent=1))
    if changed:
        print(
            f"FAIL: `pip install {args.target}` would change {len(changed)} of Colab's "
            f"preinstalled packages ({args.constraints}):"
        )
        for line in changed:
            print(f"  {line}")
        print(
            "Loosen the bound in pyproject.toml that asks for it (or move the dependency to an "
            "extra that Colab does not install), then run this check again."
        )
        return 1
    print(
        f"OK: `pip install {args.target}` changes none of the {len(pins)} packages pinned in "
        f"{args.constraints}"
    )
    print(f"    it would add ({len(added)}, not pinned): {', '.join(sorted(added)) or 'nothing'}")
    print("    (if Colab starts preinstalling one of these, add it to the constraints)")
    return 0


def cmd_refresh(args) -> int:
    freeze = {}
    for line in Path(args.freeze).read_text().splitlines():
        match = PIN.match(line)
        if match:
            freeze[canonical(match[1])] = match[2]
    if not freeze:
        sys.exit(f"{args.freeze}: no `name==version` lines (expected `pip freeze` output)")
    lines, changed, missing = [], [], []
    for line in args.constraints.read_text().splitlines():
        match = PIN.match(line)
        if match and canonical(match[1]) in freeze:
            name, old, new = match[1], match[2], freeze[canonical(match[1])]
            if old != new:
                changed.append(f"{name}: {old} -> {new}")
                # a tag such as "[I]" or "[S]" describes the old version: drop it
                line = f"{name}=={new}"
        elif match:
            missing.append(f"{match[1]}=={match[2]}")
        lines.append(line)
    args.constraints.write_text("\n".join(lines) + "\n")
    print(f"{args.constraints}: {len(changed)} version(s) changed")
    for entry in changed:
        print(f"  {entry}")
    if missing:
        print(f"not in {args.freeze} (kept as they were; check whether Colab still has them):")
        for entry in missing:
            print(f"  {entry}")
    print("Now update the header (date, source, Python version) and run .ci/run.")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, func in (("env", cmd_env), ("check", cmd_check)):
        p = sub.add_parser(name)
        p.add_argument(
            "--python", default=sys.executable, help="Python of the Colab-like environment"
        )
        p.add_argument("--constraints", type=Path, default=DEFAULT_CONSTRAINTS)
        p.set_defaults(func=func)
        if name == "check":
            p.add_argument("target", nargs="?", default=".", help="what to install (default: .)")
            p.add_argument("--save-report", help="also write pip's JSON report here")
    p = sub.add_parser("refresh")
    p.add_argument("freeze", help="a `pip freeze` of Colab's runtime")
    p.add_argument("--constraints", type=Path, default=DEFAULT_CONSTRAINTS)
    p.set_defaults(func=cmd_refresh)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
