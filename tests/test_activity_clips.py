"""The video clips of notebook 09: deterministic, reversed classes are exact time reversals,
and the folder / TFDS loaders."""

import numpy as np
import pytest

from seqcourse.datasets.activity_clips import (
    CLASSES,
    REVERSED_PAIRS,
    load_activity_clips,
    render_clip,
    sample_params,
)


def test_clips_are_deterministic_prefixes_with_the_documented_shape():
    a, la = load_activity_clips("train", 20)
    b, lb = load_activity_clips("train", 30)
    np.testing.assert_array_equal(a, b[:20])
    np.testing.assert_array_equal(la, lb[:20])
    assert a.shape == (20, 16, 32, 32, 1) and a.dtype == np.float32
    assert a.min() >= 0 and a.max() <= 1
    c, _ = load_activity_clips("test", 20)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize(("forward", "backward"), REVERSED_PAIRS)
def test_reversed_classes_are_time_reversals(forward, backward):
    for seed in range(5):
        params = sample_params(np.random.default_rng(seed))
        clip, reverse = render_clip(forward, params), render_clip(backward, params)
        noise = np.random.default_rng(params["noise_seed"]).normal(0, 0.08, clip.shape)
        signal = lambda c, noise=noise: c - noise  # noqa: E731
        # frame content (before noise) of the backward clip is the forward one played backwards
        np.testing.assert_array_equal(
            np.clip(signal(reverse), 0, 1)[..., 0] > 0.45,
            np.clip(signal(clip), 0, 1)[::-1][..., 0] > 0.45,
        )
        assert not np.allclose(clip, clip[::-1], atol=0.2), "the activity changes over time"


def test_frame_averages_of_a_reversed_pair_match():
    """Why a frame-averaging model cannot separate reversed pairs: same mean frame."""
    params = sample_params(np.random.default_rng(3))
    for forward, backward in REVERSED_PAIRS:
        clean = lambda label: render_clip(label, {**params, "noise_seed": 0})  # noqa: E731
        mean_f, mean_b = clean(forward).mean(0), clean(backward).mean(0)
        assert np.abs(mean_f - mean_b).max() < 0.2


def test_balanced_test_split_and_bad_arguments():
    _, labels = load_activity_clips("test", 50)
    assert np.bincount(labels).tolist() == [5] * len(CLASSES)
    with pytest.raises(ValueError, match="split"):
        load_activity_clips("dev", 3)
    with pytest.raises(ValueError, match="label"):
        render_clip(10, sample_params(np.random.default_rng(0)))


# ---------------------------------------------------------------- real video: folder and TFDS


def write_video(path, frames_count, size=(24, 40)):
    import imageio.v3 as iio

    rng = np.random.default_rng(0)
    video = (rng.random((frames_count, *size, 3)) * 255).astype(np.uint8)
    video[:, :, : size[1] // 2] = 255  # a bright left half survives compression
    iio.imwrite(path, video, plugin="pyav", codec="libx264", fps=10)
    return video


def test_video_folder_loader_samples_resizes_and_labels(tmp_path):
    from seqcourse.datasets.video_folder import load_video_folder

    for name in ("jump", "wave"):
        (tmp_path / name).mkdir()
        write_video(tmp_path / name / "a.mp4", 20)
    write_video(tmp_path / "wave" / "b.mp4", 30)
    clips, labels, names = load_video_folder(tmp_path, frames=8, size=16)
    assert names == ["jump", "wave"] and labels.tolist() == [0, 1, 1]
    assert clips.shape == (3, 8, 16, 16, 1) and clips.dtype == np.float32
    assert clips[..., :4, 0].mean() > 0.9  # the bright left half, grayscale in [0, 1]


def test_video_folder_errors_name_the_file(tmp_path):
    from seqcourse.datasets.errors import DataError
    from seqcourse.datasets.video_folder import load_video_folder

    (tmp_path / "jump").mkdir()
    write_video(tmp_path / "jump" / "short.mp4", 5)
    with pytest.raises(DataError, match="short.mp4: only 5 frames"):
        load_video_folder(tmp_path, frames=16)
    (tmp_path / "jump" / "short.mp4").write_bytes(b"\x00" * 100)
    with pytest.raises(DataError, match="short.mp4: cannot decode"):
        load_video_folder(tmp_path)
    (tmp_path / "jump" / "notes.txt").write_text("x")
    with pytest.raises(DataError, match="notes.txt"):
        load_video_folder(tmp_path)
    with pytest.raises(DataError, match="no class subfolders"):
        load_video_folder(tmp_path / "jump")


def test_ucf101_under_mock_data():
    import tensorflow_datasets as tfds

    from seqcourse.datasets.video_folder import load_ucf101

    with tfds.testing.mock_data(num_examples=3):
        clips, labels, names = load_ucf101(frames=4, size=16)
    assert clips.shape == (3, 4, 16, 16, 1) and len(names) == 101
    assert set(labels.tolist()) <= set(range(101))
