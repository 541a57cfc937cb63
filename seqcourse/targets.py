"""The course's learning targets and time budgets, read from ``seqcourse/targets.toml``."""

from __future__ import annotations

import operator
import tomllib
from dataclasses import dataclass, field
from importlib import resources

_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}


@dataclass(frozen=True)
class Target:
    """One metric a notebook must reach, e.g. ``delayed_recall_accuracy >= 0.95``."""

    name: str
    op: str
    threshold: float

    def met(self, value: float) -> bool:
        """True when ``value`` satisfies the target."""
        return _OPS[self.op](value, self.threshold)

    def __str__(self) -> str:
        return f"{self.op} {self.threshold:g}"


@dataclass(frozen=True)
class NotebookTargets:
    """The targets and time budgets of one notebook.

    ``targets`` are what default mode must reach (the benchmark); ``fast_targets`` are cheap
    signs of learning that fast mode must show (checked whenever the test suite executes the
    notebook), e.g. validation loss after training below the loss before.
    """

    notebook: str
    budget_s: float
    fast_budget_s: float
    targets: tuple[Target, ...] = field(default=())
    fast_targets: tuple[Target, ...] = field(default=())

    def budget(self, fast: bool) -> float:
        """The wall-time budget in seconds for the given mode."""
        return self.fast_budget_s if fast else self.budget_s

    def checked(self, fast: bool) -> tuple[Target, ...]:
        """The targets whose values are checked in the given mode."""
        return self.fast_targets if fast else self.targets

    def problems(self, metrics: dict[str, float], fast: bool) -> list[str]:
        """What a run of the given mode with ``metrics`` misses: a checked target not met, or
        a required metric (:meth:`required_metrics`) not recorded."""
        found = []
        checked = {t.name: t for t in self.checked(fast)}
        for name in self.required_metrics(fast):
            if name not in metrics:
                found.append(f"{name} was not recorded")
            elif name in checked and not checked[name].met(metrics[name]):
                found.append(f"{name} = {metrics[name]:.4g}, target {checked[name]}")
        return found

    def table(self, metrics: dict[str, float], fast: bool) -> str:
        """A run's metrics against the targets of its mode, one line per required metric."""
        checked = {t.name: t for t in self.checked(fast)}
        names = self.required_metrics(fast) + sorted(
            set(metrics) - set(self.required_metrics(fast))
        )
        width = max(len(n) for n in [*names, "metric"])
        lines = [f"  {'metric':{width}s}  {'value':>10s}  {'target':10s}  verdict"]
        for name in names:
            value = f"{metrics[name]:.4g}" if name in metrics else "-"
            target = checked.get(name)
            if name not in metrics:
                verdict = "NOT RECORDED" if name in self.required_metrics(fast) else ""
            elif target is not None:
                verdict = "met" if target.met(metrics[name]) else "MISSED"
            else:
                verdict = "recorded (its target is checked in default mode)" if name in {
                    t.name for t in self.targets} else "recorded (no target)"  # fmt: skip
            lines.append(f"  {name:{width}s}  {value:>10s}  {str(target or ''):10s}  {verdict}")
        return "\n".join(lines)

    def required_metrics(self, fast: bool) -> list[str]:
        """Metrics a run must record: in fast mode those of both tables, so that a renamed
        metric fails the test suite and not only the default-mode benchmark."""
        names = [t.name for t in self.checked(fast)]
        if fast:
            names += [t.name for t in self.targets if t.name not in names]
        return names


def parse_target(name: str, text: str) -> Target:
    """Parse ``">= 0.95"`` into a :class:`Target`; raise ValueError naming the bad entry."""
    parts = str(text).split()
    if len(parts) != 2 or parts[0] not in _OPS:
        raise ValueError(
            f"target {name!r} = {text!r}: write it as '<op> <number>' with op one of {sorted(_OPS)}"
        )
    try:
        threshold = float(parts[1])
    except ValueError as err:
        raise ValueError(f"target {name!r} = {text!r}: {parts[1]!r} is not a number") from err
    return Target(name, parts[0], threshold)


def load_targets(text: str | None = None) -> dict[str, NotebookTargets]:
    """Read every notebook's targets (from the packaged file, or from ``text`` for tests)."""
    if text is None:
        text = resources.files("seqcourse").joinpath("targets.toml").read_text(encoding="utf-8")
    raw = tomllib.loads(text)
    table = {}
    for notebook, entry in raw.items():
        try:
            budget, fast_budget = float(entry["budget_s"]), float(entry["fast_budget_s"])
        except KeyError as err:
            raise ValueError(f"targets for {notebook!r} lack {err.args[0]!r}") from err
        targets, fast_targets = (
            tuple(parse_target(n, t) for n, t in entry.get(key, {}).items())
            for key in ("targets", "fast_targets")
        )
        table[notebook] = NotebookTargets(notebook, budget, fast_budget, targets, fast_targets)
    return table


class TargetsMissed(AssertionError):
    """A notebook run missed a target of its mode, or did not record a targeted metric."""


def check_targets(notebook: str, strict: bool | None = None) -> list[str]:
    """The last cell of every notebook: print this run's recorded metrics (``runtime.record``)
    against ``notebook``'s targets for the mode it ran in (fast or default) and return what
    was missed. With ``strict`` (default: ``SEQCOURSE_STRICT_TARGETS=1``, which the test suite
    sets; never while grading) a miss raises :class:`TargetsMissed` with the same table, so
    nbval fails the notebook.

    Raises:
        KeyError: if ``notebook`` has no entry in ``seqcourse/targets.toml``.
        TargetsMissed: if strict and a target was missed or not recorded.
    """
    from seqcourse import runtime

    table = load_targets()
    if notebook not in table:
        raise KeyError(
            f"{notebook!r} has no entry in seqcourse/targets.toml (known: {sorted(table)})"
        )
    targets, fast, metrics = table[notebook], runtime.is_fast(), runtime.recorded()
    missed = targets.problems(metrics, fast)
    mode = "fast" if fast else "default"
    head = f"{notebook}, {mode} mode: " + (
        f"{len(missed)} target(s) missed" if missed else "every target met"
    )
    report = f"{head}\n{targets.table(metrics, fast)}"
    if missed and (runtime.strict_targets() if strict is None else strict):
        raise TargetsMissed(report)
    print(report)
    return missed
