import json

import pytest

import seqcourse
from seqcourse import runtime


def test_scale_follows_fast_flag(monkeypatch):
    monkeypatch.setenv("SEQCOURSE_FAST", "1")
    assert seqcourse.is_fast()
    assert seqcourse.scale(default=20, fast=1) == 1
    monkeypatch.setenv("SEQCOURSE_FAST", "0")
    assert not seqcourse.is_fast()
    assert seqcourse.scale(default=20, fast=1) == 20
    monkeypatch.delenv("SEQCOURSE_FAST")
    assert seqcourse.scale(default=20, fast=1) == 20


def test_setup_seeds_and_reports(monkeypatch, capsys):
    import keras
    import numpy as np

    monkeypatch.setenv("SEQCOURSE_FAST", "1")
    info = seqcourse.setup(seed=7)
    first = (np.random.rand(), float(keras.random.uniform(())))
    seqcourse.setup(seed=7, quiet=True)
    second = (np.random.rand(), float(keras.random.uniform(())))
    assert first == second
    out = capsys.readouterr().out
    assert "mode : fast" in out and "TensorFlow" in out and "Keras" in out and "CPU" in out
    assert info.mode == "fast" and info.keras == keras.__version__ and info.colab is False
    assert info.grading is False and "autograder" not in out
    monkeypatch.setenv("SEQCOURSE_GRADING", "1")
    assert seqcourse.setup(seed=7).grading is True
    assert "[autograder run]" in capsys.readouterr().out


def test_record_appends_to_the_record_file(tmp_path, monkeypatch, capsys):
    path = tmp_path / "records.jsonl"
    monkeypatch.setenv(runtime.RECORD_FILE_ENV, str(path))
    seqcourse.record("accuracy", 0.5)
    import numpy as np

    seqcourse.record("loss", np.float32(0.25))
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines == [{"name": "accuracy", "value": 0.5}, {"name": "loss", "value": 0.25}]
    assert "recorded accuracy = 0.5" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("name", "value", "error", "words"),
    [
        ("acc", "high", TypeError, "must be a number"),
        ("acc", float("nan"), ValueError, "finite"),
        ("", 1.0, ValueError, "non-empty"),
        ("acc", [1, 2], TypeError, "must be a number"),
    ],
)
def test_record_rejects_bad_values(name, value, error, words, monkeypatch):
    monkeypatch.delenv(runtime.RECORD_FILE_ENV, raising=False)
    with pytest.raises(error, match=words):
        seqcourse.record(name, value)


def test_colab_url_uses_the_one_repository_url():
    url = seqcourse.colab_url("notebooks/x.ipynb")
    owner_repo = seqcourse.REPO_URL.removeprefix("https://github.com/")
    assert (
        url == f"https://colab.research.google.com/github/{owner_repo}/blob/main/notebooks/x.ipynb"
    )
