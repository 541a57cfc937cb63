"""The recorded results, and the numbers that notebook text quotes from them.

Reads ``docs/results.md`` (the latest ``seqcourse run --all`` report) and
``docs/comparisons.json`` (``benchmarks/comparisons.py report``: mean and min–max over training
seeds), which ``benchmarks/readme_syllabus.py`` fills the README's syllabus from, and checks
the numbers that the notebooks' markdown cells quote against them (``tests/test_text_numbers.py``).

A quoted number is a decimal ("0.93", "12.0") or a percentage ("12%", "9.3 %", both ends
of "13.5–14.7%"), outside LaTeX, code, link targets and exercise ids. It passes when it
is allow-listed in ``docs/text_numbers.toml`` (numbers that are not results, each with a
reason), when it equals a recorded value of its notebook within half a unit of its last printed
digit (a percentage is compared with 100× the value), or when it appears verbatim in a
``docs/*.md`` file that its cell names. Integers without "%" (sizes, epochs, counts) and
numbers in scientific notation are never checked.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "results.md"
COMPARISONS = ROOT / "docs" / "comparisons.json"
ALLOW_LIST = ROOT / "docs" / "text_numbers.toml"

_NUMBER = r"\d+(?:\.\d+)?"
_TARGET = re.compile(r"^(<=|>=|<|>|=)\s*(\S+)$")


# ------------------------------------------------------------------ recorded results


@dataclass
class NotebookResults:
    """One notebook's rows of docs/results.md."""

    wall_time: float | None = None  # seconds, from the first table
    budget: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)  # metric -> value
    texts: dict[str, str] = field(default_factory=dict)  # metric -> value as printed
    targets: dict[str, float] = field(default_factory=dict)  # metric -> its target's threshold


def _cells(line: str) -> list[str]:
    """The stripped cells of a markdown table row."""
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _seconds(text: str) -> float | None:
    """``"197.3 s"`` -> 197.3; None when the cell is not a time."""
    m = re.fullmatch(r"([\d.]+)\s*s", text)
    return float(m.group(1)) if m else None


def read_results(path: Path = RESULTS) -> dict[str, NotebookResults]:
    """Parse docs/results.md: notebook stem -> its wall time, budget, metrics and targets."""
    out: dict[str, NotebookResults] = {}
    section = None
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
            out.setdefault(section, NotebookResults())
            continue
        if not line.startswith("|") or set(line) <= set("|-: "):
            continue
        cells = _cells(line)
        if section is None and len(cells) >= 4 and cells[0] != "notebook":
            nb = out.setdefault(cells[0], NotebookResults())
            nb.wall_time, nb.budget = _seconds(cells[2]), _seconds(cells[3])
        elif section is not None and len(cells) >= 3 and cells[0] != "metric":
            nb = out[section]
            try:
                nb.metrics[cells[0]] = float(cells[1])
                nb.texts[cells[0]] = cells[1]
            except ValueError:
                continue
            target = _TARGET.match(cells[2])
            if target:
                try:
                    nb.targets[cells[0]] = float(target.group(2))
                except ValueError:
                    pass
    return out


def read_comparisons(path: Path = COMPARISONS) -> dict:
    """docs/comparisons.json as written by ``benchmarks/comparisons.py report``; empty when the
    file does not exist yet."""
    path = Path(path)
    if not path.exists():
        return {"comparisons": []}
    return json.loads(path.read_text(encoding="utf-8"))


def comparison_summary(data: dict, notebook: str, metric: str) -> dict | None:
    """The seed summary (mean, min, max, values) of ``metric`` in ``notebook``'s comparisons."""
    for c in data.get("comparisons", []):
        if c["notebook"] != notebook:
            continue
        if c["metric_a"] == metric:
            return c["a_summary"]
        if c["metric_b"] and c["metric_b"] == metric:
            return c["b_summary"]
    return None


def recorded_values(
    notebook: str, results: dict[str, NotebookResults], comparisons: dict
) -> list[float]:
    """Every number recorded for ``notebook``: its metrics and target thresholds in
    docs/results.md, its wall time and budget, and each mean/min/max/per-seed value (and
    difference) of its comparisons in docs/comparisons.json (not the constant 1 that a ratio
    metric is compared with)."""
    values: list[float] = []
    nb = results.get(notebook)
    if nb is not None:
        values += [*nb.metrics.values(), *nb.targets.values()]
        values += [v for v in (nb.wall_time, nb.budget) if v is not None]
    for c in comparisons.get("comparisons", []):
        if c["notebook"] == notebook:
            for key in ("a_summary", "b_summary", "difference"):
                if key == "b_summary" and not c["metric_b"]:
                    continue
                s = c[key]
                values += [s["mean"], s["min"], s["max"], *s.get("values", [])]
    return values


# ------------------------------------------------------------------ numbers in text


@dataclass(frozen=True)
class Quoted:
    """A number quoted in text: its characters ("9.3"), whether it is a percentage, and where."""

    text: str
    percent: bool
    start: int
    end: int

    @property
    def key(self) -> str:
        """How the allow-list writes it: "0.5", "12%"."""
        return self.text + ("%" if self.percent else "")


def _blank(text: str, pattern: str | re.Pattern, flags: int = 0) -> str:
    """``text`` with every match of ``pattern`` replaced by spaces (offsets are kept)."""
    return re.sub(pattern, lambda m: re.sub(r"\S", " ", m.group(0)), text, flags=flags)


def mask(text: str, exercise_ids: Iterable[str] = ()) -> str:
    """``text`` with what is not prose blanked out: fenced code, $$…$$ and $…$ LaTeX, inline
    code, link targets ``](…)``, bare URLs, HTML tags, and exercise ids ("Exercise 3.1"
    anywhere, and each of ``exercise_ids`` on its own, e.g. "6.1" in notebook 06)."""
    text = _blank(text, r"```.*?```|~~~.*?~~~", re.S)
    text = _blank(text, r"\$\$.*?\$\$", re.S)
    text = _blank(text, r"`[^`\n]*`")
    text = _blank(text, r"(?<!\\)\$(?:[^$\n]|\n(?![ \t]*\n))+?(?<!\\)\$")  # within a paragraph
    text = _blank(text, r"\]\([^)\s]*\)")
    text = _blank(text, r"https?://\S+|</?[A-Za-z][^>\n]*>")
    text = _blank(
        text, r"\b(?:exercises?|ex\.)\s+\d+\.\d+(?:(?:\s*(?:,|and|or|&|–|-)\s*)\d+\.\d+)*", re.I
    )
    for id_ in exercise_ids:
        text = _blank(text, rf"(?<![\w.,]){re.escape(id_)}(?![\d%]|\.\d|\s?%)")
    return text


_QUOTED = re.compile(
    rf"(?<![\w.])(?<!\d,)({_NUMBER})(?![\d.]\d|\d|[eE][-+]?\d)"
    rf"(\s?%|\s?[–-]\s?{_NUMBER}\s?%)?"
)


def extract(text: str, exercise_ids: Iterable[str] = ()) -> list[Quoted]:
    """The decimals and percentages that ``text`` quotes, outside what :func:`mask` removes."""
    found = []
    for m in _QUOTED.finditer(mask(text, exercise_ids)):
        percent = m.group(2) is not None
        if percent or "." in m.group(1):
            found.append(Quoted(m.group(1), percent, m.start(1), m.end(1)))
        if m.group(2) and m.group(2).strip()[0] in "–-":  # the second number of "13.5–14.7%"
            second = re.search(_NUMBER, m.group(2))
            start = m.start(2) + second.start()
            found.append(Quoted(second.group(0), True, start, start + len(second.group(0))))
    return found


def half_unit(text: str) -> float:
    """Half a unit of the last printed digit: "0.93" -> 0.005, "12" -> 0.5."""
    decimals = len(text.split(".")[1]) if "." in text else 0
    return 0.5 * 10.0**-decimals


def matches(q: Quoted, values: list[float]) -> bool:
    """Whether ``q`` equals one of ``values`` (compared in absolute value) within half a unit
    of its last printed digit; a percentage is compared with 100× the value."""
    x, tol = float(q.text), half_unit(q.text) * (1 + 1e-9)
    scale = 100.0 if q.percent else 1.0
    return any(abs(abs(v) * scale - x) <= tol for v in values)


def named_docs(source: str, docs: Path) -> list[Path]:
    """The docs/*.md files that a cell names by path (in text or in a link target)."""
    names = sorted(set(re.findall(r"docs/([\w.-]+\.md)\b", source)))
    return [docs / n for n in names if (docs / n).is_file()]


def in_doc(q: Quoted, doc_text: str) -> bool:
    """Whether ``q``'s digits appear verbatim, as a whole number, in ``doc_text``."""
    return re.search(rf"(?<![\d.]){re.escape(q.text)}(?![\d]|\.\d)", doc_text) is not None


# ------------------------------------------------------------------ the notebook check


@dataclass(frozen=True)
class Flagged:
    """A quoted number that matches no recorded result, allow-list entry or named doc."""

    notebook: str
    cell: int
    number: str
    sentence: str

    def __str__(self) -> str:
        return f"{self.notebook} cell {self.cell}: {self.number!r} in “{self.sentence}”"


def read_allow_list(path: Path = ALLOW_LIST) -> dict[str, dict[str, str]]:
    """docs/text_numbers.toml: notebook stem -> {number: why}."""
    path = Path(path)
    if not path.exists():
        return {}
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return {
        stem: {str(e["number"]).replace(" ", ""): e.get("why", "") for e in entries}
        for stem, entries in data.items()
    }


def context(text: str, start: int, end: int, width: int = 80) -> str:
    """About ``width`` characters of ``text`` around ``start:end``, on one line."""
    pad = max(0, (width - (end - start)) // 2)
    a, b = max(0, start - pad), min(len(text), end + pad)
    snippet = " ".join(text[a:b].split())
    return ("…" if a > 0 else "") + snippet + ("…" if b < len(text) else "")


def check_cells(
    notebook: str,
    cells: list[tuple[int, str]],
    values: list[float],
    allowed: dict[str, str],
    docs: Path,
    exercise_ids: Iterable[str] = (),
) -> list[Flagged]:
    """The numbers of ``cells`` ((index, markdown source) pairs of ``notebook``) that pass none
    of: the allow-list, a recorded value, a docs/*.md file the cell names."""
    flagged = []
    for index, source in cells:
        doc_texts = [p.read_text(encoding="utf-8") for p in named_docs(source, docs)]
        for q in extract(source, exercise_ids):
            if q.key in allowed or matches(q, values) or any(in_doc(q, t) for t in doc_texts):
                continue
            flagged.append(Flagged(notebook, index, q.key, context(source, q.start, q.end)))
    return flagged


def read_cells(path: Path) -> list[tuple[int, str, str]]:
    """(cell index, cell type, source) of every cell of a notebook file."""
    cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
    return [
        (i, c["cell_type"], "".join(c["source"]) if isinstance(c["source"], list) else c["source"])
        for i, c in enumerate(cells)
    ]


def exercise_ids(cells: list[tuple[int, str, str]]) -> set[str]:
    """The exercise ids a notebook declares: ``check("6.1", …)`` calls and "Exercise 6.1"."""
    text = "\n".join(source for _, _, source in cells)
    return set(re.findall(r"check\(\s*[\"'](\d+\.\d+)[\"']", text)) | set(
        re.findall(r"\bExercise\s+(\d+\.\d+)", text)
    )


def check_notebook(
    path: Path,
    results: Path = RESULTS,
    comparisons: Path = COMPARISONS,
    allow_list: Path = ALLOW_LIST,
) -> list[Flagged]:
    """The flagged numbers of one notebook against the given results and allow-list."""
    stem = Path(path).stem
    values = recorded_values(stem, read_results(results), read_comparisons(comparisons))
    allowed = read_allow_list(allow_list).get(stem, {})
    cells = read_cells(path)
    markdown = [(i, source) for i, kind, source in cells if kind == "markdown"]
    docs = Path(results).parent
    return check_cells(stem, markdown, values, allowed, docs, exercise_ids(cells))


HOW_TO_FIX = (
    "Each number above looks like a result but matches nothing recorded for its notebook in "
    "docs/results.md or docs/comparisons.json (within half a unit of its last digit). Either "
    "print it from the run in a code cell instead of typing it, quote the benchmark table and "
    "name its file in the same cell (e.g. docs/speech_loso.md), or, if it is not a result "
    "(a hyper-parameter, a constant, a published figure with its citation), add it to "
    "docs/text_numbers.toml with a reason."
)
