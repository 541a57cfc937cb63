"""Numbers quoted in the notebooks' text agree with the latest recorded results.

Every decimal and percentage of a markdown cell must be allow-listed in docs/text_numbers.toml
(not a result), equal a value recorded for its notebook in docs/results.md or
docs/comparisons.json within half a unit of its last digit, or appear in a docs/*.md file the
cell names. See seqcourse/text_numbers.py.
"""

import json
import tomllib
from pathlib import Path

import pytest

from seqcourse import text_numbers as tn

ROOT = Path(__file__).parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _keys(text, ids=()):
    return [q.key for q in tn.extract(text, ids)]


# ------------------------------------------------------------------ the extractor


def test_decimals_and_percentages_are_extracted():
    text = "PER 9.3% and 12 % vs 0.93; 2,000 words, 6 epochs, T = 512, lr 1e-3, 3.5e-4"
    assert _keys(text) == ["9.3%", "12%", "0.93"]


def test_ranges_give_both_ends_as_percentages():
    assert _keys("each seed 13.5–14.7%, roughly 5-6% PER") == ["13.5%", "14.7%", "5%", "6%"]


def test_latex_code_links_and_versions_are_ignored():
    text = (
        "$0.5^{30} \\approx 10^{-9}$ and $$\\sigma = 0.25$$ and `dropout=0.3` and\n"
        "```python\nx = 0.75\n```\n[see 2.5](https://example.org/v1.5/page) "
        "Python 3.11.7 <img width='0.4'> $\\approx\n0.69$ but 0.8 here"
    )
    assert _keys(text) == ["2.5", "0.8"]


def test_exercise_ids_are_ignored():
    text = "Exercise 6.1 and exercises 3.1 and 3.2; your 6.2 is checked; 6.25 and 6.2% are not ids"
    assert _keys(text, {"6.1", "6.2"}) == ["6.25", "6.2%"]


# ------------------------------------------------------------------ the matcher


def test_half_a_unit_of_the_last_digit():
    assert tn.half_unit("0.93") == 0.005 and tn.half_unit("12") == 0.5
    q = tn.extract("0.93")[0]
    assert tn.matches(q, [0.9349]) and tn.matches(q, [0.925])
    assert not tn.matches(q, [0.9351])


def test_a_percentage_matches_a_fraction():
    assert tn.matches(tn.extract("9.1%")[0], [0.09062])
    assert tn.matches(tn.extract("12%")[0], [0.1249])
    assert not tn.matches(tn.extract("9.3%")[0], [0.09062])
    assert not tn.matches(tn.extract("0.9")[0], [0.009])  # a decimal is not scaled


RESULTS_MD = """\
| notebook | status | wall time | budget | parameters |
|---|---|---|---|---|
| 06_seq2seq_attention | ok | 197.3 s | 300 s | defaults |

## 06_seq2seq_attention

| metric | value | target | met |
|---|---|---|---|
| attention_beam_per | 0.09062 | <= 0.1 | yes |
| attention_beam_wer | 0.3665 | — | — |
"""


def test_results_and_comparisons_are_read(tmp_path):
    (tmp_path / "results.md").write_text(RESULTS_MD)
    results = tn.read_results(tmp_path / "results.md")
    nb = results["06_seq2seq_attention"]
    assert nb.wall_time == 197.3 and nb.budget == 300
    assert nb.metrics == {"attention_beam_per": 0.09062, "attention_beam_wer": 0.3665}
    assert nb.targets == {"attention_beam_per": 0.1}
    summary = {"mean": 0.12, "min": 0.11, "max": 0.13, "values": [0.11, 0.12, 0.13]}
    comparisons = {
        "comparisons": [
            {
                "notebook": "06_seq2seq_attention",
                "metric_a": "x",
                "metric_b": "",
                "a_summary": summary,
                "b_summary": {"mean": 1.0, "min": 1.0, "max": 1.0, "values": [1.0] * 3},
                "difference": {"mean": -0.88, "min": -0.89, "max": -0.87, "values": []},
            }
        ]
    }
    assert tn.comparison_summary(comparisons, "06_seq2seq_attention", "x") == summary
    assert tn.comparison_summary(comparisons, "06_seq2seq_attention", "") is None
    values = tn.recorded_values("06_seq2seq_attention", results, comparisons)
    assert {0.09062, 0.3665, 0.1, 197.3, 300, 0.12, 0.11, 0.13} <= set(values)
    assert tn.read_comparisons(tmp_path / "absent.json") == {"comparisons": []}


def test_a_mismatch_is_reported_and_the_rest_passes(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "results.md").write_text(RESULTS_MD)
    (docs / "speech_loso.md").write_text("| mean CER | **14.3%** |")
    cells = [
        (1, "attention PER 9.1% and WER 36.7% (beam 5); published ≈ 5.5% (Yao & Zweig 2015)"),
        (2, "Seed mean 14.3% ([docs/speech_loso.md](../docs/speech_loso.md)), target 10%"),
        (3, "without attention: 23.8%, beyond the recorded 36.6% / 36.7% range? no: 0.30"),
        (4, "not named here: 14.3%"),
    ]
    stem = "06_seq2seq_attention"
    values = tn.recorded_values(stem, tn.read_results(docs / "results.md"), {})
    flagged = tn.check_cells(stem, cells, values, {"5.5%": "published"}, docs)
    assert [(f.cell, f.number) for f in flagged] == [(3, "23.8%"), (3, "0.30"), (4, "14.3%")]
    assert "without attention: 23.8%" in flagged[0].sentence
    assert "cell 3" in str(flagged[0]) and "'23.8%'" in str(flagged[0])


def test_check_notebook_reads_files(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "results.md").write_text(RESULTS_MD)
    (docs / "allow.toml").write_text('[["06_seq2seq_attention"]]\nnumber = "0.5"\nwhy = "a rate"\n')
    nb = {
        "cells": [
            {"cell_type": "markdown", "source": ["Exercise 6.1: PER 9.1%, ", "dropout 0.5, 6.1 "]},
            {"cell_type": "code", "source": 'check("6.1", f)  # 0.77', "outputs": []},
            {"cell_type": "markdown", "source": "WER 41.0% in your 6.1"},
        ]
    }
    path = tmp_path / "06_seq2seq_attention.ipynb"
    path.write_text(json.dumps(nb))
    flagged = tn.check_notebook(path, docs / "results.md", docs / "none.json", docs / "allow.toml")
    assert [(f.cell, f.number) for f in flagged] == [(2, "41.0%")]


# ------------------------------------------------------------------ the course


def test_allow_list_entries_have_reasons():
    data = tomllib.loads(tn.ALLOW_LIST.read_text(encoding="utf-8"))
    stems = {p.stem for p in NOTEBOOKS}
    for stem, entries in data.items():
        assert stem in stems, f"docs/text_numbers.toml: no notebook {stem}"
        for e in entries:
            assert set(e) == {"number", "why"} and e["why"].strip(), f"{stem}: {e}"
            assert tn.extract(e["number"]), f"{stem}: {e['number']!r} is not a checked number"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_numbers_in_text_match_the_results(path):
    flagged = tn.check_notebook(path)
    if flagged:
        pytest.fail("\n".join(map(str, flagged)) + "\n\n" + tn.HOW_TO_FIX, pytrace=False)
