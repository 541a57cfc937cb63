"""The captioning scenes: deterministic, and every caption describes what was drawn (read back
from the pixels, not from the generator's own bookkeeping)."""

import dataclasses

import numpy as np
import pytest

from seqcourse.datasets.shape_scenes import (
    COLOURS,
    SIZES,
    VOCABULARY,
    load_shape_scenes,
    shape_mask,
)


def pixel(image, x, y):
    return image[int(y), int(x)].astype(float)


def colour_at(image, x, y):
    """Name of the course colour nearest to the pixel, or None for the light background."""
    value = pixel(image, x, y)
    if value.mean() > 200 and value.min() > 180:
        return None
    return min(COLOURS, key=lambda name: np.sum((np.array(COLOURS[name]) - value) ** 2))


def kind_from_pixels(image, shape):
    """The kind whose outline best matches the pixels painted in the shape's colour around its
    centre (intersection over union with each candidate outline)."""
    painted = np.sum((image.astype(float) - COLOURS[shape.colour]) ** 2, axis=-1) < 60**2
    window = np.zeros(painted.shape, bool)
    r = int(np.ceil(shape.radius)) + 2
    window[
        max(int(shape.y) - r, 0) : int(shape.y) + r, max(int(shape.x) - r, 0) : int(shape.x) + r
    ] = True
    painted &= window

    def iou(kind):
        outline = shape_mask(dataclasses.replace(shape, kind=kind))
        return (outline & painted).sum() / (outline | painted).sum()

    return max(("circle", "square", "triangle"), key=iou)


def parse(caption):
    """Caption words -> [(size, colour, kind)], relation word or None."""
    objects, relations, i = [], set(), 0
    while i < len(caption):
        if caption[i] == "a":
            objects.append(tuple(caption[i + 1 : i + 4]))
            i += 4
        else:
            relations.add(caption[i])
            i += 2 if caption[i] in ("left", "right") else 1
    assert len(relations) <= 1
    return objects, next(iter(relations), None)


def test_same_seed_same_scenes_and_prefixes():
    a = load_shape_scenes("train", 30)
    b = load_shape_scenes("train", 50)
    np.testing.assert_array_equal(a[0], b[0][:30])
    assert a[1] == b[1][:30]
    c = load_shape_scenes("train", 30, seed=1)
    assert not np.array_equal(a[0], c[0])
    assert not np.array_equal(a[0], load_shape_scenes("test", 30)[0])


def test_captions_agree_with_the_pixels():
    images, captions, scenes = load_shape_scenes("validation", 300)
    seen_counts = set()
    for image, references, (shapes, layout) in zip(images, captions, scenes, strict=True):
        seen_counts.add(len(shapes))
        objects, relation = parse(references[0])
        assert len(objects) == len(shapes)
        for (size, colour, kind), shape in zip(objects, shapes, strict=True):
            assert colour_at(image, shape.x, shape.y) == colour
            assert kind_from_pixels(image, shape) == kind
            assert SIZES[size] == shape.radius
        if len(shapes) > 1:
            axis = "x" if layout == "row" else "y"
            first = [getattr(s, axis) for s in shapes]
            assert first == sorted(first)
            radii = np.array([s.radius for s in shapes])
            assert np.all(np.diff(first) > radii[:-1] + radii[1:])  # neighbours never touch
            assert relation == ("left" if layout == "row" else "above")
            back_objects, back_relation = parse(references[1])
            assert back_objects == objects[::-1]
            assert back_relation == ("right" if layout == "row" else "below")
        else:
            assert len(references) == 1
    assert seen_counts == {1, 2, 3}


def test_every_caption_word_is_in_the_vocabulary():
    _, captions, _ = load_shape_scenes("train", 200)
    words = {w for refs in captions for ref in refs for w in ref}
    assert words <= set(VOCABULARY)
    assert {"left", "right", "above", "below", "triangle", "purple"} <= words


def test_shapes_stay_inside_the_image():
    _, _, scenes = load_shape_scenes("train", 300)
    for shapes, _ in scenes:
        for shape in shapes:
            mask = shape_mask(shape)
            assert mask.sum() > 20
            assert not (mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any())


def test_bad_arguments():
    with pytest.raises(ValueError, match="split"):
        load_shape_scenes("dev", 3)
    with pytest.raises(ValueError, match="n must"):
        load_shape_scenes("train", 0)


def test_bleu_accepts_either_reference_and_penalises_a_wrong_word():
    """How notebook 07 scores captions: NLTK's corpus BLEU-4 against all references."""
    from nltk.translate.bleu_score import SmoothingFunction, corpus_bleu

    _, captions, _ = load_shape_scenes("test", 40)
    several = [refs for refs in captions if len(refs) == 2][:10]
    smooth = SmoothingFunction().method1
    assert corpus_bleu(several, [refs[1] for refs in several], smoothing_function=smooth) == 1.0
    wrong = [[("green" if w == "red" else "red") if w in COLOURS else w for w in refs[0]]
             for refs in several]  # fmt: skip
    assert corpus_bleu(several, wrong, smoothing_function=smooth) < 0.8
