"""The course's headline comparisons ("A beats B") over several training seeds.

Each comparison is one notebook run in default mode: the notebook itself is the experiment.
``run`` executes every notebook of :data:`COMPARISONS` once per seed with ``-p SEED=<seed>``
(the notebook's seed of initial weights and batch order; the data stay fixed) and appends one
JSON line per run (notebook, seed, seconds, recorded metrics, error) to ``--out``, skipping the
(notebook, seed) pairs already there, so an interrupted sweep resumes where it stopped.

``lr-search`` runs notebook 11 once per peak learning rate of ``--rates``, with the same rate
for both models (each model's result does not depend on the other's rate), shortened to the
race itself (one epoch of the order task, the shortest timing length, 200 test words), and
records each model's validation PER at the end of its time budget; the notebook's two
learning-rate parameters are then set to each model's best rate.

``results`` puts the seed-0 runs (the notebooks' defaults) of the given notebooks into
``docs/results.md`` in place of their earlier rows and sections, as ``seqcourse run`` would have
written them, and says so under the table.

``rows-from-docs`` writes the per-seed values behind the committed ``docs/comparisons.json`` (and
its learning-rate search) back out as rows, leaving out ``--except`` notebooks: the runs file is
not committed, so a sweep that reruns some notebooks starts from these and reports all of them.

``report`` writes ``docs/comparisons.md`` (mean and min–max over seeds of every metric
compared, and whether the ranges overlap) and ``docs/comparisons.json`` (the same numbers, for
the README's generator and the text checks).

Usage::

    python benchmarks/comparisons.py run --seeds 0 1 2 --out runs/comparisons.jsonl
    python benchmarks/comparisons.py run --notebooks 05 12 --seeds 0 1 2 --out runs/comparisons.jsonl
    python benchmarks/comparisons.py lr-search --rates 1e-3 2e-3 4e-3 8e-3 --out runs/comparisons.jsonl
    python benchmarks/comparisons.py results runs/comparisons.jsonl --notebooks 05 06
    python benchmarks/comparisons.py rows-from-docs --except 06 07 --out runs/comparisons.jsonl
    python benchmarks/comparisons.py report runs/comparisons.jsonl
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
DOCS = ROOT / "docs"


@dataclass(frozen=True)
class Comparison:
    """One headline claim: model ``a`` against model ``b`` on ``metric_a`` / ``metric_b``."""

    notebook: str
    claim: str
    a: str
    metric_a: str
    b: str
    metric_b: str
    higher_is_better: bool


COMPARISONS = [
    Comparison(
        "03_sentiment",
        "test accuracy",
        "LSTM",
        "lstm_test_accuracy",
        "bag of words",
        "bow_test_accuracy",
        True,
    ),
    Comparison(
        "03_sentiment",
        "order-probe accuracy",
        "LSTM",
        "lstm_probe_accuracy",
        "bag of words",
        "bow_probe_accuracy",
        True,
    ),
    *(  # section 8 of notebook 03: each model against the bag of words, on both kinds of split
        Comparison(
            "03_sentiment",
            f"real sentences, {split}: test accuracy",
            model,
            f"real_{kind}_{key}_accuracy",
            "bag of words",
            f"real_{kind}_bow_accuracy",
            True,
        )
        for key, model in (
            ("lstm", "LSTM"),
            ("bilstm", "bidirectional LSTM"),
            ("bigrams", "words + word pairs"),
            ("chars", "character 2-4-grams"),
        )
        for kind, split in (("mixed", "mixed split"), ("by_source", "unseen source (mean of 3)"))
    ),  # fmt: skip
    Comparison(
        "03_sentiment",
        "negation pairs written for the notebook: share of pairs right",
        "LSTM",
        "real_negation_lstm_pairs",
        "bag of words",
        "real_negation_bow_pairs",
        True,
    ),
    Comparison(
        "05_sequence_tagging",
        "period F1, words with a next word",
        "BiLSTM",
        "bilstm_inner_period_f1",
        "LSTM",
        "lstm_inner_period_f1",
        True,
    ),
    Comparison(
        "05_sequence_tagging",
        "period F1, all words",
        "BiLSTM",
        "bilstm_period_f1",
        "LSTM",
        "lstm_period_f1",
        True,
    ),
    Comparison(
        "06_seq2seq_attention",
        "greedy PER (same epochs)",
        "attention",
        "attention_greedy_per",
        "no attention",
        "no_attention_greedy_per",
        False,
    ),
    Comparison(
        "06_seq2seq_attention",
        "greedy WER (same epochs)",
        "attention",
        "attention_greedy_wer",
        "no attention",
        "no_attention_greedy_wer",
        False,
    ),
    Comparison(
        "07_image_captioning",
        "greedy BLEU-4 (same epochs)",
        "attention",
        "attention_greedy_bleu4",
        "one vector",
        "plain_greedy_bleu4",
        True,
    ),
    Comparison(
        "07_image_captioning",
        "greedy exact match (same epochs)",
        "attention",
        "attention_greedy_exact_match",
        "one vector",
        "plain_greedy_exact_match",
        True,
    ),
    Comparison(
        "09_video_activity",
        "accuracy on reversed pairs",
        "CNN + GRU",
        "gru_pair_accuracy",
        "frame averaging",
        "frame_average_pair_accuracy",
        True,
    ),
    Comparison(
        "10_time_series",
        "26-week MAE / last value's",
        "GRU (direct)",
        "gru_mae_ratio_last_value",
        "last value",
        "",
        False,
    ),
    Comparison(
        "10_time_series",
        "26-week MAE / ARIMA's",
        "GRU (direct)",
        "gru_mae_ratio_arima",
        "ARIMA + yearly cycle",
        "",
        False,
    ),
    Comparison(
        "10_time_series",
        "26-week MAE / linear model's",
        "GRU (direct)",
        "gru_mae_ratio_linear",
        "linear",
        "",
        False,
    ),
    Comparison(
        "11_transformer",
        "greedy PER, same seconds",
        "GRU + attention",
        "gru_greedy_per",
        "Transformer",
        "transformer_greedy_per",
        False,
    ),
    Comparison(
        "12_parallel_recurrences",
        "adding MSE, same width",
        "GRU",
        "gru_adding_mse",
        "minGRU",
        "mingru_adding_mse",
        False,
    ),
    Comparison(
        "12_parallel_recurrences",
        "adding MSE, same weights",
        "GRU",
        "gru_adding_mse",
        "wide minGRU",
        "wide_mingru_adding_mse",
        False,
    ),
    Comparison(
        "12_parallel_recurrences",
        "adding MSE, minGRU gate bias -3 vs 0",
        "minGRU, bias -3",
        "biased_mingru_adding_mse",
        "minGRU",
        "mingru_adding_mse",
        False,
    ),
    Comparison(
        "12_parallel_recurrences",
        "LM bits/char, same width",
        "GRU",
        "gru_bpc",
        "minGRU",
        "mingru_bpc",
        False,
    ),
    Comparison(
        "12_parallel_recurrences",
        "LM bits/char, same weights",
        "GRU",
        "gru_bpc",
        "wide minGRU",
        "wide_mingru_bpc",
        False,
    ),
]
"""A ratio metric (``metric_b`` empty) compares ``a`` with ``b`` against 1.0."""

LR_SEARCH_PARAMETERS = {
    "ORDER_EPOCHS": 1,
    "TIMING_LENGTHS": (16,),
    "TEST_WORDS": 200,
    "BEAM_WORDS": 20,
}
LR_SEARCH_METRICS = {"GRU + attention": "gru_val_per", "Transformer": "transformer_val_per"}


def notebook_path(key: str) -> Path:
    """``"05"`` or ``"05_sequence_tagging"`` -> the master notebook's path."""
    matches = sorted(NOTEBOOKS.glob(f"{key.split('_')[0]}_*.ipynb"))
    if len(matches) != 1:
        raise SystemExit(f"no single notebook matches {key!r} in {NOTEBOOKS}")
    return matches[0]


def read_rows(path: Path) -> list[dict]:
    """The JSON lines of ``path`` (none when it does not exist)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _execute(path: Path, parameters: dict, out: Path, extra: dict) -> dict:
    from seqcourse.runner import machine_description, run_notebook

    result = run_notebook(
        path,
        fast=False,
        out_dir=None,
        parameters=parameters,
        log=ROOT / "runs" / "comparisons" / f"{path.stem}.log",
    )
    row = {
        **extra,
        "notebook": path.stem,
        "parameters": {k: repr(v) for k, v in parameters.items()},
        "seconds": result.seconds,
        "error": result.error,
        "metrics": result.metrics,
        "machine": machine_description(),
        "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    with out.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(row) + "\n")
    status = f"ERROR {result.error}" if result.error else "ok"
    print(f"{path.stem} {extra} {result.seconds:.0f} s {status}", flush=True)
    return row


def run_seeds(notebooks: list[str], seeds: list[int], out: Path) -> None:
    """Run every notebook once per seed (default mode), skipping pairs already in ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    done = {(r["notebook"], r["seed"]) for r in read_rows(out) if r.get("kind") == "seed"}
    for seed in seeds:
        for key in notebooks:
            path = notebook_path(key)
            if (path.stem, seed) in done:
                continue
            _execute(path, {"SEED": seed}, out, {"kind": "seed", "seed": seed})


def lr_search(rates: list[float], out: Path) -> None:
    """Notebook 11's race once per peak learning rate, the same rate for both models."""
    out.parent.mkdir(parents=True, exist_ok=True)
    path = notebook_path("11")
    for rate in rates:
        parameters = {**LR_SEARCH_PARAMETERS, "LEARNING_RATE": rate, "GRU_LEARNING_RATE": rate}
        _execute(path, parameters, out, {"kind": "lr-search", "rate": rate})


def summary(values: list[float]) -> dict:
    """Mean, min, max and the values themselves."""
    return {
        "mean": statistics.fmean(values),
        "min": min(values),
        "max": max(values),
        "values": values,
    }


def _by_seed(rows: list[dict], notebook: str) -> dict[int, dict]:
    """The latest successful seed run of ``notebook`` per seed: seed -> metrics."""
    found = {}
    for row in rows:
        if row.get("kind") == "seed" and row["notebook"] == notebook and not row["error"]:
            found[row["seed"]] = row["metrics"]
    return dict(sorted(found.items()))


def summarise(rows: list[dict]) -> dict:
    """Every comparison's numbers over the seeds found, and the learning-rate search."""
    comparisons = []
    for c in COMPARISONS:
        runs = _by_seed(rows, c.notebook)
        runs = {
            s: m for s, m in runs.items() if c.metric_a in m and (not c.metric_b or c.metric_b in m)
        }
        if not runs:
            continue
        a = [m[c.metric_a] for m in runs.values()]
        b = [m[c.metric_b] for m in runs.values()] if c.metric_b else [1.0] * len(a)
        sign = 1 if c.higher_is_better else -1
        a_wins = [sign * (x - y) > 0 for x, y in zip(a, b, strict=True)]
        b_wins = [sign * (x - y) < 0 for x, y in zip(a, b, strict=True)]  # a tie is neither
        overlap = max(min(a), min(b)) <= min(max(a), max(b))
        comparisons.append(
            {
                "notebook": c.notebook,
                "claim": c.claim,
                "a": c.a,
                "b": c.b,
                "metric_a": c.metric_a,
                "metric_b": c.metric_b,
                "seeds": list(runs),
                "higher_is_better": c.higher_is_better,
                "a_summary": summary(a),
                "b_summary": summary(b),
                "difference": summary([x - y for x, y in zip(a, b, strict=True)]),
                "a_better_every_seed": all(a_wins),
                "b_better_every_seed": all(b_wins),
                "ranges_overlap": overlap,
            }
        )
    search = {}
    for row in rows:
        if row.get("kind") == "lr-search" and not row["error"]:
            for model, metric in LR_SEARCH_METRICS.items():
                if metric in row["metrics"]:
                    search.setdefault(model, {})[row["rate"]] = row["metrics"][metric]
    best = {model: min(per, key=per.get) for model, per in search.items()}
    machines = sorted({r["machine"] for r in rows})
    dates = sorted(r["finished"] for r in rows)
    return {
        "comparisons": comparisons,
        "lr_search": {"validation_per": search, "best": best},
        "machines": machines,
        "from": dates[0] if dates else None,
        "to": dates[-1] if dates else None,
    }


def _fmt(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 0.01 else f"{x:.3f}"


def verdict(c: dict) -> str:
    """The wording the notebooks use for a comparison's seed spread."""
    n = len(c["seeds"])
    if c["ranges_overlap"]:
        if c["a_better_every_seed"]:
            return f"{c['a']} ahead on each of the {n} seeds, but the ranges overlap"
        if c["b_better_every_seed"]:
            return f"{c['b']} ahead on each of the {n} seeds, but the ranges overlap"
        return "within noise: the ranges overlap and neither is ahead on every seed"
    winner = c["a"] if c["a_better_every_seed"] else c["b"]
    return f"{winner} better on all {n} seeds (ranges do not overlap)"


def render(summary_: dict) -> str:
    """docs/comparisons.md."""
    lines = [
        "# Headline comparisons over training seeds",
        "",
        "Written by `python benchmarks/comparisons.py report` from the runs of "
        "`benchmarks/comparisons.py run` (each notebook in default mode, `-p SEED=<seed>`: the "
        "seed of the initial weights and the batch order; the data are the same in every run).",
        f"Runs finished {summary_['from']} – {summary_['to']} on: "
        + "; ".join(summary_["machines"])
        + ".",
        "",
        'Mean and [min – max] over the seeds. "Within noise" means the two ranges overlap.',
        "",
    ]
    by_notebook: dict[str, list[dict]] = {}
    for c in summary_["comparisons"]:
        by_notebook.setdefault(c["notebook"], []).append(c)
    for notebook, rows in by_notebook.items():
        lines += [
            f"## {notebook}",
            "",
            "| comparison | seeds | A | B | A − B | reading |",
            "|---|---|---|---|---|---|",
        ]
        for c in rows:

            def cell(name, s):
                return f"{name}: {_fmt(s['mean'])} [{_fmt(s['min'])} – {_fmt(s['max'])}]"

            b = cell(c["b"], c["b_summary"]) if c["metric_b"] else f"{c['b']}: 1 (ratio)"
            d = c["difference"]
            lines.append(
                f"| {c['claim']} ({'higher' if c['higher_is_better'] else 'lower'} is better) "
                f"| {', '.join(map(str, c['seeds']))} | {cell(c['a'], c['a_summary'])} | {b} "
                f"| {_fmt(d['mean'])} [{_fmt(d['min'])} – {_fmt(d['max'])}] | {verdict(c)} |"
            )
        lines.append("")
    search = summary_["lr_search"]
    if search["validation_per"]:
        rates = sorted({r for per in search["validation_per"].values() for r in per})
        lines += [
            "## 11_transformer: learning-rate search",
            "",
            "Notebook 11's race, once per peak learning rate (the same for both models; "
            "seed 0; each model's greedy PER on the 200 validation words of the curve at "
            "the end of its time budget). Lower is better; the notebook uses each "
            "model's best.",
            "",
            "| model | " + " | ".join(f"{r:g}" for r in rates) + " | best |",
            "|---|" + "---|" * (len(rates) + 1),
        ]
        for model, per in search["validation_per"].items():
            cells = [_fmt(per[r]) if r in per else "—" for r in rates]
            lines.append(f"| {model} | " + " | ".join(cells) + f" | {search['best'][model]:g} |")
        lines.append("")
    return "\n".join(lines)


def report(rows_path: Path) -> None:
    """Write docs/comparisons.md and docs/comparisons.json from the runs in ``rows_path``."""
    data = summarise(read_rows(rows_path))
    (DOCS / "comparisons.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    (DOCS / "comparisons.md").write_text(render(data), encoding="utf-8")
    print(render(data))


def rows_from_docs(summary_: dict, leave_out: list[str]) -> list[dict]:
    """The rows behind a :func:`summarise` output (docs/comparisons.json), but for the notebooks
    of ``leave_out``: one seed row per (notebook, seed) with the compared metrics, one row per
    searched learning rate, and one ``docs-span`` row so that the dates and machines carry over."""
    skip = {notebook_path(key).stem for key in leave_out}
    seeds: dict[tuple[str, int], dict] = {}
    for c in summary_["comparisons"]:
        if c["notebook"] in skip:
            continue
        for i, seed in enumerate(c["seeds"]):
            metrics = seeds.setdefault((c["notebook"], seed), {})
            metrics[c["metric_a"]] = c["a_summary"]["values"][i]
            if c["metric_b"]:
                metrics[c["metric_b"]] = c["b_summary"]["values"][i]
    machine = "; ".join(summary_["machines"])
    common = {"error": None, "machine": machine, "finished": summary_["from"], "from_docs": True}
    rows = [
        {"kind": "seed", "notebook": notebook, "seed": seed, "metrics": metrics, **common}
        for (notebook, seed), metrics in seeds.items()
    ]
    if "11_transformer" not in skip:
        rates: dict[float, dict] = {}
        for model, per in summary_["lr_search"]["validation_per"].items():
            for rate, value in per.items():
                rates.setdefault(float(rate), {})[LR_SEARCH_METRICS[model]] = value
        rows += [
            {
                "kind": "lr-search",
                "notebook": "11_transformer",
                "rate": rate,
                "metrics": m,
                **common,
            }
            for rate, m in sorted(rates.items())
        ]
    return [*rows, {"kind": "docs-span", **common, "finished": summary_["to"]}]


def merge_results(rows: list[dict], notebooks: list[str], results_md: Path) -> None:
    """Replace the rows and sections of ``notebooks`` in ``results_md`` by their latest seed-0
    runs (run with the notebooks' default parameters), rendered by ``seqcourse run``'s report."""
    from seqcourse.runner import NotebookRun, render_report
    from seqcourse.targets import load_targets

    targets, runs, notes = load_targets(), [], []
    for key in notebooks:
        stem = notebook_path(key).stem
        found = [r for r in rows if r.get("kind") == "seed" and r["notebook"] == stem
                 and r["seed"] == 0]  # fmt: skip
        if not found:
            raise SystemExit(f"no seed-0 run of {stem} in the rows: run it first")
        row = found[-1]
        runs.append(NotebookRun(stem, False, row["seconds"], row["error"], row["metrics"],
                                targets.get(stem), {}))  # fmt: skip
        notes.append(f"{stem} {row['finished'][:16].replace('T', ' ')}")
    fresh = render_report(runs, fast=False)
    table = {
        r.notebook: line for r, line in zip(runs, fresh.split("\n")[6 : 6 + len(runs)], strict=True)
    }
    sections = {
        r.notebook: "## " + part for r, part in zip(runs, fresh.split("\n## ")[1:], strict=True)
    }
    text = results_md.read_text(encoding="utf-8")
    head, *parts = text.split("\n## ")
    lines = [
        table.get(line.split(" | ")[0].lstrip("| ").strip(), line) for line in head.split("\n")
    ]
    marker = " come from the seed-0 runs of `benchmarks/comparisons.py run`"
    paragraphs = "\n".join(lines).split("\n\n")
    finished, machines = dict(note.split(" ", 1) for note in notes), set()
    for old in (p for p in paragraphs if marker in p):  # notebooks merged earlier stay named
        earlier = re.search(r"; finished (.*) UTC\) on: (.*)\.$", old.strip())
        if earlier:
            for note in earlier.group(1).split("; "):
                stem, when = note.split(" ", 1)
                finished.setdefault(stem, when)
            machines.update(earlier.group(2).split("; "))
    machines.update(
        r["machine"] for r in rows if r.get("kind") == "seed" and r["notebook"] in table
    )
    head = "\n\n".join(p for p in paragraphs if marker not in p)
    head = head.rstrip("\n") + (
        "\n\nRows and sections of " + ", ".join(sorted(finished)) + marker + " (the notebooks' "
        "default parameters; finished "
        + "; ".join(f"{stem} {finished[stem]}" for stem in sorted(finished))
        + " UTC) on: "
        + "; ".join(sorted(machines))
        + ".\n"
    )
    kept = ["## " + part.rstrip("\n") + "\n" for part in parts if part.split("\n")[0] not in table]
    by_name = {part.split("\n")[0][3:]: part for part in kept}
    by_name.update({name: part.rstrip("\n") + "\n" for name, part in sections.items()})
    order = [part.split("\n")[0][3:] for part in ["## " + p for p in parts]]
    order += [name for name in sections if name not in order]
    results_md.write_text(
        head + "\n" + "\n".join(by_name[name] for name in order), encoding="utf-8"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run_p = sub.add_parser("run", help="run the comparison notebooks once per seed")
    run_p.add_argument("--notebooks", nargs="+", default=sorted({c.notebook for c in COMPARISONS}))
    run_p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    run_p.add_argument("--out", type=Path, default=ROOT / "runs" / "comparisons.jsonl")
    lr_p = sub.add_parser("lr-search", help="notebook 11's learning-rate search")
    lr_p.add_argument("--rates", nargs="+", type=float, default=[1e-3, 2e-3, 4e-3, 8e-3])
    lr_p.add_argument("--out", type=Path, default=ROOT / "runs" / "comparisons.jsonl")
    res_p = sub.add_parser("results", help="put seed-0 runs into docs/results.md")
    res_p.add_argument("--notebooks", nargs="+", required=True)
    res_p.add_argument("rows", type=Path, nargs="?", default=ROOT / "runs" / "comparisons.jsonl")
    docs_p = sub.add_parser("rows-from-docs", help="docs/comparisons.json back out as rows")
    docs_p.add_argument("--except", dest="leave_out", nargs="*", default=[])
    docs_p.add_argument("--out", type=Path, default=ROOT / "runs" / "comparisons.jsonl")
    rep_p = sub.add_parser("report", help="write docs/comparisons.md and .json")
    rep_p.add_argument("rows", type=Path, nargs="?", default=ROOT / "runs" / "comparisons.jsonl")
    args = parser.parse_args(argv)
    if args.command == "run":
        run_seeds(args.notebooks, args.seeds, args.out)
    elif args.command == "lr-search":
        lr_search(args.rates, args.out)
    elif args.command == "rows-from-docs":
        if args.out.exists():
            raise SystemExit(f"{args.out} exists: these rows start a runs file, move it first")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        summary_ = json.loads((DOCS / "comparisons.json").read_text(encoding="utf-8"))
        rows = rows_from_docs(summary_, args.leave_out)
        args.out.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    elif args.command == "results":
        merge_results(read_rows(args.rows), args.notebooks, DOCS / "results.md")
    else:
        report(args.rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
