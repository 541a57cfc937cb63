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
    assert "mode : fast" in out and "TensorFlow" in out and "Keras" in out
    assert info.mode == "fast" and info.keras == keras.__version__ and info.colab is False
    assert info.grading is False and "autograder" not in out
    monkeypatch.setenv("SEQCOURSE_GRADING", "1")
    assert seqcourse.setup(seed=7).grading is True
    assert "[autograder run]" in capsys.readouterr().out


def test_device_line_names_the_device_tensorflow_sees(capsys):
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    info = seqcourse.setup(seed=7)
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("device"))
    assert info.device in line
    if gpus:
        assert f"GPU x{len(gpus)}" in line and "CPU" not in line and not info.deterministic
    else:
        assert "CPU only" in line and "GPU" not in line and info.deterministic


def test_setup_names_a_visible_gpu_and_leaves_determinism_off(monkeypatch):
    import tensorflow as tf

    fake = [tf.config.PhysicalDevice(name="/physical_device:GPU:0", device_type="GPU")]
    grown = []
    monkeypatch.setattr(
        tf.config, "list_physical_devices", lambda kind=None: fake if kind == "GPU" else []
    )
    monkeypatch.setattr(
        tf.config.experimental, "set_memory_growth", lambda d, enable: grown.append((d, enable))
    )
    monkeypatch.setattr(
        tf.config.experimental, "get_device_details", lambda d: {"device_name": "NVIDIA H100"}
    )
    info = seqcourse.setup(seed=7, quiet=True)
    assert info.device == "GPU x1 (NVIDIA H100)" and info.deterministic is False
    assert grown == [(fake[0], True)]


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


RERUN_SCRIPT = """
import numpy as np, tensorflow as tf, keras
import seqcourse
seqcourse.setup(seed=7, quiet=True)
x = np.random.default_rng(0).normal(size=(256, 12, 3)).astype("float32")
y = (x[:, :, 0].sum(1) > 0).astype("float32")
ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(256, seed=0).batch(32)
model = keras.Sequential([keras.Input((12, 3)), keras.layers.GRU(8), keras.layers.Dropout(0.2),
                          keras.layers.Dense(1, activation="sigmoid")])
model.compile("adam", "binary_crossentropy")
model.fit(ds, epochs=2, verbose=0)
print(np.concatenate([w.ravel() for w in model.get_weights()]).tobytes().hex())
"""


def test_reruns_in_fresh_processes_train_bit_identical_models():
    """setup() seeds everything and turns on op determinism (no GPU here), so two runs of the
    same training on one machine agree to the last bit: shuffling, dropout, initialisers."""
    import subprocess
    import sys

    runs = [
        subprocess.run(
            [sys.executable, "-c", RERUN_SCRIPT], capture_output=True, text=True, check=True
        ).stdout.split()[-1]
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
