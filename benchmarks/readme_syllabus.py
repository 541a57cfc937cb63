"""Write the README syllabus's "default-mode time" and "headline result" columns from the data.

The time is each notebook's wall time in ``docs/results.md`` (rounded to whole seconds); the
headline is its template in ``docs/headlines.toml`` with the placeholders filled in:

- ``{r:METRIC}``: the value of METRIC in the notebook's table of ``docs/results.md``, as printed
  there; ``{r:METRIC:SPEC}`` formats it with a Python format spec (``.3f``, ``.0%``, ``.0e``);
  ``pct`` is short for ``.1%`` ("9.3%").
- ``{c:METRIC}`` / ``{c:METRIC:SPEC}``: METRIC over the training seeds of
  ``docs/comparisons.json`` (``benchmarks/comparisons.py report``; METRIC is ``metric_a`` or
  ``metric_b`` of one of the notebook's comparisons), as "mean [min–max]", e.g.
  ``{c:gru_greedy_per:pct}`` -> "12.0% [11.2–13.1%]". Without a spec, ``.3g``.
- ``{cseeds:NOTEBOOK}``: how many seeds the notebook's comparisons ran (stem or "06").

Every other column of the table is kept as it is. Usage::

    python benchmarks/readme_syllabus.py           # rewrite README.md's syllabus table
    python benchmarks/readme_syllabus.py --check   # exit 1, naming the rows, if it is stale
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import tomllib
from pathlib import Path

from seqcourse.text_numbers import comparison_summary, read_comparisons, read_results

ROOT = Path(__file__).resolve().parent.parent

README = ROOT / "README.md"
RESULTS = ROOT / "docs" / "results.md"
COMPARISONS = ROOT / "docs" / "comparisons.json"
HEADLINES = ROOT / "docs" / "headlines.toml"
FIX = "python benchmarks/readme_syllabus.py"
TIME_COLUMN, HEADLINE_COLUMN = "default-mode time", "headline result"

_PLACEHOLDER = re.compile(r"\{(r|c|cseeds):([\w.-]+)(?::([^{}]*))?\}")


class SyllabusError(Exception):
    """A template or table that cannot be filled in; the message names what is missing."""


def _name(path: Path) -> str:
    """``path`` relative to the repository when it is inside it (for messages)."""
    path = Path(path).resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _where(path: Path) -> str:
    """``path`` for an error message, saying how to write it when it does not exist."""
    if Path(path).exists():
        return _name(path)
    return f"{_name(path)} (it does not exist: write it with `python benchmarks/comparisons.py report`)"


def _format(value: float, spec: str | None, default: str) -> str:
    """``value`` formatted with ``spec`` (``pct`` = ``.1%``), or with ``default``; exponents
    without a leading zero ("1e-6", not "1e-06")."""
    spec = {"pct": ".1%", None: default, "": default}.get(spec, spec)
    return re.sub(r"e([-+])0(\d)", r"e\1\2", format(value, spec))


def seeds_of(comparisons: dict, key: str, path: Path) -> int:
    """How many seeds the comparisons of notebook ``key`` (stem or number) ran."""
    found = {
        len(c["seeds"])
        for c in comparisons.get("comparisons", [])
        if c["notebook"] == key or c["notebook"].split("_")[0] == key
    }
    if not found:
        raise SyllabusError(f"no comparison of notebook {key!r} in {_where(path)}")
    if len(found) > 1:
        raise SyllabusError(
            f"the comparisons of {key!r} in {_name(path)} ran different numbers of seeds "
            f"({sorted(found)}): name one metric's seeds in the text instead"
        )
    return found.pop()


def fill(
    template: str,
    notebook: str,
    results: dict,
    comparisons: dict,
    results_path: Path = RESULTS,
    comparisons_path: Path = COMPARISONS,
) -> str:
    """``template`` with its placeholders replaced by ``notebook``'s numbers; a placeholder whose
    metric is missing raises :class:`SyllabusError` naming notebook, metric and file."""
    errors = []
    nb = results.get(notebook)

    def replace(m: re.Match) -> str:
        kind, name, spec = m.groups()
        try:
            if kind == "r":
                if nb is None or name not in nb.metrics:
                    raise SyllabusError(
                        f"{notebook}: {m.group(0)} — no metric {name!r} in the "
                        f"{notebook} section of {_name(results_path)}"
                    )
                if not spec:
                    return nb.texts[name]
                return _format(nb.metrics[name], spec, "g")
            if kind == "cseeds":
                try:
                    return str(seeds_of(comparisons, name, comparisons_path))
                except SyllabusError as e:
                    raise SyllabusError(f"{notebook}: {m.group(0)} — {e}") from None
            s = comparison_summary(comparisons, notebook, name)
            if s is None:
                raise SyllabusError(
                    f"{notebook}: {m.group(0)} — no comparison of {notebook} with metric "
                    f"{name!r} (as metric_a or metric_b) in {_where(comparisons_path)}"
                )
            mean, lo, hi = (_format(s[k], spec, ".3g") for k in ("mean", "min", "max"))
            if lo.endswith("%") and hi.endswith("%"):
                lo = lo[:-1]
            return f"{mean} [{lo}–{hi}]"
        except ValueError as e:
            errors.append(f"{notebook}: {m.group(0)} — bad format spec ({e})")
        except SyllabusError as e:
            errors.append(str(e))
        return m.group(0)

    text = _PLACEHOLDER.sub(replace, template)
    if "|" in text:
        errors.append(f"{notebook}: a headline cannot contain '|' (it splits the table row)")
    if errors:
        raise SyllabusError("\n".join(errors))
    return text


def read_headlines(path: Path = HEADLINES) -> dict[str, str]:
    """docs/headlines.toml: notebook stem -> headline template."""
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    return {stem: entry["headline"].strip() for stem, entry in data.items()}


def table_span(lines: list[str]) -> tuple[int, int]:
    """The [start, end) line range of the table under "## Syllabus" (header row first)."""
    heading = next((i for i, line in enumerate(lines) if line.strip() == "## Syllabus"), None)
    if heading is None:
        raise SyllabusError('README has no "## Syllabus" section')
    start = next((i for i in range(heading + 1, len(lines)) if lines[i].startswith("|")), None)
    if start is None:
        raise SyllabusError('README\'s "## Syllabus" section has no table')
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return start, end


def _split(row: str) -> list[str]:
    """A table row's raw cells (spacing kept), without the outer pipes."""
    return row.rstrip("\n").strip()[1:-1].split("|")


def syllabus(
    readme: str,
    results_path: Path = RESULTS,
    comparisons_path: Path = COMPARISONS,
    headlines_path: Path = HEADLINES,
) -> tuple[str, list[tuple[str, str, str, str]]]:
    """The README text with its syllabus filled in, and the cells that change as
    (notebook, column, old, new)."""
    results = read_results(results_path)
    comparisons = read_comparisons(comparisons_path)
    headlines = read_headlines(headlines_path)
    lines = readme.split("\n")
    start, end = table_span(lines)
    header = [c.strip() for c in _split(lines[start])]
    columns = {}
    for want in ("notebook", TIME_COLUMN, HEADLINE_COLUMN):
        hits = [i for i, h in enumerate(header) if h.startswith(want)]
        if len(hits) != 1:
            raise SyllabusError(f"the syllabus table has no single {want!r} column: {header}")
        columns[want] = hits[0]
    changes, errors, seen = [], [], set()
    for n in range(start + 2, end):
        cells = _split(lines[n])
        if len(cells) != len(header):
            raise SyllabusError(
                f"README line {n + 1}: {len(cells)} cells, header has {len(header)}"
            )
        stem = re.search(r"\b(\d\d_\w+)", cells[columns["notebook"]])
        if not stem:
            raise SyllabusError(f"README line {n + 1}: no notebook stem in its notebook cell")
        stem = stem.group(1)
        seen.add(stem)
        try:
            nb = results.get(stem)
            if nb is None or nb.wall_time is None:
                raise SyllabusError(f"{stem}: no wall time in {_name(results_path)}")
            if stem not in headlines:
                raise SyllabusError(f"{stem}: no headline in {_name(headlines_path)}")
            new = {
                TIME_COLUMN: f"{math.floor(nb.wall_time + 0.5)} s",
                HEADLINE_COLUMN: fill(
                    headlines[stem], stem, results, comparisons, results_path, comparisons_path
                ),
            }
        except SyllabusError as e:
            errors.append(str(e))
            continue
        for column, value in new.items():
            i = columns[column]
            if cells[i].strip() != value:
                changes.append((stem, column, cells[i].strip(), value))
                cells[i] = f" {value} "
        lines[n] = "|" + "|".join(cells) + "|"
    errors += [
        f"{stem}: in {_name(headlines_path)} but not in the README's syllabus"
        for stem in sorted(set(headlines) - seen)
    ]
    if errors:
        raise SyllabusError("\n".join(errors))
    return "\n".join(lines), changes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if README.md is stale")
    parser.add_argument("--readme", type=Path, default=README)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--comparisons", type=Path, default=COMPARISONS)
    parser.add_argument("--headlines", type=Path, default=HEADLINES)
    args = parser.parse_args(argv)
    try:
        text, changes = syllabus(
            args.readme.read_text(encoding="utf-8"), args.results, args.comparisons, args.headlines
        )
    except SyllabusError as e:
        print(f"cannot fill the README syllabus:\n{e}", file=sys.stderr)
        return 2
    if args.check:
        if not changes:
            print(f"{_name(args.readme)}: the syllabus is up to date")
            return 0
        print(f"{_name(args.readme)}'s syllabus is out of date in these rows:", file=sys.stderr)
        for stem, column, old, new in changes:
            print(f"- {stem}, {column}:\n    now:    {old}\n    should: {new}", file=sys.stderr)
        print(f"Run `{FIX}` to rewrite it.", file=sys.stderr)
        return 1
    args.readme.write_text(text, encoding="utf-8")
    print(f"{_name(args.readme)}: {len(changes)} cell(s) rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
