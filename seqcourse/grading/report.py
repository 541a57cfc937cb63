"""``grades/report.html``: a class's grading run at a glance, for the instructor.

One static page (no script, no server, no file beside it: the charts are PNGs drawn with
matplotlib and embedded as data URIs), written by every ``seqcourse grade`` run and by
``seqcourse grade merge``:

* the distribution of totals (a histogram, with the mean and median);
* per exercise, the share of submissions with full marks, partial marks, zero, and not
  attempted (a stacked bar per exercise, and the same numbers in a table);
* per test, its pass rate and its most frequent failure messages, grouped (numbers in a message
  are replaced by ``#``, so "expected 3, got 5" and "expected 4, got 7" are one group);
* the submissions that errored, timed out or were not fully graded, with the reason.

Everything that comes from a submission (names, messages) is HTML-escaped: a student's
exception text is shown, never run.
"""

from __future__ import annotations

import base64
import collections
import html
import io
import re
from pathlib import Path

from seqcourse.grading.notebook_format import Assignment
from seqcourse.grading.results import NOT_ATTEMPTED, SubmissionResult, write_atomic

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")
GROUPS_SHOWN = 3  # failure messages shown per test


def _figure(height: float):
    """A figure and its axes, drawn without pyplot (no backend, no global state; matplotlib is
    imported only when a report is drawn)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, height))
    return fig, fig.subplots()


def _png(fig) -> str:
    """``fig`` as an ``<img>`` with a PNG data URI."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    data = base64.b64encode(buffer.getvalue()).decode()
    return f'<img alt="chart" src="data:image/png;base64,{data}">'


def _kind(score, points: float) -> str:
    if score.status == NOT_ATTEMPTED:
        return "not attempted"
    if score.score >= points:
        return "full"
    return "partial" if score.score > 0 else "zero"


KINDS = ("full", "partial", "zero", "not attempted")
COLOURS = ("#2e7d32", "#f9a825", "#c62828", "#9e9e9e")


def exercise_shares(results: list[SubmissionResult], assignment: Assignment) -> dict:
    """``{exercise: {kind: share}}``, kinds :data:`KINDS`, shares of ``results`` summing to 1."""
    shares = {}
    for ex_id, ex in assignment.exercises.items():
        kinds = collections.Counter(_kind(r.exercises[ex_id], ex.points) for r in results)
        shares[ex_id] = {k: kinds[k] / max(1, len(results)) for k in KINDS}
    return shares


def failures_by_test(results: list[SubmissionResult]) -> list[dict]:
    """Per test (exercise, name): runs, pass rate, and failure messages grouped with counts,
    most frequent first. Tests of exercises not attempted are left out (nothing ran)."""
    runs: dict = collections.defaultdict(lambda: {"runs": 0, "passed": 0,
                                                   "messages": collections.Counter()})  # fmt: skip
    for r in results:
        for ex_id, score in r.exercises.items():
            if score.status == NOT_ATTEMPTED:
                continue
            for test in score.tests:
                entry = runs[(ex_id, test.get("name", "test"))]
                entry["runs"] += 1
                if test.get("passed"):
                    entry["passed"] += 1
                else:
                    entry["messages"][_NUMBER.sub("#", test.get("message", ""))[:300]] += 1
    return [
        {
            "exercise": ex_id,
            "test": name,
            "runs": e["runs"],
            "pass_rate": e["passed"] / e["runs"],
            "failures": e["messages"].most_common(),
        }  # fmt: skip
        for (ex_id, name), e in runs.items()
    ]


def render(results: list[SubmissionResult], assignment: Assignment) -> str:
    """The report of ``results`` (one per submission) as an HTML page."""
    import matplotlib.ticker

    e = html.escape
    totals = sorted(r.total for r in results)
    mean = sum(totals) / len(totals) if totals else 0.0
    median = totals[len(totals) // 2] if totals else 0.0
    fig, ax = _figure(2.8)
    top = assignment.total_points
    # one bar per whole point (centred on it) up to 30 points, else 20 bars
    bins = [k - 0.5 for k in range(int(top) + 2)] if top <= 30 else 20
    ax.hist(totals, bins=bins, range=(0, top), color="#1565c0", rwidth=0.85)
    ax.set(xlabel=f"total (of {assignment.total_points:g})", ylabel="submissions")
    ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.axvline(mean, color="k", linestyle="--", label=f"mean {mean:.1f}")
    ax.legend()
    histogram = _png(fig)

    shares = exercise_shares(results, assignment)
    fig, ax = _figure(0.45 * len(shares) + 1.2)
    left = [0.0] * len(shares)
    names = list(shares)
    for kind, colour in zip(KINDS, COLOURS, strict=True):
        values = [shares[x][kind] for x in names]
        ax.barh(names, values, left=left, color=colour, label=kind)
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.invert_yaxis()
    ax.set(xlabel="share of submissions", xlim=(0, 1))
    ax.legend(ncol=4, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    bars = _png(fig)

    rows = "".join(
        f"<tr><td>{e(x)}</td><td>{assignment.exercises[x].points:g}</td>"
        + "".join(f"<td>{s[k]:.0%}</td>" for k in KINDS)
        + "</tr>"
        for x, s in shares.items()
    )
    tests = sorted(failures_by_test(results), key=lambda t: (t["pass_rate"], t["exercise"]))
    test_rows = "".join(
        f"<tr><td>{e(t['exercise'])}</td><td>{e(t['test'])}</td><td>{t['runs']}</td>"
        f"<td>{t['pass_rate']:.0%}</td><td><ul>"
        + "".join(f"<li>{n} × {e(m) or '(no message)'}</li>" for m, n in t["failures"][:GROUPS_SHOWN])
        + (f"<li>… {len(t['failures']) - GROUPS_SHOWN} more</li>" if len(t["failures"]) > GROUPS_SHOWN else "")
        + "</ul></td></tr>"
        for t in tests
    )  # fmt: skip
    trouble = [r for r in results if r.status != "graded"]
    trouble_rows = "".join(
        f"<tr><td>{e(r.submission)}</td><td>{e(r.status)}</td><td>{r.total:g}</td>"
        f"<td>{e(r.reason or r.summary())}</td></tr>"
        for r in trouble
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{e(assignment.name)}: grading report</title>
<style>
body {{font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222}}
table {{border-collapse: collapse; margin: 1em 0}}
td, th {{border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top}}
th {{background: #f0f0f0}} ul {{margin: 0; padding-left: 1.2em}}
</style></head><body>
<h1>{e(assignment.name)}: {len(results)} submission(s)</h1>
<p>Mean {mean:.2f}, median {median:g} of {assignment.total_points:g} points;
{sum(t == assignment.total_points for t in totals)} with full marks,
{len(trouble)} errored, timed out or not fully graded.</p>
<h2>Totals</h2>{histogram}
<h2>Exercises</h2>{bars}
<table><tr><th>exercise</th><th>points</th>{"".join(f"<th>{k}</th>" for k in KINDS)}</tr>{rows}</table>
<h2>Tests, least passed first</h2>
<table><tr><th>exercise</th><th>test</th><th>runs</th><th>passed</th>
<th>most frequent failures (numbers shown as #)</th></tr>{test_rows}</table>
<h2>Submissions that errored, timed out or were not fully graded</h2>
{f"<table><tr><th>submission</th><th>status</th><th>total</th><th>reason</th></tr>{trouble_rows}</table>" if trouble else "<p>None.</p>"}
</body></html>
"""


def write_report(results: list[SubmissionResult], assignment: Assignment, path: Path) -> None:
    """Write :func:`render`'s page to ``path`` (atomically)."""
    write_atomic(Path(path), render(results, assignment))
