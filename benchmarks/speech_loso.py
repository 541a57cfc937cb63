"""Leave-one-speaker-out evaluation of notebook 08's speech recogniser on real speakers.

For each of the four real FSDD speakers packed in the course (george, jackson, lucas,
nicolas), run notebook 08 itself in default mode with ``HELDOUT_SPEAKER`` set to that speaker:
it trains on the synthetic voices and the three other real speakers, then decodes utterances
of the held-out speaker, composed as its test set (same composer, seed and size). So the
leave-one-speaker-out number is, by construction, the notebook's recipe. Prints per-speaker
and mean CER/WER (greedy, and decoded with the digit lexicon) and the CER on the held-out
synthetic voices.

The ablation trains the same model with the recipe's pieces switched on one at a time —
espeak-ng voices only, + Flite/Festival voices, + the real speakers, + per-utterance CMVN,
+ SpecAugment, + channel augmentation (EQ/band limit, reverberation), + speed and
vocal-tract-length perturbation, + one voice per utterance (the full recipe, whose rows are
the leave-one-speaker-out runs) — at the notebook's sizes unless ``--ablation-scale`` says
otherwise, on the held-out speakers given by ``--speakers``. Every row reports greedy and
digit-lexicon decoding.

Usage::

    python benchmarks/speech_loso.py loso --out runs/speech_loso.jsonl
    python benchmarks/speech_loso.py ablation --speakers george --out runs/speech_loso.jsonl
    python benchmarks/speech_loso.py report runs/speech_loso.jsonl

The seeds run repeats the notebook's recipe with other seeds for the model's initial weights
(``--seeds``, default 7 and 1234), so a row's difference can be read against seed noise::

    python benchmarks/speech_loso.py seeds --out runs/speech_loso.jsonl

The nested protocol estimates what the recipe's *search* gives on a new speaker: for each real
speaker held out (outer), the recipe, the decoding (greedy or digit lexicon) and the test-time
normalisation (the training set's statistics or the speaker's own) are chosen on the other
three speakers only (inner folds: trainings without the outer speaker and one more, tested on
the one more), then the choice is trained without the outer speaker and tested on it, with
three seeds. The rows of the ladder to choose among are given by ``--rows``::

    python benchmarks/speech_loso.py nested-inner --rows 1 2 3 7 --out docs/speech_loso_nested.jsonl
    python benchmarks/speech_loso.py nested-outer --out docs/speech_loso_nested.jsonl
    python benchmarks/speech_loso.py nested-report docs/speech_loso_nested.jsonl

Each run appends one JSON line per (configuration, speaker), so an interrupted sweep keeps what
it measured; ``report`` and ``nested-report`` print the Markdown tables of
``docs/speech_loso.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import time
from pathlib import Path

from seqcourse.audio_augment import Augmentation
from seqcourse.datasets.spoken_digits import REAL_SPEAKERS, load_digit_bank, load_real_digits
from seqcourse.speech import Recipe

NOTEBOOK = Path(__file__).parents[1] / "notebooks" / "08_speech_recognition.ipynb"
LOSO_NAME = "+ 3 real speakers = the notebook's recipe"


def ablation_rows(scale: dict) -> list[tuple[str, Recipe, int]]:
    """The ablation ladder, each row adding one piece to the previous one. The notebook's
    ``Recipe()`` is the row named ``LOSO_NAME``; the rows after it add the robustness options
    the notebook leaves off, one at a time. Rows: ``(name, recipe, seed)``, every seed the
    notebook's (42)."""
    channel = Augmentation(speed=None, formant_warp=None)  # EQ, band limit, reverb: on
    ladder = [
        ("espeak-ng voices only", {"tts_voices": False, "real": False}),
        ("+ Flite/Festival voices", {"tts_voices": True}),
        (LOSO_NAME, {"real": True}),
        ("+ per-utterance CMVN", {"cmvn": True}),
        ("+ SpecAugment", {"spec_augment": True}),
        ("+ channel aug (EQ, band limit, reverb)", {"augment": channel}),
        ("+ speed & vocal-tract-length perturbation", {"augment": Augmentation()}),
        ("+ one voice per utterance", {"one_speaker": True}),
    ]
    rows, recipe = [], Recipe(**scale)
    for name, change in ladder:
        recipe = dataclasses.replace(recipe, **change)
        rows.append((name, recipe, 42))
    return rows


def _row(name, speaker, result: dict, seconds: float, recipe) -> dict:
    return {
        "config": name,
        "speaker": speaker,
        **result,
        "seconds": seconds,
        "recipe": {k: str(v) for k, v in dataclasses.asdict(recipe).items()},
        "machine": f"{platform.node()} {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def _read_rows(paths) -> list[dict]:
    """Every row of the JSON-lines files ``paths``, in order."""
    return [json.loads(line) for p in paths for line in Path(p).read_text().splitlines()]


def _done(out: Path) -> set:
    if not out.exists():
        return set()
    return {(r["config"], r["speaker"]) for r in _read_rows([out])}


def _write(out: Path, row: dict) -> None:
    print(
        f"{row['config']:58s} {row['speaker']:8s} real CER {row['real_cer']:6.1%} WER "
        f"{row['real_wer']:6.1%} (lexicon {row['real_cer_lexicon']:6.1%} / "
        f"{row['real_wer_lexicon']:6.1%})  synthetic CER {row['synthetic_cer']:6.2%}  "
        f"({row['seconds']:.0f} s)",
        flush=True,
    )
    with out.open("a") as f:
        f.write(json.dumps(row) + "\n")


def run_loso(speakers, out: Path) -> None:
    """Notebook 08 in default mode, once per held-out speaker."""
    from seqcourse.runner import run_notebook

    for speaker in speakers:
        if (LOSO_NAME, speaker) in _done(out):
            continue
        folder = out.parent / "speech_loso" / speaker
        result = run_notebook(
            NOTEBOOK, fast=False, out_dir=folder, parameters={"HELDOUT_SPEAKER": speaker}
        )
        if result.error:
            raise SystemExit(f"notebook 08 failed with {speaker} held out: {result.error}")
        m = result.metrics
        measured = {
            "real_cer": m["heldout_real_cer"],
            "real_wer": m["heldout_real_wer"],
            "real_cer_lexicon": m["heldout_real_lexicon_cer"],
            "real_wer_lexicon": m["heldout_real_lexicon_wer"],
            "synthetic_cer": m["greedy_cer"],
            "synthetic_wer": m["greedy_wer"],
            "synthetic_cer_lexicon": m["lexicon_cer"],
            "synthetic_wer_lexicon": m["lexicon_wer"],
            "train_seconds": m["train_seconds"],
        }
        _write(out, _row(LOSO_NAME, speaker, measured, result.seconds, Recipe()))


def seed_rows(seeds) -> list[tuple[str, Recipe, int]]:
    """The notebook's recipe again with other seeds for the model's initial weights: how much
    of a difference between two rows the seed alone makes."""
    return [(f"{LOSO_NAME}, seed {seed}", Recipe(), seed) for seed in seeds]


def run_ablation(configs, speakers, out: Path) -> None:
    """Each ``(name, recipe, seed)`` through ``seqcourse.speech.run_recipe`` (the notebook's
    functions)."""
    import seqcourse
    from seqcourse.speech import run_recipe

    seqcourse.setup(seed=42, quiet=True)
    bank, real = load_digit_bank(), load_real_digits()
    for name, recipe, seed in configs:
        for speaker in speakers:
            if (name, speaker) in _done(out):
                continue
            start = time.perf_counter()
            for tested, result in run_recipe(recipe, bank, real, speaker, seed=seed).items():
                if (name, tested) not in _done(out):
                    _write(out, _row(name, tested, result, time.perf_counter() - start, recipe))


# ---------------------------------------------------------------- nested leave-one-speaker-out

# What the recipe's search chose between: each row of the ablation ladder (voices, real
# speakers, normalisation, augmentation, how utterances are composed), each decoded greedily or
# with the digit lexicon, with the training set's statistics or (for a recipe that normalises
# with them) with the test speaker's own (per-speaker CMVN at test time, no label looked at).
DECODINGS = {
    "greedy": "real_cer",
    "lexicon": "real_cer_lexicon",
    "greedy, speaker's own statistics": "real_cer_own",
    "lexicon, speaker's own statistics": "real_cer_own_lexicon",
}
OUTER_SEEDS = (42, 7, 1234)


def run_nested_inner(out: Path, scale: dict, rows=None) -> None:
    """Phase 1: every candidate (a row of the ablation ladder, at ``scale``) trained with two
    real speakers held out — each of the six pairs — and tested on both. For an outer speaker
    A, a candidate's inner score is then its mean CER on the three other speakers B, each from
    the training without A and B: A's recordings neither train nor choose. One training
    serves the two outer speakers of its pair. A candidate without real speakers trains once
    and is tested on all four. ``rows``: only these rows of the ladder (default: all)."""
    import itertools

    import seqcourse
    from seqcourse.speech import run_recipe

    seqcourse.setup(seed=42, quiet=True)
    bank, real = load_digit_bank(), load_real_digits()
    ladder = ablation_rows(scale)
    for name, recipe, seed in [ladder[i] for i in rows] if rows else ladder:
        pairs = itertools.combinations(REAL_SPEAKERS, 2) if recipe.real else [REAL_SPEAKERS]
        for heldout in pairs:
            config = f"inner: {name}, without {' & '.join(heldout)}"
            if all((config, s) in _done(out) for s in heldout):
                continue
            start = time.perf_counter()
            for tested, result in run_recipe(recipe, bank, real, list(heldout), seed=seed).items():
                row = _row(config, tested, result, time.perf_counter() - start, recipe)
                _write(out, row | {"stage": "inner", "candidate": name, "heldout": list(heldout)})


def choose(rows, outer: str) -> tuple[tuple[str, str], dict]:
    """The candidate and decoding with the lowest mean inner CER for the outer speaker ``outer``
    (see :func:`run_nested_inner`), and every candidate's score: ``((candidate, decoding),
    {(candidate, decoding): mean CER})``. Only candidates measured on all three other speakers
    compete."""
    others = [s for s in REAL_SPEAKERS if s != outer]
    scores = {}
    for candidate in dict.fromkeys(r["candidate"] for r in rows if r.get("stage") == "inner"):
        mine = {r["speaker"]: r for r in rows if r.get("stage") == "inner"
                and r["candidate"] == candidate and outer in r["heldout"]}  # fmt: skip
        for decoding, key in DECODINGS.items():
            if all(s in mine and key in mine[s] for s in others):
                scores[(candidate, decoding)] = sum(mine[s][key] for s in others) / len(others)
    if not scores:
        raise SystemExit(f"no inner results for {outer}: run `nested-inner` first")
    return min(scores, key=scores.get), scores


def run_nested_outer(out: Path, seeds) -> None:
    """Phase 2: for each real speaker, the candidate its inner folds chose, at the notebook's
    sizes, trained on everything else (the three other real speakers included) with each of
    ``seeds`` for the initial weights, and tested on it."""
    import seqcourse
    from seqcourse.speech import run_recipe

    rows = _read_rows([out])
    seqcourse.setup(seed=42, quiet=True)
    bank, real = load_digit_bank(), load_real_digits()
    recipes = {name: recipe for name, recipe, _ in ablation_rows({})}
    for outer in REAL_SPEAKERS:
        (candidate, decoding), _ = choose(rows, outer)
        for seed in seeds:
            config = f"outer: {candidate}, seed {seed}"
            if (config, outer) in _done(out):
                continue
            start = time.perf_counter()
            result = run_recipe(recipes[candidate], bank, real, outer, seed=seed)[outer]
            row = _row(config, outer, result, time.perf_counter() - start, recipes[candidate])
            _write(out, row | {"stage": "outer", "candidate": candidate, "seed": seed,
                               "decoding": decoding})  # fmt: skip


def report_nested(paths) -> None:
    """Markdown: per outer speaker the choice its inner folds made (and its inner score), its
    CER with each seed and their mean; then the nested estimate — the mean over the four
    speakers, for each seed, and over the seeds."""
    rows = _read_rows(paths)
    outer_rows = [r for r in rows if r.get("stage") == "outer"]
    seeds = sorted({r["seed"] for r in outer_rows})
    print("| held-out speaker | chosen on the other three | inner CER | "
          + " | ".join(f"CER, seed {s}" for s in seeds) + " | mean |")  # fmt: skip
    print("|---|---|---:|" + "---:|" * (len(seeds) + 1))
    per_seed = {s: [] for s in seeds}
    choices = {outer: choose(rows, outer) for outer in REAL_SPEAKERS}
    for outer, ((candidate, decoding), scores) in choices.items():
        mine = {r["seed"]: r[DECODINGS[decoding]] for r in outer_rows if r["speaker"] == outer
                and r["candidate"] == candidate}  # fmt: skip
        for seed, cer in mine.items():
            per_seed[seed].append(cer)
        cells = [f"{mine[s]:.1%}" if s in mine else "–" for s in seeds]
        mean = f"**{sum(mine.values()) / len(mine):.1%}**" if mine else "–"
        print(f"| {outer} | {candidate} ({decoding}) | {scores[(candidate, decoding)]:.1%} | "
              + " | ".join(cells) + f" | {mean} |")  # fmt: skip
    print("\nInner CER of every candidate (mean over the three other speakers; chosen in bold):\n")
    print("| candidate | decoding | " + " | ".join(f"without {s}" for s in REAL_SPEAKERS) + " |")
    print("|---|---|" + "---:|" * len(REAL_SPEAKERS))
    for candidate, decoding in choices[REAL_SPEAKERS[0]][1]:
        cells = []
        for outer in REAL_SPEAKERS:
            chosen, scores = choices[outer]
            cell = (
                f"{scores[(candidate, decoding)]:.1%}" if (candidate, decoding) in scores else "–"
            )
            cells.append(f"**{cell}**" if chosen == (candidate, decoding) else cell)
        print(f"| {candidate} | {decoding} | " + " | ".join(cells) + " |")
    complete = {s: v for s, v in per_seed.items() if len(v) == len(REAL_SPEAKERS)}
    if complete:
        means = [sum(v) / len(v) for v in complete.values()]
        spread = ", ".join(f"seed {s}: {m:.1%}" for s, m in zip(complete, means, strict=True))
        print(f"\nNested estimate, mean CER over the four speakers: **{sum(means) / len(means):.1%}**"
              f" ({spread})")  # fmt: skip


MEANS = ("real_cer", "real_wer", "real_cer_lexicon", "real_wer_lexicon", "synthetic_cer")


def _seed_means(rows) -> list[dict]:
    """When the notebook's recipe was run with several seeds: one more configuration, the
    mean of each metric over the seeds, for each speaker that every seed measured."""
    seeded = {r["config"] for r in rows if r["config"].startswith(LOSO_NAME)}
    if len(seeded) < 2:
        return []
    name = f"the notebook's recipe, mean of {len(seeded)} seeds"
    means = []
    for speaker in REAL_SPEAKERS:
        mine = [r for r in rows if r["config"] in seeded and r["speaker"] == speaker]
        if len(mine) == len(seeded):
            means.append({"config": name, "speaker": speaker}
                         | {key: sum(r[key] for r in mine) / len(mine) for key in MEANS})  # fmt: skip
    return means


def report(paths) -> None:
    """Markdown: per configuration (in the ladder's order), the greedy CER of each held-out
    speaker, the means over the speakers measured — greedy and with the digit lexicon — and,
    when some rows miss speakers, the mean over the speakers every row has. Runs of the
    notebook's recipe with other seeds add a row of their means over the seeds."""
    rows = _read_rows(paths)
    rows += _seed_means(rows)
    order = [name for name, *_ in ablation_rows({})]
    configs = sorted(
        {r["config"] for r in rows}, key=lambda c: (order.index(c) if c in order else 99, c)
    )
    speakers = [s for s in REAL_SPEAKERS if any(r["speaker"] == s for r in rows)]
    common = [s for s in speakers if all(any(r["config"] == c and r["speaker"] == s for r in rows)
                                         for c in configs)]  # fmt: skip
    partial = len(common) < len(speakers)
    print(
        "| training | " + " | ".join(speakers) + " | mean CER | mean WER | "
        "mean CER, lexicon | mean WER, lexicon | synthetic CER |"
        + (f" mean CER, {' & '.join(common)} |" if partial else "")
    )
    print("|---|" + "---:|" * (len(speakers) + len(MEANS) + partial))
    for config in configs:
        mine = {r["speaker"]: r for r in rows if r["config"] == config}
        cells = [f"{mine[s]['real_cer']:.1%}" if s in mine else "–" for s in speakers]
        mean = [sum(r[key] for r in mine.values()) / len(mine) for key in MEANS]
        label = config if len(mine) == len(speakers) else f"{config} ({len(mine)} speakers)"
        line = (
            f"| {label} | " + " | ".join(cells) + f" | **{mean[0]:.1%}** | {mean[1]:.1%} | "
            f"**{mean[2]:.1%}** | {mean[3]:.1%} | {mean[4]:.2%} |"
        )
        if partial:
            line += f" {sum(mine[s]['real_cer'] for s in common) / len(common):.1%} |"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "what",
        choices=[
            "loso",
            "ablation",
            "seeds",
            "report",
            "nested-inner",
            "nested-outer",
            "nested-report",
        ],
    )
    parser.add_argument("paths", nargs="*", help="report: the JSON-lines files")
    parser.add_argument("--out", type=Path, default=Path("runs/speech_loso.jsonl"))
    parser.add_argument("--speakers", nargs="+", default=list(REAL_SPEAKERS))
    parser.add_argument(
        "--rows",
        nargs="+",
        type=int,
        help="ablation, nested-inner: only these rows (0 = synthetic only, ...)",
    )
    parser.add_argument(
        "--seeds",
        nargs="+",
        type=int,
        help="seeds / nested-outer: the initial-weight seeds (default 7 1234 / 42 7 1234)",
    )
    parser.add_argument(
        "--ablation-scale",
        default="{}",
        help='JSON: Recipe sizes for the ablation rows, e.g. {"n_train": 1000} (default: the notebook\'s)',
    )
    parser.add_argument(
        "--inner-scale",
        default="{}",
        help="JSON: Recipe sizes for the nested protocol's inner trainings (default: the notebook's)",
    )
    args = parser.parse_args()
    if args.what == "report":
        report(args.paths)
        return
    if args.what == "nested-report":
        report_nested(args.paths)
        return
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.what == "loso":
        run_loso(args.speakers, args.out)
    elif args.what == "nested-inner":
        run_nested_inner(args.out, json.loads(args.inner_scale), args.rows)
    elif args.what == "nested-outer":
        run_nested_outer(args.out, args.seeds or OUTER_SEEDS)
    elif args.what == "seeds":
        run_ablation(seed_rows(args.seeds or [7, 1234]), args.speakers, args.out)
    else:
        rows = ablation_rows(json.loads(args.ablation_scale))
        rows = [rows[i] for i in args.rows] if args.rows else rows
        run_ablation(rows, args.speakers, args.out)


if __name__ == "__main__":
    main()
