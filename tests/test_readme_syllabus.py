"""benchmarks/readme_syllabus.py: the README syllabus's time and headline columns come from
docs/results.md, docs/comparisons.json and the templates of docs/headlines.toml."""

import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import comparisons  # noqa: E402
import readme_syllabus as rs  # noqa: E402

from seqcourse.text_numbers import read_results  # noqa: E402

RESULTS_MD = """\
# seqcourse results — default mode

| notebook | status | wall time | budget | parameters |
|---|---|---|---|---|
| 06_seq2seq_attention | ok | 197.5 s | 300 s | defaults |
| 11_transformer | ok | 196.2 s | 300 s | defaults |

## 06_seq2seq_attention

| metric | value | target | met |
|---|---|---|---|
| attention_beam_per | 0.09062 | <= 0.1 | yes |
| attention_beam_wer | 0.3671 | <= 0.4 | yes |
| bptt_error | 4.827e-14 | — | — |

## 11_transformer

| metric | value | target | met |
|---|---|---|---|
| order_accuracy_without_positions | 0.5072 | <= 0.56 | yes |
"""

SUMMARY = {"mean": 0.12, "min": 0.112, "max": 0.131, "values": [0.112, 0.117, 0.131]}
COMPARISONS = {
    "comparisons": [
        {
            "notebook": "11_transformer",
            "claim": "greedy PER, same seconds",
            "a": "GRU + attention",
            "b": "Transformer",
            "metric_a": "gru_greedy_per",
            "metric_b": "transformer_greedy_per",
            "seeds": [0, 1, 2],
            "higher_is_better": False,
            "a_summary": SUMMARY,
            "b_summary": {"mean": 0.2, "min": 0.19, "max": 0.21, "values": [0.19, 0.2, 0.21]},
            "difference": {"mean": -0.08, "min": -0.09, "max": -0.07, "values": []},
        }
    ],
    "lr_search": {"validation_per": {}, "best": {}},
}

HEADLINES = """\
["06_seq2seq_attention"]
headline = "PER {r:attention_beam_per:pct} / WER {r:attention_beam_wer:.3f}; BPTT to {r:bptt_error:.0e}"

["11_transformer"]
headline = "{r:order_accuracy_without_positions:pct} without; over {cseeds:11} seeds: GRU {c:gru_greedy_per:pct} vs {c:transformer_greedy_per}"
"""

README = """\
# course

## Syllabus

| # | notebook | architecture | data | default-mode time | headline result | open |
|---|---|---|---|---|---|---|
| 06 | [06_seq2seq_attention](notebooks/06_seq2seq_attention.ipynb) | seq2seq  | CMU | 150 s | typed by hand | [open](x) |
| 11 | [11_transformer](notebooks/11_transformer.ipynb) | Transformer | CMU | 196 s | typed | [open](y) |

## Quick start
"""

GOOD_06 = "PER 9.1% / WER 0.367; BPTT to 5e-14"
GOOD_11 = "50.7% without; over 3 seeds: GRU 12.0% [11.2–13.1%] vs 0.2 [0.19–0.21]"


@pytest.fixture
def files(tmp_path):
    """The fixture's README, results, comparisons and headlines, written to ``tmp_path``."""
    paths = {
        "readme": tmp_path / "README.md",
        "results": tmp_path / "results.md",
        "comparisons": tmp_path / "comparisons.json",
        "headlines": tmp_path / "headlines.toml",
    }
    paths["readme"].write_text(README)
    paths["results"].write_text(RESULTS_MD)
    paths["comparisons"].write_text(json.dumps(COMPARISONS))
    paths["headlines"].write_text(HEADLINES)
    return paths


def _args(files):
    return [f"--{k}={v}" for k, v in files.items()]


def test_placeholders_are_filled(files):
    results = read_results(files["results"])
    fill = rs.fill(
        "{r:attention_beam_per} {r:attention_beam_per:pct} {r:attention_beam_wer:.3f}",
        "06_seq2seq_attention",
        results,
        COMPARISONS,
    )
    assert fill == "0.09062 9.1% 0.367"
    assert rs.fill("{c:gru_greedy_per:pct}", "11_transformer", {}, COMPARISONS) == (
        "12.0% [11.2–13.1%]"
    )
    assert rs.fill("{cseeds:11_transformer} {cseeds:11}", "11_transformer", {}, COMPARISONS) == (
        "3 3"
    )


def test_a_missing_metric_names_notebook_metric_and_file(files):
    results = read_results(files["results"])
    with pytest.raises(rs.SyllabusError) as e:
        rs.fill("{r:nope:pct}", "06_seq2seq_attention", results, COMPARISONS, files["results"])
    assert "06_seq2seq_attention" in str(e.value) and "'nope'" in str(e.value)
    assert "results.md" in str(e.value)
    missing = files["comparisons"].parent / "absent.json"
    with pytest.raises(rs.SyllabusError) as e:
        rs.fill("{c:gru_bpc}", "11_transformer", results, {}, files["results"], missing)
    assert "11_transformer" in str(e.value) and "'gru_bpc'" in str(e.value)
    assert "absent.json" in str(e.value) and "does not exist" in str(e.value)


def test_rewrite_keeps_the_other_columns_and_check_then_passes(files, capsys):
    assert rs.main(["--check", *_args(files)]) == 1
    err = capsys.readouterr().err
    assert "06_seq2seq_attention, default-mode time" in err
    assert "06_seq2seq_attention, headline result" in err and "11_transformer" in err
    assert rs.FIX in err
    assert rs.main(_args(files)) == 0
    text = files["readme"].read_text()
    assert (
        "| 06 | [06_seq2seq_attention](notebooks/06_seq2seq_attention.ipynb) | seq2seq  | CMU "
        f"| 198 s | {GOOD_06} | [open](x) |" in text
    )
    assert f"| 196 s | {GOOD_11} | [open](y) |" in text
    assert text.endswith("## Quick start\n")
    assert rs.main(["--check", *_args(files)]) == 0


def test_a_stale_headline_is_named(files, capsys):
    rs.main(_args(files))
    files["results"].write_text(RESULTS_MD.replace("0.09062", "0.1012"))
    assert rs.main(["--check", *_args(files)]) == 1
    err = capsys.readouterr().err
    assert "06_seq2seq_attention, headline result" in err and "PER 10.1%" in err
    assert "11_transformer" not in err


def test_the_course_templates_fill_with_results_and_comparisons(tmp_path):
    """Every template of docs/headlines.toml fills in from docs/results.md and a comparisons
    file in the format of benchmarks/comparisons.py (seed metrics faked from results.md), and
    every syllabus row of README.md has a template."""
    results = read_results(ROOT / "docs" / "results.md")
    metrics = {}  # notebook -> the metrics its comparisons name, as results.md has them
    for c in comparisons.COMPARISONS:
        nb = results.get(c.notebook)
        for name in filter(None, (c.metric_a, c.metric_b)):
            metrics.setdefault(c.notebook, {})[name] = nb.metrics.get(name, 0.5) if nb else 0.5
    rows = [
        dict(kind="seed", notebook=notebook, seed=seed, error=None, machine="test")
        | dict(metrics={k: v * (1 + 0.01 * seed) for k, v in m.items()}, finished=f"{seed}")
        for notebook, m in metrics.items()
        for seed in range(3)
    ]
    path = tmp_path / "comparisons.json"
    path.write_text(json.dumps(comparisons.summarise(rows)))
    text, _ = rs.syllabus((ROOT / "README.md").read_text(), comparisons_path=path)
    assert not re.search(r"\{(r|c|cseeds):", text)


def test_readme_syllabus_is_up_to_date(capsys):
    """README.md's syllabus equals what the script writes (`python benchmarks/readme_syllabus.py`
    rewrites it); runs once docs/comparisons.json exists."""
    if not rs.COMPARISONS.exists():
        pytest.skip("docs/comparisons.json does not exist yet (benchmarks/comparisons.py report)")
    code = rs.main(["--check"])
    assert code == 0, capsys.readouterr().err
