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


# ---------------------------------------------------------------- what the clips show, measured


def clear_view(seed, **changes):
    """Nuisance parameters drawn as usual, then the object at full brightness and the
    distractor switched off: a pixel above 0.5 is then the object (noise has sd 0.08)."""
    params = sample_params(np.random.default_rng(seed))
    params.update(brightness=1.0, distractor=(*params["distractor"][:3], 0.0), **changes)
    return params


def lit(label, params):
    return render_clip(label, params)[..., 0] > 0.5  # (frames, height, width)


def centroids(frames):
    """(x, y) of the lit pixels of each frame, in pixel coordinates (y grows downwards)."""
    return np.array([np.argwhere(f)[:, ::-1].mean(0) + 0.5 for f in frames])


SEEDS = range(5)


@pytest.mark.parametrize("seed", SEEDS)
def test_grow_widens_the_disc_and_shrink_narrows_it(seed):
    grow, shrink = lit(0, clear_view(seed)).sum((1, 2)), lit(1, clear_view(seed)).sum((1, 2))
    assert np.all(np.diff(grow) >= 0) and grow[-1] > 4 * grow[0]  # radius 2 -> 10 (x scale)
    assert np.all(np.diff(shrink) <= 0) and shrink[0] > 4 * shrink[-1]


@pytest.mark.parametrize("seed", SEEDS)
def test_the_bar_turns_162_degrees_clockwise_or_anticlockwise(seed):
    def turned(label):
        """Per-frame turn of the bar's long axis (second moments of its pixels), in radians;
        positive is clockwise on screen because y grows downwards."""
        angles = []
        for frame in lit(label, clear_view(seed)):
            y, x = np.nonzero(frame)
            x, y = x - x.mean(), y - y.mean()
            angles.append(0.5 * np.arctan2(2 * np.mean(x * y), np.mean(x * x) - np.mean(y * y)))
        return (np.diff(angles) + np.pi / 2) % np.pi - np.pi / 2  # an axis is defined mod 180

    clockwise, anticlockwise = turned(2), turned(3)
    assert np.all(clockwise > -0.05) and clockwise.sum() == pytest.approx(np.radians(162), abs=0.1)
    assert np.all(anticlockwise < 0.05)
    assert anticlockwise.sum() == pytest.approx(-np.radians(162), abs=0.1)


@pytest.mark.parametrize("seed", SEEDS)
def test_raise_arm_lifts_the_moving_part_and_lower_arm_drops_it(seed):
    def moving_part_height(label):
        frames = lit(label, clear_view(seed))
        moving = frames & ~frames.all(axis=0)  # head, body and legs are lit in every frame
        return centroids(moving)[:, 1]

    raised, lowered = moving_part_height(4), moving_part_height(5)
    assert raised[-1] < raised[0] - 6 and np.all(np.diff(raised) < 1)
    assert lowered[-1] > lowered[0] + 6 and np.all(np.diff(lowered) > -1)


@pytest.mark.parametrize("seed", SEEDS)
def test_move_right_and_move_left_carry_the_square_across(seed):
    right, left = centroids(lit(6, clear_view(seed))), centroids(lit(7, clear_view(seed)))
    assert np.all(np.diff(right[:, 0]) >= 0) and right[-1, 0] - right[0, 0] == pytest.approx(20)
    assert np.all(np.diff(left[:, 0]) <= 0) and left[0, 0] - left[-1, 0] == pytest.approx(20)
    np.testing.assert_allclose(right[:, 1], right[0, 1])  # straight across: same height


@pytest.mark.parametrize("seed", SEEDS)
def test_blink_is_on_for_three_frames_then_off_for_three(seed):
    on = lit(8, clear_view(seed)).any(axis=(1, 2))
    assert on.tolist() == [1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1, 0]


@pytest.mark.parametrize("seed", SEEDS)
def test_wobble_shakes_the_square_three_pixels_each_way(seed):
    x = centroids(lit(9, clear_view(seed)))[:, 0]
    np.testing.assert_allclose(x - x[0], [0, 3, 0, -3] * 4, atol=1e-6)


def test_a_reversed_pair_has_the_same_mean_frame_but_not_the_same_frames():
    """Why a frame-averaging model cannot separate reversed pairs. A hand-made motion: the
    square (half-width 3.5 px at scale 1) sits at x = 6 for 8 frames, then jumps to x = 26."""
    params = clear_view(0, cy=16.0, scale=1.0, progress=np.repeat([0.0, 1.0], 8))
    right, left = render_clip(6, params)[..., 0], render_clip(7, params)[..., 0]
    squares = np.zeros((32, 32), bool)
    squares[12:20, 2:10] = squares[12:20, 22:30] = True  # rows 12-19; columns 2-9 and 22-29
    for clip in (right, left):
        mean = clip.mean(axis=0)
        assert np.all(np.abs(mean[squares] - 0.5) < 0.1)  # lit in 8 of the 16 frames
        assert np.all(mean[~squares] < 0.1)  # never lit: only the noise
    assert (right[0, 12:20, 2:10] > 0.5).all() and (right[0, 12:20, 22:30] < 0.5).all()
    assert (left[0, 12:20, 22:30] > 0.5).all() and (left[0, 12:20, 2:10] < 0.5).all()


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


def test_reference_per_frame_passes_the_judge_of_exercise_9_1_and_equals_time_distributed():
    import keras

    from seqcourse.grading.checks.nb09 import assert_per_frame
    from seqcourse.video import per_frame

    assert_per_frame(per_frame, (5, 4, 1), features=3, seed=1)
    encoder = keras.Sequential([keras.Input((6, 5, 2)), keras.layers.Conv2D(3, 3),
                                keras.layers.GlobalMaxPooling2D()])  # fmt: skip
    clips = np.random.default_rng(0).random((2, 4, 6, 5, 2)).astype("float32")
    expected = keras.layers.TimeDistributed(encoder)(clips)
    np.testing.assert_allclose(per_frame(encoder, clips), expected, atol=1e-6)
