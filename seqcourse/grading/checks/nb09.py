"""Public checks of notebook 09 (video activity recognition). Oracle of 9.1: NumPy — the frame
model the checks hand over is ``tanh(flatten(frame) @ W)`` with a ``W`` the judge draws, so the
judge computes every frame's features itself, frame by frame."""

from __future__ import annotations

import numpy as np

from seqcourse.grading.probes import per_frame_probe
from seqcourse.grading.public_checks import (
    CheckFailed,
    assert_close,
    assert_shape,
    fresh_rng,
    probe_with,
    public_check,
    replaces,
    require,
)

FRAME = (4, 3, 2)  # height, width, channels of the checks' frames
FEATURES = 5
BATCH = 3
FRAMES = (6, 3, 9)  # clip lengths: the function must take any number of frames
ATOL = 1e-5  # float32 computations against the judge's float64

replaces("9.1", "TimeDistributed", "per_frame")  # Keras' layer and the lesson's fallback

# ---------------------------------------------------------------- 9.1 apply_per_frame
#
# Probe (in the student's kernel): hand the student's function a frame model that records the
# shape of every call, on clips of several lengths, eagerly and inside a tf.function with
# unknown batch and time. Judge (here): each frame's features, computed frame by frame in
# NumPy; the calls the frame model saw (one, on all batch x time frames, is the fold).


class _Observed:
    """One probe of a student's ``apply_per_frame``: its replies and the judge's features."""

    def __init__(self, apply_per_frame, seed: int, frame=FRAME, features=FEATURES):
        rng = fresh_rng(seed)
        self.w = rng.normal(size=(int(np.prod(frame)), features)) / np.sqrt(np.prod(frame))
        self.clips = [rng.random((BATCH, t, *frame)) for t in FRAMES]
        self.traced = rng.random((BATCH + 1, FRAMES[0] + 1, *frame))
        self.replies = probe_with(apply_per_frame, per_frame_probe, self.w, self.clips, self.traced)
        if not _well_formed(self.replies, len(self.clips) + 1):
            raise CheckFailed(
                "the function could not be probed: its probe sent back malformed data"
            )

    def expected(self, clips) -> np.ndarray:
        """Each frame's features, one frame at a time (the judge's float64 oracle)."""
        batch, time = clips.shape[:2]
        out = np.zeros((batch, time, self.w.shape[1]))
        for b in range(batch):
            for t in range(time):
                out[b, t] = np.tanh(clips[b, t].reshape(-1) @ self.w)
        return out


def _well_formed(replies, count: int) -> bool:
    return (
        type(replies) is list
        and len(replies) == count
        and all(
            type(r) is dict
            and type(r.get("calls")) is list
            and (type(r.get("features")) is np.ndarray or type(r.get("error")) is str)
            for r in replies
        )
    )


def _features(seen: _Observed, index: int, what: str) -> np.ndarray:
    reply = seen.replies[index]
    if "error" in reply:
        raise CheckFailed(f"{what}: your function raised {reply['error']}")
    return reply["features"]


def _check_shape(seen: _Observed) -> None:
    clips = seen.clips[0]
    out = _features(seen, 0, f"on clips {clips.shape}")
    assert_shape(out, (*clips.shape[:2], seen.w.shape[1]), f"the features of clips {clips.shape}")


def _diagnose(out, expected) -> str:
    batch, time, features = expected.shape
    time_major = expected.transpose(1, 0, 2).reshape(batch, time, features)
    if out.shape == expected.shape and np.allclose(out, time_major, atol=1e-4):
        return "the frames come back in the wrong places: unfold in the order you folded. "
    return ""


def _check_values(seen: _Observed) -> None:
    require(_check_shape, seen)
    for index, clips in enumerate(seen.clips):
        out = _features(seen, index, f"on clips of {clips.shape[1]} frames")
        expected = seen.expected(clips)
        what = f"the features of clips of {clips.shape[1]} frames"
        try:
            assert_shape(out, expected.shape, what)
            assert_close(out, expected, what, atol=ATOL)
        except CheckFailed as err:
            raise CheckFailed(f"{_diagnose(out, expected)}{err}") from None


def _check_fold(seen: _Observed) -> None:
    require(_check_shape, seen)
    for index, clips in enumerate(seen.clips):
        calls = seen.replies[index]["calls"]
        batch, time = clips.shape[:2]
        if len(calls) == batch * time or len(calls) == time:
            raise CheckFailed(
                f"on clips of {time} frames frame_model was called {len(calls)} times (a loop "
                f"over frames): fold time into the batch and call it once on all "
                f"{batch * time} frames"
            )
        if len(calls) != 1 or calls[0] != [batch * time, *clips.shape[2:]]:
            raise CheckFailed(
                f"on clips {clips.shape} frame_model should be called once, on "
                f"({batch * time}, {', '.join(map(str, clips.shape[2:]))}); its calls saw "
                f"{[tuple(c) for c in calls[:5]]}"
            )


def _check_traced(seen: _Observed) -> None:
    require(_check_shape, seen)
    out = _features(
        seen,
        len(seen.clips),
        "inside tf.function with unknown batch and time (as model.fit calls it)",
    )
    expected = seen.expected(seen.traced)
    what = "the features inside tf.function with unknown batch and time"
    assert_shape(out, expected.shape, what)
    assert_close(out, expected, what, atol=ATOL)


def assert_per_frame(apply_per_frame, frame=(5, 4, 1), features: int = 3, seed: int = 0):
    """Every judgement of exercise 9.1 for other sizes (for hidden tests): CheckFailed if any
    fails. ``frame`` is (height, width, channels)."""
    seen = _Observed(apply_per_frame, seed, tuple(frame), features)
    for judge in (_check_shape, _check_values, _check_fold, _check_traced):
        judge(seen)


@public_check("9.1", "returns (batch, time, features) for clips of 6 frames", gate=True)
def _per_frame_shape(apply_per_frame):
    _check_shape(_Observed(apply_per_frame, 1))


@public_check(
    "9.1", "each frame's features are frame_model of that frame alone, for 3, 6 and 9 frames"
)
def _per_frame_values(apply_per_frame):
    _check_values(_Observed(apply_per_frame, 2))


@public_check("9.1", "frame_model is called once, on all batch x time frames folded together")
def _per_frame_fold(apply_per_frame):
    _check_fold(_Observed(apply_per_frame, 3))


@public_check(
    "9.1", "runs inside tf.function on clips of unknown batch and time, as model.fit calls it"
)
def _per_frame_traced(apply_per_frame):
    _check_traced(_Observed(apply_per_frame, 4))
