"""``seqcourse run -p``: the your-own-data modes of real notebooks run headless on small local data.

Notebook 03 reads a CSV of labelled reviews (``DATA=<file>``) and notebook 08 a folder of
``{digit}_{speaker}_{index}.wav`` recordings (``DATA=<folder>``); both files are written here
from the embedded data, so the test runs offline.
"""

import csv
import re
import wave
from pathlib import Path

import nbformat
import numpy as np
import pytest

from seqcourse.datasets import load_reviews
from seqcourse.datasets.spoken_digits import SAMPLE_RATE, load_digit_bank
from seqcourse.runner import run_notebook

NOTEBOOKS = Path(__file__).parents[1] / "notebooks"


def _printed(notebook: Path) -> str:
    nb = nbformat.read(notebook, as_version=4)
    return "".join(
        out.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == "stream"
    )


def test_sentiment_on_a_csv_of_reviews(tmp_path):
    texts, labels = load_reviews("train")
    path = tmp_path / "my_reviews.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        writer.writerows(
            (t, "pos" if y else "neg") for t, y in zip(texts[:200], labels[:200], strict=True)
        )
    result = run_notebook(
        NOTEBOOKS / "03_sentiment.ipynb",
        fast=True,
        out_dir=tmp_path,
        parameters={"DATA": str(path)},
    )
    assert result.error == "", result.error_detail
    assert result.parameters == {"DATA": str(path)}
    # 200 rows split 80/10/10 (160 reviews cannot teach one epoch much: targets are not asserted)
    assert "train 160, validation 20, test 20" in _printed(tmp_path / "03_sentiment.ipynb")


def _write_wavs(folder: Path, bank, voices, rate: int = SAMPLE_RATE, channels: int = 1):
    """The bank's clips of ``voices`` as ``{digit}_{speaker}_0.wav`` 16-bit PCM files; at
    ``rate`` (linear interpolation) and with ``channels`` identical channels."""
    folder.mkdir()
    for clip, digit, speaker in zip(bank.clips, bank.digits, bank.speakers, strict=True):
        if speaker in voices:
            times = np.arange(int(len(clip) * rate / SAMPLE_RATE)) * SAMPLE_RATE / rate
            audio = np.interp(times, np.arange(len(clip)), clip)
            pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2")
            name = speaker.replace("+", "-")
            with wave.open(str(folder / f"{digit}_{name}_0.wav"), "wb") as fh:
                fh.setnchannels(channels)
                fh.setsampwidth(2)
                fh.setframerate(rate)
                fh.writeframes(np.repeat(pcm, channels).tobytes())


def test_speech_recognition_on_a_folder_of_wavs_tested_on_another(tmp_path):
    """DATA= trains on a folder of WAVs; TEST_WAVS= decodes another folder (here 16 kHz
    stereo, resampled and mixed down) and records its error rates."""
    bank = load_digit_bank()
    voices = list(dict.fromkeys(bank.speakers))
    _write_wavs(tmp_path / "my_wavs", bank, voices[:6])
    _write_wavs(tmp_path / "test_wavs", bank, voices[6:8], rate=16000, channels=2)
    parameters = {"DATA": str(tmp_path / "my_wavs"), "TEST_WAVS": str(tmp_path / "test_wavs")}
    result = run_notebook(
        NOTEBOOKS / "08_speech_recognition.ipynb",
        fast=True,
        out_dir=tmp_path,
        parameters=parameters,
    )
    assert result.problems(check_budget=False) == [], result.error_detail
    assert "60 clips from 6 speakers" in _printed(tmp_path / "08_speech_recognition.ipynb")
    for name in ("real_speaker_cer", "real_speaker_wer", "real_speaker_lexicon_cer"):
        assert 0 <= result.metrics[name] <= 2, result.metrics
    printed = _printed(tmp_path / "08_speech_recognition.ipynb")  # the per-speaker report
    rows = [(v.replace("+", "-"), 10) for v in voices[6:8]] + [("all", 20)]
    for speaker, files in rows:
        assert re.search(rf"^{re.escape(speaker)} +{files} +[\d.]+% /", printed, re.M), printed[
            -800:
        ]


# ---------------------------------------------------------------- relative paths (issue 39)


def test_relative_paths_are_taken_from_the_callers_folder(tmp_path):
    from seqcourse.parameters import resolve_paths

    (tmp_path / "my_wavs").mkdir()
    (tmp_path / "reviews.csv").write_text("text,label\n")
    got = resolve_paths(
        {
            "DATA": "my_wavs/",
            "CSV": "reviews.csv",
            "LATER": "sub/new.csv",
            "MODE": "imdb",
            "ABS": "/data/x.csv",
            "EPOCHS": 3,
            "FLAG": True,
        },  # fmt: skip
        cwd=tmp_path,
    )
    assert got["DATA"] == f"{tmp_path}/my_wavs/" and got["CSV"] == f"{tmp_path}/reviews.csv"
    assert got["LATER"] == f"{tmp_path}/sub/new.csv"  # a separator: a path, even if not there yet
    assert (got["MODE"], got["ABS"], got["EPOCHS"], got["FLAG"]) == ("imdb", "/data/x.csv", 3, True)


def test_seqcourse_run_hands_the_kernel_absolute_paths(tmp_path, monkeypatch):
    """The README's `seqcourse run notebooks/08_… -p DATA=my_wavs/`, typed in the course's root:
    the kernel runs in notebooks/, so the runner must receive the path from the root."""
    import seqcourse.runner
    from seqcourse.cli import main

    seen = {}
    monkeypatch.setattr(
        seqcourse.runner, "run", lambda *a, parameters, **k: seen.update(parameters) or 0
    )
    (tmp_path / "my_wavs").mkdir()
    monkeypatch.chdir(tmp_path)
    notebook = NOTEBOOKS / "08_speech_recognition.ipynb"
    assert main(["run", str(notebook), "-p", "DATA=my_wavs/", "-p", "EPOCHS=8"]) == 0
    assert seen == {"DATA": f"{tmp_path}/my_wavs/", "EPOCHS": 8}


# ---------------------------------------------------------------- papermill reads them (issue 39)


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.stem)
def test_papermill_sees_exactly_the_parameters_seqcourse_run_accepts(path):
    """papermill skips a parameter line with more than one '=' (``scale(default=…, fast=…)``,
    ``>= 1`` in a comment): parameters cells write ``scale(30, 1)`` and "at least 1"."""
    import logging

    import papermill

    from seqcourse.parameters import declared_parameters

    logging.getLogger("papermill").setLevel(logging.ERROR)
    found = set(papermill.inspect_notebook(str(path)))
    assert found == set(declared_parameters(nbformat.read(path, as_version=4)))
