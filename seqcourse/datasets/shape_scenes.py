"""Small scenes of coloured shapes with captions (embedded, generated) for image captioning.

A scene is a 64x64 RGB image on a noisy light background holding one to three shapes (circle,
square, triangle), each with a colour (5) and a size (small, large). Two or three shapes stand
in a **row** (left to right) or a **column** (top to bottom). Captions follow a grammar
(card in ``data/README.md``):

* one shape: ``a small red circle``;
* a row: ``a small red circle left of a large blue square [left of ...]``, or the same scene
  mentioned from the other end: ``a large blue square right of a small red circle``;
* a column: ``... above ...`` / ``... below ...``.

So a scene with several shapes has two correct captions (the order of mention); evaluation
accepts either. Every scene is a deterministic function of ``(seed, split, index)``: a
smaller ``n`` gives a prefix of a larger one.
"""

from __future__ import annotations

import dataclasses
import zlib

import numpy as np

IMAGE_SIZE = 64
COLOURS = {
    "red": (215, 45, 45),
    "green": (40, 160, 70),
    "blue": (45, 85, 215),
    "yellow": (230, 195, 30),
    "purple": (145, 65, 190),
}
SHAPES = ("circle", "square", "triangle")
SIZES = {"small": 5.5, "large": 9.0}  # radius in pixels (half the width of a square)
RELATIONS = {"row": ("left", "right"), "column": ("above", "below")}
WORD_CATEGORIES = {
    **{c: "colour" for c in COLOURS},
    **{s: "shape" for s in SHAPES},
    **{s: "size" for s in SIZES},
    **{r: "relation" for pair in RELATIONS.values() for r in pair},
    "a": "function",
    "of": "function",
}
VOCABULARY = tuple(WORD_CATEGORIES)
SPLITS = ("train", "validation", "test")


@dataclasses.dataclass(frozen=True)
class Shape:
    """One drawn shape: kind, colour and size names, centre (x, y) and radius in pixels."""

    kind: str
    colour: str
    size: str
    x: float
    y: float
    radius: float

    def phrase(self) -> list[str]:
        return ["a", self.size, self.colour, self.kind]


def shape_mask(shape: Shape, size: int = IMAGE_SIZE) -> np.ndarray:
    """Boolean (size, size) mask of the pixels a shape covers."""
    y, x = np.mgrid[0:size, 0:size] + 0.5
    dx, dy, r = x - shape.x, y - shape.y, shape.radius
    if shape.kind == "circle":
        return dx**2 + dy**2 <= r**2
    if shape.kind == "square":
        return (np.abs(dx) <= 0.85 * r) & (np.abs(dy) <= 0.85 * r)
    # triangle pointing up: width grows from the apex (top) to the base (bottom)
    height = (dy + r) / (2 * r)
    return (height >= 0) & (height <= 1) & (np.abs(dx) <= height * r)


def captions_for(shapes: list[Shape], layout: str) -> list[list[str]]:
    """Every correct caption of a scene (a list of words each): one for a single shape, two
    (mentioned from either end) for a row or a column. ``shapes`` are in left-to-right or
    top-to-bottom order."""
    if len(shapes) == 1:
        return [shapes[0].phrase()]
    forward, backward = RELATIONS[layout]
    forward = forward if layout == "column" else f"{forward} of"
    backward = backward if layout == "column" else f"{backward} of"

    def join(ordered, relation):
        words = ordered[0].phrase()
        for shape in ordered[1:]:
            words += [*relation.split(), *shape.phrase()]
        return words

    return [join(shapes, forward), join(shapes[::-1], backward)]


def make_scene(rng: np.random.Generator) -> tuple[np.ndarray, list[Shape], str]:
    """Draw one scene: (uint8 image (64, 64, 3), its shapes in reading order, layout)."""
    n = int(rng.integers(1, 4))
    layout = "single" if n == 1 else str(rng.choice(["row", "column"]))
    slot = IMAGE_SIZE / n
    shapes = []
    for i in range(n):
        size = str(rng.choice(list(SIZES)))
        radius = SIZES[size]
        along = slot * (i + 0.5) + rng.uniform(-1, 1) * max(slot / 2 - radius - 1, 0)
        across = IMAGE_SIZE / 2 + rng.uniform(-1, 1) * (IMAGE_SIZE / 2 - radius - 2)
        x, y = (across, along) if layout == "column" else (along, across)
        shapes.append(
            Shape(str(rng.choice(SHAPES)), str(rng.choice(list(COLOURS))), size, x, y, radius)
        )
    image = np.full((IMAGE_SIZE, IMAGE_SIZE, 3), 235.0) + rng.normal(0, 6, (IMAGE_SIZE,) * 2 + (3,))
    for shape in shapes:
        colour = np.array(COLOURS[shape.colour]) + rng.normal(0, 12, 3)
        image[shape_mask(shape)] = colour
    return np.clip(image, 0, 255).astype(np.uint8), shapes, layout


def load_shape_scenes(split: str, n: int, seed: int = 0):
    """``n`` scenes of one split: ``(images, captions, scenes)``.

    images: uint8 (n, 64, 64, 3); captions: per scene, its list of correct captions (each a
    list of words); scenes: per scene, ``(shapes, layout)`` as drawn. Raises ValueError for an
    unknown split or n < 1.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    split_key = zlib.crc32(split.encode())
    images, captions, scenes = [], [], []
    for index in range(n):
        image, shapes, layout = make_scene(np.random.default_rng([seed, split_key, index]))
        images.append(image)
        captions.append(captions_for(shapes, layout))
        scenes.append((shapes, layout))
    return np.stack(images), captions, scenes
