"""``seqcourse run``: the course benchmark. Executes notebooks headless and reports
wall time against the time budget and recorded metrics against the targets."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import tempfile
import time
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import nbformat
from nbclient.exceptions import CellExecutionError

from seqcourse.execution import CappedClient
from seqcourse.runtime import FAST_ENV, RECORD_FILE_ENV
from seqcourse.targets import NotebookTargets, load_targets


@dataclass
class NotebookRun:
    """The outcome of executing one notebook."""

    notebook: str
    fast: bool
    seconds: float
    error: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    targets: NotebookTargets | None = None

    @property
    def budget(self) -> float | None:
        return self.targets.budget(self.fast) if self.targets else None

    def problems(self) -> list[str]:
        """Everything that makes this run a failure: an error, a blown budget, a missed target."""
        found = [f"error: {self.error}"] if self.error else []
        if self.targets is None:
            return found + ["no entry in seqcourse/targets.toml"]
        if self.seconds > self.budget:
            found.append(f"took {self.seconds:.0f} s, budget {self.budget:.0f} s")
        if not self.fast and not self.error:
            for t in self.targets.targets:
                if t.name not in self.metrics:
                    found.append(f"{t.name} was not recorded")
                elif not t.met(self.metrics[t.name]):
                    found.append(f"{t.name} = {self.metrics[t.name]:.4g}, target {t}")
        return found


def _short_error(err: CellExecutionError) -> str:
    lines = [ln for ln in str(err).splitlines() if ln.strip()]
    return (lines[-1] if lines else "cell failed")[:300]


def run_notebook(
    path: Path, fast: bool, out_dir: Path | None, cell_timeout: int = 1800
) -> NotebookRun:
    """Execute the notebook at ``path`` in a fresh kernel (cwd = its folder); collect records."""
    nb = nbformat.read(path, as_version=4)
    with tempfile.NamedTemporaryFile("r", suffix=".jsonl", delete=False) as rec:
        record_file = rec.name
    overrides = {
        FAST_ENV: "1" if fast else "0",
        RECORD_FILE_ENV: record_file,
        "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"),  # quiet kernel logs
    }
    saved = {k: os.environ.get(k) for k in overrides}
    os.environ.update(overrides)
    error = ""
    start = time.monotonic()
    try:
        client = CappedClient(
            nb, timeout=cell_timeout, resources={"metadata": {"path": str(path.parent)}}
        )
        client.execute()
    except CellExecutionError as err:
        error = _short_error(err)
    except Exception as err:  # timeouts, dead kernels
        error = f"{type(err).__name__}: {str(err)[:200]}"
    finally:
        seconds = time.monotonic() - start
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    metrics = {}
    with open(record_file, encoding="utf-8") as fh:
        for line in fh:
            entry = json.loads(line)
            metrics[entry["name"]] = entry["value"]
    os.unlink(record_file)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, out_dir / path.name)
    return NotebookRun(
        path.stem, fast, round(seconds, 1), error, metrics, load_targets().get(path.stem)
    )


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def machine_description() -> str:
    """One line naming the machine and library versions the numbers were measured with."""
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores, Python "
        f"{platform.python_version()}, TensorFlow {_package_version('tensorflow')}, "
        f"Keras {_package_version('keras')}"
    )


def render_report(runs: list[NotebookRun], fast: bool) -> str:
    """The Markdown report: a summary table, then each notebook's metrics against its targets."""
    mode = "fast (SEQCOURSE_FAST=1)" if fast else "default"
    lines = [
        f"# seqcourse results — {mode} mode",
        "",
        f"Measured {dt.date.today().isoformat()} on: {machine_description()}.",
        "",
        "| notebook | status | wall time | budget |",
        "|---|---|---|---|",
    ]
    for r in runs:
        status = "ok" if not r.problems() else "**FAILED**"
        budget = f"{r.budget:.0f} s" if r.budget else "—"
        lines.append(f"| {r.notebook} | {status} | {r.seconds:.1f} s | {budget} |")
    for r in runs:
        lines += ["", f"## {r.notebook}", ""]
        if r.problems():
            lines += [f"- problem: {p}" for p in r.problems()] + [""]
        lines += ["| metric | value | target | met |", "|---|---|---|---|"]
        target_by_name = {t.name: t for t in (r.targets.targets if r.targets else ())}
        for name in sorted(set(r.metrics) | set(target_by_name)):
            value = r.metrics.get(name)
            t = target_by_name.get(name)
            shown = "not recorded" if value is None else f"{value:.4g}"
            met = (
                "—"
                if t is None or fast
                else ("yes" if value is not None and t.met(value) else "**no**")
            )
            lines.append(f"| {name} | {shown} | {t if t else '—'} | {met} |")
    return "\n".join(lines) + "\n"


def run(
    paths: list[Path], fast: bool, report: Path | None, out_dir: Path | None, progress=print
) -> int:
    """Execute ``paths`` one after another, print and save the report; 0 when all is well."""
    runs = []
    for n, path in enumerate(paths, 1):
        progress(f"[{n}/{len(paths)}] running {path} ({'fast' if fast else 'default'} mode)…")
        r = run_notebook(path, fast, out_dir)
        progress(
            f"[{n}/{len(paths)}] {path.stem}: {r.seconds:.1f} s, "
            + ("ok" if not r.problems() else "; ".join(r.problems()))
        )
        runs.append(r)
    text = render_report(runs, fast)
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(text, encoding="utf-8")
        progress(f"report written to {report}")
    progress(text)
    return 0 if all(not r.problems() for r in runs) else 1
