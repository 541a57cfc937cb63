"""``seqcourse run -p``: the your-own-data modes of real notebooks run headless on small local data.

Notebook 03 reads a CSV of labelled reviews (``DATA=<file>``) and notebook 08 a folder of
``{digit}_{speaker}_{index}.wav`` recordings (``DATA=<folder>``); both files are written here
from the embedded data, so the test runs offline.
"""

import csv
import wave
from pathlib import Path

import nbformat
import numpy as np

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


def test_speech_recognition_on_a_folder_of_wavs(tmp_path):
    bank = load_digit_bank()
    voices = list(dict.fromkeys(bank.speakers))[:6]
    folder = tmp_path / "my_wavs"
    folder.mkdir()
    for clip, digit, speaker in zip(bank.clips, bank.digits, bank.speakers, strict=True):
        if speaker in voices:
            pcm = (np.clip(clip, -1, 1) * 32767).astype("<i2")
            name = speaker.replace("+", "-")
            with wave.open(str(folder / f"{digit}_{name}_0.wav"), "wb") as fh:
                fh.setnchannels(1)
                fh.setsampwidth(2)
                fh.setframerate(SAMPLE_RATE)
                fh.writeframes(pcm.tobytes())
    result = run_notebook(
        NOTEBOOKS / "08_speech_recognition.ipynb",
        fast=True,
        out_dir=tmp_path,
        parameters={"DATA": str(folder)},
    )
    assert result.problems(check_budget=False) == [], result.error_detail
    assert "60 clips from 6 speakers" in _printed(tmp_path / "08_speech_recognition.ipynb")
