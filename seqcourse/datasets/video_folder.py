"""Real video for notebook 09 (full mode): a folder with one subfolder of clips per class, or
UCF101 from TensorFlow Datasets.

Videos are decoded with imageio's PyAV plugin (``pip install "seqcourse[video]"``), ``frames``
frames are sampled uniformly over each clip, converted to grayscale and resized to
``size`` x ``size`` with ``keras.ops.image.resize``, values in [0, 1]: the same layout as the
generated clips, (n, frames, size, size, 1).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seqcourse.datasets.errors import DataError

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm")


def _to_clip(video: np.ndarray, frames: int, size: int, name: str) -> np.ndarray:
    """(T, H, W, 3) uint8 video -> (frames, size, size, 1) float32, T >= frames."""
    import keras

    if len(video) < frames:
        raise DataError(
            f"{name}: only {len(video)} frames, fewer than the {frames} to sample; "
            "remove it or lower `frames`"
        )
    picks = np.linspace(0, len(video) - 1, frames).round().astype(int)
    gray = video[picks].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32) / 255
    resized = keras.ops.image.resize(gray[..., None], (size, size), antialias=True)
    return np.clip(np.asarray(resized), 0, 1).astype(np.float32)


def read_video(path: str | Path) -> np.ndarray:
    """All frames of a video file as (T, H, W, 3) uint8; DataError if it cannot be decoded."""
    try:
        import imageio.v3 as iio
    except ImportError as error:
        raise ImportError(
            'reading video needs imageio and PyAV: pip install "seqcourse[video]"'
        ) from error
    try:
        video = iio.imread(path, plugin="pyav")
    except Exception as error:  # PyAV raises many types for broken files
        raise DataError(
            f"{path}: cannot decode this video ({type(error).__name__}: {error})"
        ) from error
    if video.ndim != 4 or video.shape[-1] != 3:
        raise DataError(
            f"{path}: expected colour video frames, got an array of shape {video.shape}"
        )
    return video


def load_video_folder(folder: str | Path, frames: int = 16, size: int = 32):
    """Every video in ``folder/<class name>/`` -> ``(clips, labels, class_names)``.

    clips: (n, frames, size, size, 1) float32; labels: (n,) int indexing the sorted class
    names. Raises DataError naming the file for an unreadable or too-short video, a file that
    is not a video, or a folder without class subfolders.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder")
    class_dirs = sorted(d for d in folder.iterdir() if d.is_dir())
    if not class_dirs:
        raise DataError(f"{folder} has no class subfolders; expected {folder}/<class>/<clip>.mp4")
    clips, labels = [], []
    for label, class_dir in enumerate(class_dirs):
        files = sorted(f for f in class_dir.iterdir() if f.is_file())
        others = [f.name for f in files if f.suffix.lower() not in VIDEO_SUFFIXES]
        if others:
            raise DataError(
                f"{class_dir}: {len(others)} file(s) are not videos ({', '.join(VIDEO_SUFFIXES)}), "
                f"e.g. {others[:3]}; move them out"
            )
        if not files:
            raise DataError(f"class folder {class_dir} holds no videos")
        for f in files:
            clips.append(_to_clip(read_video(f), frames, size, str(f)))
            labels.append(label)
    return np.stack(clips), np.array(labels), [d.name for d in class_dirs]


def load_ucf101(
    split: str = "train", frames: int = 16, size: int = 32, data_dir: str | None = None
):
    """TFDS ``ucf101`` (config ``ucf101_1_256``: 101 actions, 9,537 / 3,783 train / test clips,
    about 6.5 GB to download) as ``(clips, labels, class_names)`` in the layout above."""
    from seqcourse.datasets.tfds_data import tfds_load

    ds, info = tfds_load("ucf101/ucf101_1_256", split=split, data_dir=data_dir, with_info=True)
    clips, labels = [], []
    for example in ds.as_numpy_iterator():
        clips.append(_to_clip(example["video"], frames, size, "ucf101 example"))
        labels.append(int(example["label"]))
    return np.stack(clips), np.array(labels), info.features["label"].names
