"""Digit detection on camera-like frames: polarity, lighting, distractors, odd inputs, ROI, speed."""
from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest

from mnist_edge.benchmarks.camera_synth import SynthConfig, make_frame
from mnist_edge.benchmarks.reading_eval import iou, match_boxes
from conftest import REPO
from mnist_edge.edge_runtime.detect import DetectConfig, find_digits, locate_digits
from mnist_edge.edge_runtime.grouping import group_numbers
from mnist_edge.edge_runtime.pipeline import DigitReader

pytestmark = pytest.mark.edge

def truth_boxes(truth: dict) -> list[list[int]]:
    return [d["box"] for n in truth["numbers"] for d in n["digits"]]


def exact(candidates, truth) -> bool:
    """Boxes one-to-one with the truth (IoU > 0.5) and grouped into the true numbers."""
    boxes = [c.box for c in candidates]
    true = truth_boxes(truth)
    match = match_boxes(boxes, true)
    if not len(match) == len(boxes) == len(true):
        return False
    ids, k = [], 0
    for number in truth["numbers"]:
        ids.append(tuple(range(k, k + len(number["digits"]))))
        k += len(number["digits"])
    found = sorted(tuple(match[i] for i in g) for g in group_numbers(boxes))
    return found == sorted(ids)


def paper_frame(digits, positions, height=60, size=(480, 640), paper=210.0, ink=40.0, light=None,
                blur=0.8, noise=3.0, seed=0) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """Gray frame with MNIST digits as ink (scaled so that 20 MNIST px = `height`), and their ink boxes."""
    h, w = size
    coverage = np.zeros(size, np.float32)
    boxes = []
    for digit, (x, y) in zip(digits, positions):
        scaled = np.clip(cv2.resize(digit.astype(np.float32) / 255, None, fx=height / 20, fy=height / 20,
                                    interpolation=cv2.INTER_CUBIC), 0, 1)
        ch, cw = scaled.shape
        np.maximum(coverage[y:y + ch, x:x + cw], scaled, out=coverage[y:y + ch, x:x + cw])
        bx, by, bw, bh = cv2.boundingRect((scaled > 0.5).astype(np.uint8))
        boxes.append((x + bx, y + by, bw, bh))
    img = paper * (1 - coverage) + ink * coverage
    if light is not None:
        img = img * light
    img = cv2.GaussianBlur(img, (0, 0), blur) + np.random.default_rng(seed).normal(0, noise, size)
    return np.clip(img, 0, 255).astype(np.uint8), boxes


def assert_found(candidates, boxes):
    found = [c.box for c in candidates]
    assert len(found) == len(boxes), (found, boxes)
    for box in boxes:
        assert max(iou(box, f) for f in found) > 0.5, (box, found)


@pytest.mark.parametrize("dark_on_light_prob", [1.0, 0.0], ids=["dark-on-light", "light-on-dark"])
def test_camera_like_frames_both_polarities(subset, dark_on_light_prob):
    images, labels = subset
    config = SynthConfig(dark_on_light_prob=dark_on_light_prob)
    results = [exact(find_digits(frame), truth)
               for frame, truth in (make_frame(images, labels, np.random.default_rng([77, i]), config)
                                    for i in range(10))]
    assert sum(results) >= 9, results


def test_locating_then_preparing_is_find_digits(subset):
    images, labels = subset
    frame, _ = make_frame(images, labels, np.random.default_rng([77, 3]), SynthConfig())
    marks = locate_digits(frame)
    prepared, found = marks.prepare(), find_digits(frame)
    assert len(marks) >= len(prepared) == len(found) > 0  # preparing may still drop a mark (a faint halo)
    assert [c.box for c in prepared] == [c.box for c in found]
    assert all(np.array_equal(a.image, b.image) for a, b in zip(prepared, found))
    assert len(locate_digits(np.full((480, 640), 200, np.uint8))) == 0
    assert locate_digits(np.full((480, 640), 200, np.uint8)).prepare() == []


def test_gradient_lighting_and_hard_shadow(subset):
    images, labels = subset
    picks = [np.flatnonzero(labels == d)[0] for d in (3, 7, 1, 8, 5)]
    xs = [40, 160, 280, 400, 520]
    yy, xx = np.mgrid[0:480, 0:640].astype(np.float32)
    light = 0.25 + 0.75 * xx / 640                                   # 4x brighter on the right
    shadow = cv2.GaussianBlur((yy > 240).astype(np.float32), (0, 0), 4)
    light *= 1 - 0.55 * shadow                                      # and a shadow over the lower half
    frame, boxes = paper_frame(images[picks], [(x, 200) for x in xs], light=light)
    assert_found(find_digits(frame), boxes)
    # A global threshold cannot read this frame: Otsu loses the dark side.
    _, otsu = cv2.threshold(frame, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    assert otsu[:, :100].mean() > 0.5 * 255


def test_light_ink_on_dark_board(subset):
    images, labels = subset
    picks = [np.flatnonzero(labels == d)[1] for d in (4, 0, 9)]
    frame, boxes = paper_frame(images[picks], [(100, 150), (200, 150), (300, 150)], paper=35.0, ink=190.0)
    assert_found(find_digits(frame), boxes)


def test_specks_lines_and_page_edges_are_not_digits(subset):
    images, labels = subset
    rng = np.random.default_rng(3)
    frame, _ = paper_frame([], [], noise=3.0)
    page = frame.astype(np.float32)
    for _ in range(30):  # specks of dust, up to 6 px
        cv2.circle(page, (int(rng.uniform(10, 630)), int(rng.uniform(10, 470))), int(rng.integers(1, 4)), 60.0, -1)
    for y in range(170, 480, 45):  # ruled lines (below the digits written further down)
        cv2.line(page, (0, y), (639, y + 12), 120.0, 1, cv2.LINE_AA)
    cv2.line(page, (90, 0), (96, 479), 90.0, 2, cv2.LINE_AA)  # margin line
    cv2.fillPoly(page, [np.array([[600, 0], [639, 0], [639, 479], [585, 479]])], 60.0)  # table beyond the page
    blank = np.clip(page, 0, 255).astype(np.uint8)
    assert find_digits(blank) == []
    # The same page with two digits written on it: exactly the two digits.
    digit_a, digit_b = images[np.flatnonzero(labels == 2)[0]], images[np.flatnonzero(labels == 6)[0]]
    written, boxes = paper_frame([digit_a, digit_b], [(250, 50), (330, 50)], height=56)
    ink = written < 150
    with_digits = np.where(ink, written, blank)
    assert_found(find_digits(with_digits), boxes)


def test_thin_one_is_found_and_stays_thin(subset):
    images, labels = subset
    ones = np.flatnonzero(labels == 1)
    widths = [cv2.boundingRect((images[i] > 0).astype(np.uint8))[2] for i in ones]
    thinnest = images[ones[int(np.argmin(widths))]]
    frame, boxes = paper_frame([thinnest], [(300, 200)], height=50)
    candidates = find_digits(frame)
    assert_found(candidates, boxes)
    x, y, w, h = cv2.boundingRect((candidates[0].image > 0.2).astype(np.uint8))
    assert h >= 18 and w <= 8, (w, h)


def test_broken_stroke_is_one_digit(subset):
    images, labels = subset
    seven = images[np.flatnonzero(labels == 7)[2]].copy()
    broken = seven.copy()
    broken[11:13, :] = 0  # the pen skipped: a gap across the stem
    frame, boxes = paper_frame([broken], [(280, 180)], height=70)
    _, whole = paper_frame([seven], [(280, 180)], height=70)
    candidates = find_digits(frame)
    assert len(candidates) == 1, [c.box for c in candidates]
    assert iou(candidates[0].box, whole[0]) > 0.8


@pytest.fixture(scope="module")
def one_frame(subset):
    images, labels = subset
    frame, truth = make_frame(images, labels, np.random.default_rng([8, 0]), SynthConfig(dark_on_light_prob=1.0))
    return frame, truth


def test_every_input_encoding_gives_the_same_digits(one_frame):
    # Colour frames are read per channel (coloured ink stands out more than in gray), so each colour
    # encoding must match the BGR frame, and each gray encoding the gray frame.
    frame, truth = one_frame
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    colour_variants = {
        "BGRA": cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA), "16-bit": frame.astype(np.uint16) * 257,
        "12-bit": frame.astype(np.uint16) * 16, "float [0,1]": frame.astype(np.float32) / 255,
        "non-contiguous": np.asfortranarray(frame),
    }
    gray_variants = {"gray (H,W,1)": gray[:, :, None], "16-bit gray": gray.astype(np.uint16) * 257,
                     "float gray": gray.astype(np.float32) / 255}
    for reference_image, variants in ((frame, colour_variants), (gray, gray_variants)):
        reference = [c.box for c in find_digits(reference_image)]
        assert len(reference) == len(truth_boxes(truth))
        for name, image in variants.items():
            boxes = [c.box for c in find_digits(image)]
            assert len(boxes) == len(reference), name
            assert all(iou(a, b) > 0.9 for a, b in zip(boxes, reference)), (name, boxes, reference)


def test_degenerate_frames_give_no_digits():
    rng = np.random.default_rng(0)
    frames = [None, np.zeros((0, 0), np.uint8), np.zeros((0, 5, 3), np.uint8), np.zeros((1, 1), np.uint8),
              np.zeros((7, 9, 3), np.uint8), np.zeros((480, 640, 3), np.uint8), np.full((480, 640), 255, np.uint8),
              np.full((480, 640), 128, np.uint16), rng.integers(0, 256, (480, 640, 3), dtype=np.uint8),
              np.zeros(10)]
    for frame in frames:
        assert find_digits(frame) == []
    # Sensor noise on a blank frame: detection is generous (digits down to 2.5 % of the frame), so a
    # noise speck may become a candidate; the classifier's "not a digit" class must reject it.
    noise = np.clip(128 + rng.normal(0, 4, (480, 640)), 0, 255).astype(np.uint8)
    assert DigitReader().process(noise).digits == ()
    with pytest.raises(ValueError, match="channels"):
        find_digits(np.zeros((20, 20, 2), np.uint8))
    with pytest.raises(ValueError, match="polarity"):
        DetectConfig(polarity="dark")


def test_huge_frame_boxes_map_back(one_frame):
    frame, truth = one_frame
    for scale, extra in ((4, 0), (3, 1)):  # 2560 x 1920, and 1921 x 1441: a last row and column left out
        big = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
        big = cv2.copyMakeBorder(big, 0, extra, 0, extra, cv2.BORDER_REPLICATE)
        # Worked at an integer fraction (OpenCV's fast area path), the smallest that fits max_frame_side.
        assert locate_digits(big).full_scale == 0.5
        boxes = [c.box for c in find_digits(big)]
        true = [[scale * v for v in b] for b in truth_boxes(truth)]
        match = match_boxes(boxes, true)
        assert len(match) == len(boxes) == len(true), (scale, boxes, true)


def test_roi_limits_the_search_and_keeps_frame_coordinates(one_frame):
    frame, truth = one_frame
    full = [c.box for c in find_digits(frame)]
    number = truth["numbers"][0]
    x, y, w, h = number["box"]
    pad = h // 2
    roi = (x - pad, y - pad, w + 2 * pad, h + 2 * pad)
    inside = [c.box for c in find_digits(frame, roi=roi)]
    assert len(inside) == len(number["digits"])
    for box in inside:
        assert max(iou(box, f) for f in full) > 0.9
        assert roi[0] <= box[0] and box[0] + box[2] <= roi[0] + roi[2]
    # A tight ROI around one digit: sizes stay relative to the frame, not to the ROI.
    dx, dy, dw, dh = number["digits"][0]["box"]
    tight = find_digits(frame, roi=(dx - 8, dy - 8, dw + 16, dh + 16))
    assert len(tight) == 1 and iou(tight[0].box, number["digits"][0]["box"]) > 0.5
    for outside in ((0, 0, 0, 0), (5000, 5000, 10, 10)):  # a wrong --roi, not an empty frame: say so
        with pytest.raises(ValueError, match="entirely outside"):
            find_digits(frame, roi=outside)
    assert len(find_digits(frame, roi=(-100, -100, 5000, 5000))) == len(full)


def test_candidates_are_mnist_style_images(one_frame):
    frame, _ = one_frame
    for candidate in find_digits(frame):
        image = candidate.image
        assert image.shape == (28, 28) and image.dtype == np.float32
        assert image.min() >= 0 and image.max() == pytest.approx(1.0)
        total = image.sum()
        cy = (image.sum(axis=1) @ np.arange(28)) / total
        cx = (image.sum(axis=0) @ np.arange(28)) / total
        assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1
        assert 0 < candidate.contrast <= 1


def test_detection_recovers_the_mnist_digit(subset):
    """Oracle: a real MNIST digit rendered x3 into a frame comes back close to the original."""
    images, labels = subset
    correlations = []
    for d in range(10):
        digit = images[np.flatnonzero(labels == d)[3]]
        frame, _ = paper_frame([digit], [(250, 150)], height=60)  # 28 px -> 84 px: x3
        (candidate,) = find_digits(frame)
        original = digit.astype(np.float32) / 255
        correlations.append(max(np.corrcoef(np.roll(candidate.image, (dy, dx), (0, 1)).ravel(), original.ravel())[0, 1]
                                for dy in (-1, 0, 1) for dx in (-1, 0, 1)))
    assert min(correlations) > 0.85 and np.mean(correlations) > 0.92, correlations


def test_detection_imports_only_numpy_and_opencv():
    code = (
        "import sys, numpy as np\n"
        "from mnist_edge.edge_runtime.detect import find_digits\n"
        "from mnist_edge.edge_runtime.grouping import group_numbers\n"
        "frame = np.full((480, 640, 3), 200, np.uint8)\n"
        "frame[200:260, 300:306] = 30\n"
        "group_numbers([c.box for c in find_digits(frame)])\n"
        "bad = [m for m in ('tensorflow', 'keras', 'scipy', 'skimage', 'PIL', 'torch') if m in sys.modules]\n"
        "assert not bad, bad\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 0, result.stderr


def test_reading_eval_scores_a_small_dataset(subset, tmp_path):
    from mnist_edge.benchmarks.camera_synth import make_dataset
    from mnist_edge.benchmarks.reading_eval import evaluate_reading, score_frame

    images, labels = subset
    make_dataset(tmp_path, 4, seed=21, source_images=images, source_labels=labels)
    report = evaluate_reading(tmp_path)
    assert report["frames"] == 4 and 0 <= report["detection_grouping_rate"] <= report["detection_match_rate"] <= 1
    assert report["detect_preprocess_group"]["p50_ms"] > 0 and report["first_frame_ms"] > 0
    model = REPO / "edge_runtime" / "assets" / "cnn_int8.tflite"
    if model.is_file():
        read = evaluate_reading(tmp_path, model)
        assert 0 <= read["numbers_exact_rate"] <= 1 and read["digits"] == report["digits"]
    # The scorer itself: a perfect answer, then a wrong label and a wrongly split number.
    truth = {"numbers": [{"digits": [{"box": [10, 10, 20, 30], "label": 4}, {"box": [35, 10, 20, 30], "label": 2}]}]}
    boxes = [(10, 10, 20, 30), (35, 10, 20, 30)]
    perfect = score_frame(truth, boxes, [[0, 1]], [4, 2])
    assert perfect.grouping_right and perfect.numbers_read == 1 and perfect.digits_correct == 2
    assert score_frame(truth, boxes, [[0, 1]], [4, 7]).numbers_read == 0
    split = score_frame(truth, boxes, [[0], [1]], [4, 2])
    assert not split.grouping_right and split.numbers_read == 0 and split.extra_numbers == 2


def test_fast_image_helpers_equal_the_opencv_calls_they_replace():
    """The speed-ups of detection compute exactly what the plain OpenCV or numpy calls compute (the oracles)."""
    from mnist_edge.edge_runtime.detect import (_channel_mean, _ellipse_rects, _median, _median5, _median_level,
                                                _near_strong, _pool, _shrink)

    rng = np.random.default_rng(12)
    for w in (5, 33, 60, 67, 68, 79, 80, 121):  # both sides of OpenCV's narrow-image median path
        img = rng.integers(0, 256, (int(rng.integers(5, 50)), w), dtype=np.uint8)
        assert np.array_equal(_median5(img), cv2.medianBlur(img, 5)), w
    for channels in (1, 2, 3):
        img = rng.integers(0, 256, (97, 131, channels), dtype=np.uint8).squeeze()
        for size in ((98, 73), (65, 48), (40, 30)):
            assert np.array_equal(_shrink(img, size), cv2.resize(img, size, interpolation=cv2.INTER_AREA))
    for channels, view in ((1, False), (2, False), (3, False), (3, True)):
        img = rng.integers(0, 256, (99, 134, channels), dtype=np.uint8)
        img = img[2:, 3:] if view else img[:97, :131]  # (a crop's view of the frame, as _crop_digit pools it)
        for p in (1, 2, 3, 5):
            # Oracle: each p x p block's (edge blocks: what is left of it) extreme, over the channels for dark
            # ink; of the channels' mean for light ink.
            rows, cols = -(-97 // p), -(-131 // p)
            darkest = np.array([[img[y * p:(y + 1) * p, x * p:(x + 1) * p].min() for x in range(cols)]
                                for y in range(rows)], np.uint8)
            assert np.array_equal(_pool(img.squeeze(), p, True), darkest), (channels, p)
            mean = img[:, :, 0] if channels == 1 else _channel_mean(img)
            lightest = np.array([[mean[y * p:(y + 1) * p, x * p:(x + 1) * p].max() for x in range(cols)]
                                 for y in range(rows)], np.uint8)
            assert np.array_equal(_pool(img.squeeze(), p, False), lightest), (channels, p)
    for channels in (2, 3):
        img = rng.integers(0, 256, (41, 53, channels), dtype=np.uint8)
        weights = np.full((1, channels), 1.0 / channels, np.float32)
        assert np.array_equal(_channel_mean(img), cv2.transform(img, weights))
    for r in range(1, 13):  # the ellipse as the union of its rectangles (_near_strong dilates by those)
        union = np.zeros((2 * r + 1,) * 2, np.uint8)
        for kernel in _ellipse_rects(r):
            (kh, kw), (cy, cx) = kernel.shape, (r - kernel.shape[0] // 2, r - kernel.shape[1] // 2)
            union[cy:cy + kh, cx:cx + kw] = 1
        assert np.array_equal(union, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1,) * 2)), r
    for r, density in ((2, 0.0), (3, 0.001), (5, 0.0005), (8, 0.002), (12, 0.01)):
        mask = (rng.random((90, 120)) < 0.3).astype(np.uint8)
        strong = mask & (rng.random(mask.shape) < density).astype(np.uint8)
        ellipse = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1,) * 2)
        near = cv2.bitwise_and(mask, cv2.dilate(strong, ellipse))
        in_box, (x0, y0, x1, y1) = _near_strong(mask, strong, r)
        assert np.array_equal(in_box, near[y0:y1, x0:x1])
        assert np.count_nonzero(in_box) == np.count_nonzero(near)  # (none outside the box)
        if x1 > x0:  # components of the box: the whole image's, in the same order
            whole = cv2.connectedComponentsWithStats(near, connectivity=8, ltype=cv2.CV_16U)
            box = cv2.connectedComponentsWithStats(in_box, connectivity=8, ltype=cv2.CV_16U)
            assert np.array_equal(whole[1][y0:y1, x0:x1], box[1])
            assert np.array_equal(whole[2][1:, 2:], box[2][1:, 2:])
        else:
            assert not near.any() and in_box.size == 0
    for size in (1, 2, 7, 40):
        for scale in (1, 3, 40):  # medians of residuals: mostly 0-2 (counted), else from the histogram
            img = np.minimum(rng.exponential(scale, (size, 33)), 255).astype(np.uint8)
            assert _median_level(img) == int(np.sort(img, axis=None)[(img.size - 1) // 2])
        values = rng.random(size).astype(np.float32)
        assert _median(values) == float(np.median(values))
        assert _median(values.astype(np.int64)) == float(np.median(values.astype(np.int64)))


def test_parts_cut_from_their_whole_s_ink_are_cut_as_on_their_own():
    """A part's cut-out sliced from its whole's ink window (Marks.prepare) equals the part cut out alone."""
    from mnist_edge.edge_runtime.detect import _crop_digit
    from mnist_edge.edge_runtime.pipeline import sample_clip
    from mnist_edge.edge_runtime.sources import VideoFileSource

    checked = 0
    for frame in VideoFileSource(str(sample_clip())).frames():
        marks = locate_digits(frame.image)
        args = (marks.gray, marks.bg_work)
        rest = (marks.f, marks.dark_ink, marks.floor, marks.config)
        for box_w, own, parts in marks.marks:
            _, window = _crop_digit(*args, box_w, own, *rest)
            for part_box, part_own in parts:
                sliced, _ = _crop_digit(*args, part_box, part_own, *rest, around=window)
                alone, _ = _crop_digit(*args, part_box, part_own, *rest)
                assert (sliced is None) == (alone is None)
                if alone is not None:
                    assert sliced[0] == alone[0] and sliced[2] == alone[2]
                    assert np.array_equal(sliced[1], alone[1])
                    checked += window is not None
    assert checked >= 20  # (the clip's 40 frames have ~50 parts, all in windows of the pooled pass)
