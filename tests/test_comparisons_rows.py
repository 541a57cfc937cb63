"""benchmarks/comparisons.py: the committed docs/comparisons.json can be turned back into runs.

The runs file of a seed sweep is not committed; ``rows-from-docs`` writes the per-seed values
behind docs/comparisons.json back out so that a sweep rerunning a few notebooks reports them all.
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import comparisons  # noqa: E402

DOCS = json.loads((ROOT / "docs" / "comparisons.json").read_text(encoding="utf-8"))


def test_rows_from_docs_summarise_to_the_same_document():
    rows = comparisons.rows_from_docs(DOCS, leave_out=[])
    again = json.loads(json.dumps(comparisons.summarise(rows)))
    assert again["comparisons"] == DOCS["comparisons"]
    assert again["lr_search"] == DOCS["lr_search"]
    assert (again["from"], again["to"]) == (DOCS["from"], DOCS["to"])


def test_rows_from_docs_leave_out_whole_notebooks():
    rows = comparisons.rows_from_docs(DOCS, leave_out=["06", "11"])
    notebooks = {r["notebook"] for r in rows if r["kind"] in ("seed", "lr-search")}
    assert "06_seq2seq_attention" not in notebooks and "11_transformer" not in notebooks
    assert "03_sentiment" in notebooks
    left = {c["notebook"] for c in comparisons.summarise(rows)["comparisons"]}
    assert left == {c["notebook"] for c in DOCS["comparisons"]} - {
        "06_seq2seq_attention",
        "11_transformer",
    }


RESULTS_MD = """\
# seqcourse results — default mode

Measured on: a machine.

| notebook | status | wall time | budget | parameters |
|---|---|---|---|---|
| 05_sequence_tagging | ok | 37.0 s | 300 s | defaults |
| 09_video_activity | ok | 210.2 s | 300 s | defaults |

Rows and sections of 05_sequence_tagging, 09_video_activity come from the seed-0 runs of \
`benchmarks/comparisons.py run` (the notebooks' default parameters; finished 05_sequence_tagging \
2026-12-06 17:27; 09_video_activity 2026-12-06 19:54 UTC) on: machine A.

## 05_sequence_tagging

| metric | value | target | met |
|---|---|---|---|
| majority_period_f1 | 0 | — | — |

## 09_video_activity

| metric | value | target | met |
|---|---|---|---|
| gru_accuracy | 1 | >= 0.95 | yes |
"""


def test_merging_one_notebook_keeps_the_others_rows_and_their_dates(tmp_path):
    results = tmp_path / "results.md"
    results.write_text(RESULTS_MD, encoding="utf-8")
    row = {
        "kind": "seed",
        "notebook": "09_video_activity",
        "seed": 0,
        "seconds": 130.1,
        "error": "",
        "metrics": {
            "gru_accuracy": 0.995,
            "gru_pair_accuracy": 0.9938,
            "frame_average_pair_accuracy": 0.5038,
        },
        "machine": "machine B",
        "finished": "2026-12-07T18:13:00+00:00",
    }
    comparisons.merge_results([row], ["09"], results)
    text = results.read_text(encoding="utf-8")
    assert "| 05_sequence_tagging | ok | 37.0 s |" in text
    assert "| 09_video_activity | ok | 130.1 s |" in text
    assert "| gru_accuracy | 0.995 | >= 0.95 | yes |" in text
    assert "| majority_period_f1 | 0 | — | — |" in text
    assert "05_sequence_tagging 2026-12-06 17:27; 09_video_activity 2026-12-07 18:13 UTC" in text
    assert "on: machine A; machine B." in text
    assert text.count("come from the seed-0 runs") == 1
