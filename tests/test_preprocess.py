"""MNIST-style preprocessing against the MNIST recipe, on real MNIST test digits re-rendered into frames."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from mnist_edge.edge_runtime.preprocess import PreprocessConfig, mnist_style, soft_ink

pytestmark = pytest.mark.edge

def render_as_photo(digit: np.ndarray, rng: np.random.Generator, scale: int = 3, paper: float = 200.0,
                    ink: float = 50.0) -> np.ndarray:
    """Dark ink on paper: the digit scaled up smoothly, blurred a little, with sensor noise."""
    coverage = np.clip(cv2.resize(digit.astype(np.float32) / 255, None, fx=scale, fy=scale,
                                  interpolation=cv2.INTER_CUBIC), 0, 1)
    frame = np.full((28 * scale + 60, 28 * scale + 60), paper, np.float32)
    frame[30:30 + 28 * scale, 30:30 + 28 * scale] -= (paper - ink) * coverage
    frame = cv2.GaussianBlur(frame, (0, 0), 1.0) + rng.normal(0, 3, frame.shape).astype(np.float32)
    return np.clip(frame, 0, 255).astype(np.uint8)


def ink_crop(photo: np.ndarray, paper: float = 200.0) -> np.ndarray:
    """Polarity-corrected crop (ink bright on black) with a margin, as detection hands it over."""
    ink = np.clip(paper - photo.astype(np.float32), 0, None)
    rows = np.flatnonzero((ink > 60).any(axis=1))
    cols = np.flatnonzero((ink > 60).any(axis=0))
    return ink[rows[0] - 10:rows[-1] + 11, cols[0] - 10:cols[-1] + 11]


def best_shift_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """MNIST shifts by whole pixels to centre the mass; a ±1 px difference in rounding is not an error."""
    return max(np.corrcoef(np.roll(a, (dy, dx), axis=(0, 1)).ravel(), b.ravel())[0, 1]
               for dy in (-1, 0, 1) for dx in (-1, 0, 1))


def test_rendered_mnist_digits_come_back_close_to_the_original(subset):
    images, labels = subset
    rng = np.random.default_rng(0)
    picks = np.concatenate([np.flatnonzero(labels == d)[:10] for d in range(10)])
    diffs, correlations = [], []
    for i in picks:
        original = images[i].astype(np.float32) / 255
        out = mnist_style(ink_crop(render_as_photo(images[i], rng)))
        diffs.append(np.abs(out - original).mean())
        correlations.append(best_shift_correlation(out, original))
    assert np.mean(diffs) < 0.06, np.mean(diffs)
    assert np.mean(correlations) > 0.93, np.mean(correlations)
    assert np.mean(np.array(correlations) > 0.85) >= 0.95, sorted(correlations)[:5]


def test_output_is_float32_28x28_with_peak_one(subset):
    images, _ = subset
    out = mnist_style(ink_crop(render_as_photo(images[0], np.random.default_rng(1))))
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() == pytest.approx(1.0)


def test_centre_of_mass_is_at_14_14_and_larger_side_is_20(subset):
    images, _ = subset
    rng = np.random.default_rng(2)
    for digit in images[:40]:
        out = mnist_style(ink_crop(render_as_photo(digit, rng)))
        m = cv2.moments(out)
        assert abs(m["m01"] / m["m00"] - 14) <= 0.5 and abs(m["m10"] / m["m00"] - 14) <= 0.5
        x, y, w, h = cv2.boundingRect((out > 0).astype(np.uint8))
        assert max(w, h) in (19, 20, 21), (w, h)


def test_thin_one_stays_thin():
    crop = np.zeros((80, 30), np.float32)
    cv2.line(crop, (15, 10), (15, 70), 200.0, 3, cv2.LINE_AA)  # a 60-px stroke, 3 px wide
    out = mnist_style(crop)
    x, y, w, h = cv2.boundingRect((out > 0.1).astype(np.uint8))
    assert h >= 19 and w <= 4, (w, h)  # not stretched to 20 px wide


def test_flat_digit_keeps_its_aspect_ratio():
    crop = np.zeros((40, 80), np.float32)
    cv2.ellipse(crop, (40, 20), (30, 10), 0, 0, 360, 255.0, 3, cv2.LINE_AA)
    out = mnist_style(crop)
    x, y, w, h = cv2.boundingRect((out > 0).astype(np.uint8))
    assert w == 20 and 7 <= h <= 10, (w, h)


def test_keeps_antialiased_gray_and_suppresses_background(subset):
    images, _ = subset
    photo = render_as_photo(images[5], np.random.default_rng(3))
    crop = ink_crop(photo)
    out = mnist_style(crop)
    # Anti-aliased edges survive as gray levels, as in MNIST (not a hard binary image).
    assert np.count_nonzero((out > 0.05) & (out < 0.95)) >= 20
    # The background (noise around 0 ± 3 in the crop) is exactly 0 away from the digit.
    far = cv2.dilate((out > 0).astype(np.uint8), np.ones((5, 5), np.uint8)) == 0
    assert far.sum() > 300 and out[far].max() == 0.0
    ink = soft_ink(crop)
    assert ink.min() == 0.0 and ink.max() == 1.0


def test_any_numeric_dtype_gives_the_same_result(subset):
    images, _ = subset
    crop = ink_crop(render_as_photo(images[7], np.random.default_rng(4)))
    reference = mnist_style(crop)
    for dtype, factor in ((np.uint8, 1), (np.uint16, 257), (np.float64, 1 / 255)):
        converted = (np.clip(crop, 0, 255) * factor).astype(dtype)
        np.testing.assert_allclose(mnist_style(converted), reference, atol=0.02)


def test_explicit_black_level_matches_ring_estimate(subset):
    images, _ = subset
    crop = ink_crop(render_as_photo(images[9], np.random.default_rng(5))) + 40.0  # raised black level
    np.testing.assert_allclose(mnist_style(crop), mnist_style(crop, black=float(np.median(crop[0]))), atol=0.05)


def test_empty_constant_and_tiny_crops_give_zeros():
    for crop in (np.zeros((30, 30)), np.full((30, 30), 77.0), np.zeros((1, 1)), np.ones((2, 2))):
        out = mnist_style(crop)
        assert out.shape == (28, 28) and not out.any()


def test_invalid_crops_raise_clear_errors():
    for bad in (np.zeros(10), np.zeros((0, 5)), np.zeros((4, 4, 3))):
        with pytest.raises(ValueError, match="2-D"):
            mnist_style(bad)


def test_config_box_size_is_respected():
    crop = np.zeros((60, 60), np.float32)
    cv2.circle(crop, (30, 30), 20, 255.0, 4, cv2.LINE_AA)
    out = mnist_style(crop, PreprocessConfig(box=16))
    x, y, w, h = cv2.boundingRect((out > 0).astype(np.uint8))
    assert max(w, h) == 16
