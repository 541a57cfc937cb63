"""The captioning scenes: deterministic, and every caption describes what was drawn, read back
from the pixels alone (never from the generator's own bookkeeping or masks)."""

import numpy as np
import pytest
from scipy import ndimage

from seqcourse.datasets.shape_scenes import COLOURS, VOCABULARY, load_shape_scenes

RADIUS = {"small": 5.5, "large": 9.0}  # pixels, from the dataset card (data/README.md)


def drawn_objects(image):
    """The shapes in an image, found from its pixels: every course colour has a channel below
    100 and the background is light grey, so a shape is a connected blob of pixels with a dark
    channel. Each comes back with its colour (nearest palette entry to the blob's mean), its
    kind (how much of its bounding box it fills: a square all of it, a circle pi/4, a triangle
    pointing up half), its size (a small shape spans about 11 px, a large one 15 to 18), its
    pixel count and its centroid (x, y)."""
    image = image.astype(float)
    labels, count = ndimage.label(image.min(axis=-1) < 150)
    objects = []
    for k in range(1, count + 1):
        ys, xs = np.nonzero(labels == k)
        mean = image[ys, xs].mean(axis=0)
        fill = len(ys) / ((np.ptp(ys) + 1) * (np.ptp(xs) + 1))
        extent = max(np.ptp(ys), np.ptp(xs)) + 1
        objects.append(
            {
                "colour": min(COLOURS, key=lambda c: np.sum((np.array(COLOURS[c]) - mean) ** 2)),
                "kind": "square" if fill > 0.95 else "circle" if fill > 0.68 else "triangle",
                "size": "small" if extent <= 12 else "large" if extent >= 15 else "?",
                "pixels": len(ys),
                "x": xs.mean() + 0.5,
                "y": ys.mean() + 0.5,
            }
        )
    return objects


def describe(objects):
    return [(o["size"], o["colour"], o["kind"]) for o in objects]


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


def test_captions_name_the_shapes_drawn():
    images, captions, _ = load_shape_scenes("validation", 300)
    seen_counts = set()
    for image, references in zip(images, captions, strict=True):
        objects, _ = parse(references[0])
        drawn = drawn_objects(image)
        seen_counts.add(len(drawn))
        assert sorted(objects) == sorted(describe(drawn))  # also: shapes never touch
        for reference in references[1:]:
            assert sorted(parse(reference)[0]) == sorted(objects)
        assert len(references) == (1 if len(drawn) == 1 else 2)
    assert seen_counts == {1, 2, 3}


def test_relation_words_follow_the_positions_of_the_drawn_shapes():
    images, captions, _ = load_shape_scenes("validation", 300)
    relations = set()
    for image, references in zip(images, captions, strict=True):
        drawn = drawn_objects(image)
        for reference in references if len(drawn) > 1 else []:
            objects, relation = parse(reference)
            relations.add(relation)
            # "X left of Y": X's centroid has the smaller x; "X above Y": the smaller y (rows
            # count down); "right of" and "below" the other way round
            axis = "x" if relation in ("left", "right") else "y"
            ordered = sorted(drawn, key=lambda o, axis=axis: o[axis])
            if relation in ("right", "below"):
                ordered = ordered[::-1]
            assert objects == describe(ordered), (reference, drawn)
    assert relations == {"left", "right", "above", "below"}


def test_circles_have_the_area_of_their_documented_radius():
    images, captions, _ = load_shape_scenes("validation", 200)
    circles = 0
    for image in images:
        for o in drawn_objects(image):
            if o["kind"] == "circle":
                circles += 1
                area = np.pi * RADIUS[o["size"]] ** 2  # 95 or 254 pixels
                assert abs(o["pixels"] - area) < 0.08 * area
    assert circles > 50


def test_every_caption_word_is_in_the_vocabulary():
    _, captions, _ = load_shape_scenes("train", 200)
    words = {w for refs in captions for ref in refs for w in ref}
    assert words <= set(VOCABULARY)
    assert {"left", "right", "above", "below", "triangle", "purple"} <= words


def test_shapes_stay_inside_the_image():
    images, _, _ = load_shape_scenes("train", 300)
    dark = images.astype(float).min(axis=-1) < 150  # a shape's pixels (see drawn_objects)
    border = dark[:, 0].any() or dark[:, -1].any() or dark[:, :, 0].any() or dark[:, :, -1].any()
    assert not border
    assert min(o["pixels"] for image in images for o in drawn_objects(image)) > 20


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
