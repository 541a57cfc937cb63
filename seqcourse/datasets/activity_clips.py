"""Short generated video clips of simple activities, several of which differ only in the
direction of time (embedded, generated; notebook 09).

A clip is 16 grayscale frames of 32x32 pixels, values in [0, 1], shape (16, 32, 32, 1).
Classes (card in ``data/README.md``):

* four **time-reversed pairs** — each clip of the second class *is* a clip of the first
  played backwards (same nuisance parameters, frames in reverse order):
  ``grow`` / ``shrink`` (a disc), ``rotate clockwise`` / ``rotate anticlockwise`` (a bar),
  ``raise arm`` / ``lower arm`` (a stick figure), ``move right`` / ``move left`` (a square);
* two classes that are their own reversal: ``blink`` (a disc that flashes on and off) and
  ``wobble`` (a square shaking sideways).

Nuisance variation: position, size, speed (how much of the motion happens, and when),
brightness, pixel noise, and a static distractor blob. Every clip is a deterministic
function of ``(seed, split, index)``.
"""

from __future__ import annotations

import zlib

import numpy as np

FRAMES, SIZE = 16, 32
CLASSES = (
    "grow", "shrink", "rotate clockwise", "rotate anticlockwise", "raise arm", "lower arm",
    "move right", "move left", "blink", "wobble",
)  # fmt: skip
REVERSED_PAIRS = ((0, 1), (2, 3), (4, 5), (6, 7))  # (forward class, its time reversal)
SPLITS = ("train", "validation", "test")


def _progress(rng: np.random.Generator) -> np.ndarray:
    """How far the motion has got at each frame (0 -> 1), with random speed and start."""
    start, end = rng.uniform(0, 0.3), rng.uniform(0.7, 1.0)
    t = np.clip((np.linspace(0, 1, FRAMES) - start) / (end - start), 0, 1)
    return t ** rng.uniform(0.7, 1.4)


def _disc(cx, cy, r):
    y, x = np.mgrid[0:SIZE, 0:SIZE] + 0.5
    return ((x - cx) ** 2 + (y - cy) ** 2 <= r**2).astype(np.float32)


def _segment(x0, y0, x1, y1, width=1.3):
    """Pixels within ``width`` of the segment (x0, y0)-(x1, y1)."""
    y, x = np.mgrid[0:SIZE, 0:SIZE] + 0.5
    dx, dy = x1 - x0, y1 - y0
    t = np.clip(((x - x0) * dx + (y - y0) * dy) / max(dx * dx + dy * dy, 1e-9), 0, 1)
    return (np.hypot(x - (x0 + t * dx), y - (y0 + t * dy)) <= width).astype(np.float32)


def _square(cx, cy, half):
    y, x = np.mgrid[0:SIZE, 0:SIZE] + 0.5
    return ((np.abs(x - cx) <= half) & (np.abs(y - cy) <= half)).astype(np.float32)


def sample_params(rng: np.random.Generator) -> dict:
    """Nuisance parameters of one clip (shared by a class and its reversal)."""
    return {
        "cx": rng.uniform(11, 21), "cy": rng.uniform(11, 21), "scale": rng.uniform(0.8, 1.2),
        "progress": _progress(rng), "brightness": rng.uniform(0.6, 1.0),
        "angle0": rng.uniform(0, np.pi), "noise_seed": int(rng.integers(2**31)),
        "distractor": (rng.uniform(2, 30), rng.uniform(2, 30), rng.uniform(1.5, 3.0),
                       rng.uniform(0.2, 0.5)),
    }  # fmt: skip


def _forward_frames(kind: str, p: dict) -> np.ndarray:
    """(FRAMES, SIZE, SIZE) of the forward version of an activity."""
    cx, cy, s, progress = p["cx"], p["cy"], p["scale"], p["progress"]
    frames = []
    for k, t in enumerate(progress):
        if kind == "grow":
            frame = _disc(cx, cy, s * (2 + 8 * t))
        elif kind == "rotate":
            a = p["angle0"] + t * np.pi * 0.9  # clockwise on screen (y points down)
            r = 9 * s
            frame = _segment(
                cx - r * np.cos(a), cy - r * np.sin(a), cx + r * np.cos(a), cy + r * np.sin(a)
            )
        elif kind == "arm":
            head = _disc(cx, cy - 8 * s, 2.2 * s)
            body = _segment(cx, cy - 6 * s, cx, cy + 5 * s)
            legs = _segment(cx, cy + 5 * s, cx - 3 * s, cy + 10 * s) + _segment(
                cx, cy + 5 * s, cx + 3 * s, cy + 10 * s
            )
            a = np.pi / 2 * (1 - 2 * t) * 0.9  # from pointing down to pointing up
            arm = _segment(cx, cy - 3 * s, cx + 8 * s * np.cos(a), cy - 3 * s + 8 * s * np.sin(a))
            frame = np.clip(head + body + legs + arm, 0, 1)
        elif kind == "move":
            x = 6 + (SIZE - 12) * t
            frame = _square(x, cy, 3.5 * s)
        elif kind == "blink":
            frame = _disc(cx, cy, 5 * s) * float((k // 3) % 2 == 0)
        elif kind == "wobble":
            frame = _square(cx + 3 * np.sin(k * np.pi / 2), cy, 4 * s)
        else:
            raise ValueError(kind)
        frames.append(frame)
    return np.stack(frames)


_FORWARD = {0: "grow", 2: "rotate", 4: "arm", 6: "move", 8: "blink", 9: "wobble"}


def render_clip(label: int, params: dict) -> np.ndarray:
    """One clip of class ``label`` with the given nuisance parameters: (16, 32, 32, 1) float32.

    The second class of each reversed pair is rendered as its partner's frames in reverse
    order; noise and the distractor are then added identically, so
    ``render_clip(1, p) == render_clip(0, p)[::-1]`` exactly when the noise is the same.
    """
    if not 0 <= label < len(CLASSES):
        raise ValueError(f"label must be in [0, {len(CLASSES)}), got {label}")
    reversed_of = {b: a for a, b in REVERSED_PAIRS}
    if label in reversed_of:
        frames = _forward_frames(_FORWARD[reversed_of[label]], params)[::-1]
    else:
        frames = _forward_frames(_FORWARD[label], params)
    dx, dy, dr, level = params["distractor"]
    frames = np.maximum(frames * params["brightness"], _disc(dx, dy, dr)[None] * level)
    noise = np.random.default_rng(params["noise_seed"]).normal(0, 0.08, frames.shape)
    return np.clip(frames + noise, 0, 1).astype(np.float32)[..., None]


def load_activity_clips(split: str, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` clips of one split with balanced random labels: (clips (n, 16, 32, 32, 1) float32,
    labels (n,) int). Deterministic in (seed, split); a smaller n gives a prefix."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    key = zlib.crc32(split.encode())
    clips, labels = [], []
    for index in range(n):
        rng = np.random.default_rng([seed, key, index])
        label = index % len(CLASSES) if split == "test" else int(rng.integers(len(CLASSES)))
        clips.append(render_clip(label, sample_params(rng)))
        labels.append(label)
    return np.stack(clips), np.array(labels)
