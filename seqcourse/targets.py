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
