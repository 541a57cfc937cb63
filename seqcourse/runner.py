"""``seqcourse run``: the course benchmark. Executes notebooks headless and reports
wall time against the time budget and recorded metrics against the targets.

While a notebook runs, one progress line shows its cells done and the time against its
budget; the kernel's own stdout/stderr (TensorFlow's C++ logs…) go to a log file next to the
executed copy, whose path is printed when the notebook fails.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import nbformat
from nbclient.exceptions import CellExecutionError

from seqcourse.execution import CappedClient
from seqcourse.parameters import inject_parameters
from seqcourse.runtime import FAST_ENV, RECORD_FILE_ENV, STRICT_TARGETS_ENV
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
    parameters: dict[str, object] = field(default_factory=dict)
    log: Path | None = None
    error_detail: str = ""  # the failing cell's source and traceback, for test failures

    @property
    def budget(self) -> float | None:
        return self.targets.budget(self.fast) if self.targets else None

    def problems(self, check_budget: bool = True) -> list[str]:
        """Everything that makes this run a failure: an error, a blown budget, a missed target.

        Default mode checks ``targets``; fast mode checks ``fast_targets`` and that every metric
        of both tables was recorded. ``check_budget=False`` leaves wall time out (the test suite
        asserts behaviour, not time).
        """
        found = [f"error: {self.error}"] if self.error else []
        if self.targets is None:
            return found + ["no entry in seqcourse/targets.toml"]
        if check_budget and self.seconds > self.budget:
            found.append(f"took {self.seconds:.0f} s, budget {self.budget:.0f} s")
        if self.error:
            return found
        return found + self.targets.problems(self.metrics, self.fast)


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _plain(err: BaseException) -> str:
    """An exception's text without the terminal colour codes of IPython tracebacks."""
    return _ANSI.sub("", str(err))


def _short_error(err: CellExecutionError) -> str:
    lines = [ln for ln in _plain(err).splitlines() if ln.strip()]
    return (lines[-1] if lines else "cell failed")[:300]


def _read_records(path: str) -> dict[str, float]:
    metrics = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            entry = json.loads(line)
            metrics[entry["name"]] = entry["value"]
    return metrics


def run_notebook(
    path: Path,
    fast: bool,
    out_dir: Path | None,
    cell_timeout: int = 1800,
    parameters: dict[str, object] | None = None,
    log: Path | None = None,
    on_progress=None,
) -> NotebookRun:
    """Execute the notebook at ``path`` in a fresh kernel (cwd = its folder); collect records.

    Args:
        parameters: values for the notebook's ``parameters`` cell (see :mod:`seqcourse.parameters`).
        log: file for the kernel's stdout/stderr (default: discarded).
        on_progress: ``on_progress(cells_done, cells_total)`` after every code cell.

    Raises:
        seqcourse.parameters.ParameterError: a parameter the notebook does not have.
    """
    nb = nbformat.read(path, as_version=4)
    parameters = dict(parameters or {})
    inject_parameters(nb, parameters, label=path.name)
    with tempfile.NamedTemporaryFile("r", suffix=".jsonl", delete=False) as rec:
        record_file = rec.name
    kernel_env = dict(
        os.environ,
        **{
            FAST_ENV: "1" if fast else "0",
            RECORD_FILE_ENV: record_file,
            STRICT_TARGETS_ENV: "0",  # the last cell reports; this run's problems() decide
            "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"),
        },
    )
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
    error = detail = ""
    start = time.monotonic()
    with open(log if log is not None else os.devnull, "wb") as log_fh:
        try:
            client = CappedClient(
                nb,
                timeout=cell_timeout,
                resources={"metadata": {"path": str(path.parent.resolve())}},
                on_progress=on_progress,
            )
            client.execute(env=kernel_env, stdout=log_fh, stderr=log_fh)
        except CellExecutionError as err:
            error, detail = _short_error(err), _plain(err)[-5000:]
        except Exception as err:  # timeouts, dead kernels
            error = f"{type(err).__name__}: {_plain(err)[:200]}"
            detail = _plain(err)[-5000:]
    seconds = time.monotonic() - start
    metrics = _read_records(record_file)
    os.unlink(record_file)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, out_dir / path.name)
    return NotebookRun(
        path.stem,
        fast,
        round(seconds, 1),
        error,
        metrics,
        load_targets().get(path.stem),
        parameters,
        log,
        detail,
    )


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_description() -> str:
    """One line naming the machine and library versions the numbers were measured with."""
    return (
        f"{platform.system()} {platform.machine()} ({_cpu_model()}), {os.cpu_count()} CPU cores, "
        f"Python {platform.python_version()}, TensorFlow {_package_version('tensorflow')}, "
        f"Keras {_package_version('keras')}"
    )


def _format_parameters(parameters: dict[str, object]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in parameters.items()) or "defaults"


def render_report(runs: list[NotebookRun], fast: bool) -> str:
    """The Markdown report: a summary table, then each notebook's metrics against its targets."""
    mode = "fast (SEQCOURSE_FAST=1)" if fast else "default"
    lines = [
        f"# seqcourse results — {mode} mode",
        "",
        f"Measured {dt.date.today().isoformat()} on: {machine_description()}.",
        "",
        "| notebook | status | wall time | budget | parameters |",
        "|---|---|---|---|---|",
    ]
    for r in runs:
        status = "ok" if not r.problems() else "**FAILED**"
        budget = f"{r.budget:.0f} s" if r.budget else "—"
        lines.append(
            f"| {r.notebook} | {status} | {r.seconds:.1f} s | {budget} | "
            f"{_format_parameters(r.parameters)} |"
        )
    for r in runs:
        lines += ["", f"## {r.notebook}", ""]
        if r.problems():
            lines += [f"- problem: {p}" for p in r.problems()] + [""]
        lines += ["| metric | value | target | met |", "|---|---|---|---|"]
        target_by_name = {t.name: t for t in (r.targets.checked(fast) if r.targets else ())}
        for name in sorted(set(r.metrics) | set(target_by_name)):
            value = r.metrics.get(name)
            t = target_by_name.get(name)
            shown = "not recorded" if value is None else f"{value:.4g}"
            met = "—" if t is None else ("yes" if value is not None and t.met(value) else "**no**")
            lines.append(f"| {name} | {shown} | {t if t else '—'} | {met} |")
    return "\n".join(lines) + "\n"


def render_table(runs: list[NotebookRun]) -> str:
    """The final table printed to the terminal: one line per notebook."""
    width = max([len(r.notebook) for r in runs] + [8])
    lines = [f"{'notebook':{width}s}  status  {'time':>7s}  {'budget':>6s}  problems"]
    for r in runs:
        problems = r.problems()
        budget = f"{r.budget:.0f} s" if r.budget else "—"
        lines.append(
            f"{r.notebook:{width}s}  {'ok' if not problems else 'FAILED':6s}  "
            f"{r.seconds:5.1f} s  {budget:>6s}  {'; '.join(problems)}"
        )
    return "\n".join(lines)


class ProgressLine:
    """One live status line for the notebook being executed.

    On a terminal the line is rewritten every second (cells done / total, elapsed against the
    budget); elsewhere (CI logs, pipes) only the finished line is printed.
    """

    def __init__(self, label: str, budget: float | None, stream=None):
        self.label, self.budget = label, budget
        self.stream = stream or sys.stdout
        self.live = self.stream.isatty()
        self.cells = (0, 0)
        self.start = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, daemon=True)

    def __enter__(self) -> ProgressLine:
        if self.live:
            self._thread.start()
        return self

    def update(self, done: int, total: int) -> None:
        self.cells = (done, total)

    def _status(self) -> str:
        elapsed = time.monotonic() - self.start
        budget = f" of {self.budget:.0f} s" if self.budget else ""
        return f"{self.label}  cell {self.cells[0]}/{self.cells[1]}  {elapsed:.0f} s{budget}"

    def _tick(self) -> None:
        while not self._stop.wait(1.0):
            self.stream.write("\r\033[K" + self._status())
            self.stream.flush()

    def finish(self, text: str) -> None:
        """Replace the live line by its final text."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self.stream.write(("\r\033[K" if self.live else "") + f"{self.label}  {text}\n")
        self.stream.flush()

    def __exit__(self, *exc) -> None:
        self._stop.set()


def run(
    paths: list[Path],
    fast: bool,
    report: Path | None,
    out_dir: Path | None,
    parameters: dict[str, object] | None = None,
    stream=None,
) -> int:
    """Execute ``paths`` one after another, print progress and a final table, save the report.

    Returns 0 when every notebook ran without error within budget and met its targets.

    Raises:
        seqcourse.parameters.ParameterError: before anything runs, when a notebook lacks one
            of ``parameters``.
    """
    stream = stream or sys.stdout
    for path in paths:
        inject_parameters(nbformat.read(path, as_version=4), dict(parameters or {}), path.name)
    targets = load_targets()
    log_dir = (out_dir or Path("runs") / ("fast" if fast else "default")) / "logs"
    runs = []
    for n, path in enumerate(paths, 1):
        entry = targets.get(path.stem)
        label = f"[{n}/{len(paths)}] {path.stem}"
        with ProgressLine(label, entry.budget(fast) if entry else None, stream) as line:
            r = run_notebook(
                path,
                fast,
                out_dir,
                parameters=parameters,
                log=log_dir / f"{path.stem}.log",
                on_progress=line.update,
            )
            problems = r.problems()
            line.finish(
                f"{r.seconds:.1f} s  "
                + ("ok" if not problems else "FAILED: " + "; ".join(problems))
                + ("" if not r.error else f"\n    kernel log: {r.log}")
            )
        runs.append(r)
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(render_report(runs, fast), encoding="utf-8")
    stream.write("\n" + render_table(runs) + "\n")
    if report is not None:
        stream.write(f"\nfull report: {report}\n")
    stream.flush()
    return 0 if all(not r.problems() for r in runs) else 1
