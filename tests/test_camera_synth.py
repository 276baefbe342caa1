"""The camera-like frame generator: determinism, ground truth that follows the warp, files and clips."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from mnist_edge.benchmarks.camera_synth import SynthConfig, make_dataset, make_frame, read_dataset, write_clip

pytestmark = pytest.mark.edge

@pytest.fixture(scope="module")
def frames(subset):
    images, labels = subset
    return [make_frame(images, labels, np.random.default_rng([5, i])) for i in range(12)]


def test_same_seed_same_frame_other_seed_other_frame(subset):
    images, labels = subset
    a = make_frame(images, labels, np.random.default_rng([1, 2]))
    b = make_frame(images, labels, np.random.default_rng([1, 2]))
    c = make_frame(images, labels, np.random.default_rng([1, 3]))
    assert np.array_equal(a[0], b[0]) and a[1] == b[1]
    assert not np.array_equal(a[0], c[0])


def test_frame_format_and_truth_structure(frames):
    for frame, truth in frames:
        assert frame.shape == (480, 640, 3) and frame.dtype == np.uint8
        assert 1 <= len(truth["numbers"]) <= 3
        assert sum(len(n["digits"]) for n in truth["numbers"]) <= 6
        for number in truth["numbers"]:
            assert 1 <= len(number["digits"]) <= 4
            assert number["text"] == "".join(str(d["label"]) for d in number["digits"])
            x, y, w, h = number["box"]
            for d in number["digits"]:
                dx, dy, dw, dh = d["box"]
                assert 0 <= dx and 0 <= dy and dx + dw <= 640 and dy + dh <= 480
                assert x <= dx and y <= dy and dx + dw <= x + w and dy + dh <= y + h
                assert 15 <= max(dw, dh) <= 110  # 30-90 px digits; flat digits are less tall
            xs = [d["box"][0] for d in number["digits"]]
            assert xs == sorted(xs)  # left to right
        assert truth["polarity"] in ("dark_on_light", "light_on_dark")


def test_both_polarities_and_varied_conditions_occur(frames):
    polarities = {t["polarity"] for _, t in frames}
    assert polarities == {"dark_on_light", "light_on_dark"}
    qualities = [t["params"]["jpeg_quality"] for _, t in frames]
    assert min(qualities) >= 40 and max(qualities) <= 90 and len(set(qualities)) > 8
    assert {t["params"]["blur"].split(":")[0] for _, t in frames} >= {"gaussian", "defocus", "motion"}
    assert any(t["distractors"] for _, t in frames)


def test_truth_boxes_sit_on_the_ink(frames):
    """After the warp the boxes still cover the digits: inside is inkier than a ring around them."""
    for frame, truth in frames:
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32)
        sign = 1 if truth["polarity"] == "dark_on_light" else -1
        for number in truth["numbers"]:
            for d in number["digits"]:
                x, y, w, h = d["box"]
                m = max(3, h // 6)
                y0, x0 = max(0, y - m), max(0, x - m)
                patch = gray[y0:y + h + m, x0:x + w + m]
                outside = np.ones(patch.shape, bool)
                outside[y - y0:y - y0 + h, x - x0:x - x0 + w] = False
                inside = patch[~outside]
                ink = sign * (np.median(patch[outside]) - np.percentile(inside, 10 if sign > 0 else 90))
                assert ink > 15, d


def test_frame_size_is_configurable(subset):
    images, labels = subset
    frame, truth = make_frame(images, labels, np.random.default_rng(0), SynthConfig(width=800, height=600))
    assert frame.shape == (600, 800, 3)
    assert all(d["box"][0] + d["box"][2] <= 800 for n in truth["numbers"] for d in n["digits"])


def test_dataset_files_round_trip(subset, tmp_path):
    images, labels = subset
    path = make_dataset(tmp_path / "ds", 4, seed=3, source_images=images, source_labels=labels)
    meta = json.loads(path.read_text())
    assert meta["seed"] == 3 and len(meta["frames"]) == 4 and meta["config"]["width"] == 640
    loaded = list(read_dataset(tmp_path / "ds"))
    direct, _ = make_frame(images, labels, np.random.default_rng([3, 2]))
    assert np.array_equal(loaded[2][0], direct)  # PNG is lossless: the file is the frame
    assert loaded[2][1]["file"] == "frame_00002.png"
    jpg = make_dataset(tmp_path / "jpg", 1, seed=3, source_images=images, source_labels=labels, image_format="jpg")
    assert (jpg.parent / "frame_00000.jpg").is_file()
    with pytest.raises(ValueError, match="png"):
        make_dataset(tmp_path / "bad", 1, seed=0, source_images=images, source_labels=labels, image_format="gif")
    with pytest.raises(FileNotFoundError, match="truth.json"):
        list(read_dataset(tmp_path / "missing"))


def test_clip_is_written_and_read_back(frames, tmp_path):
    images = [f for f, _ in frames[:5]]
    path = write_clip(tmp_path / "clip.avi", images, fps=10)
    capture = cv2.VideoCapture(str(path))
    try:
        read = []
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            read.append(frame)
    finally:
        capture.release()
    assert len(read) == 5 and read[0].shape == (480, 640, 3)
    # Motion-JPEG is lossy but close.
    assert np.abs(read[0].astype(int) - images[0].astype(int)).mean() < 6
    with pytest.raises(ValueError, match=".avi"):
        write_clip(tmp_path / "clip.mp4", images)
    with pytest.raises(ValueError, match="no frames"):
        write_clip(tmp_path / "empty.avi", [])


# --- Scene classes of issue 11 -------------------------------------------------------------------------------

from mnist_edge.benchmarks.camera_synth import (  # noqa: E402
    SCENES, iter_frames, make_scene_frame, parse_classes)

FONT_SCENES = ("fonts", "negative")


def scene_frame(subset, scene: str, seed: int = 7):
    if scene in FONT_SCENES:
        pytest.importorskip("PIL", reason="the handwriting fonts need Pillow (pip install '.[bench]')")
    images, labels = subset
    return make_scene_frame(scene, images, labels, np.random.default_rng([seed, 11]))


def digit_boxes(truth):
    return [d["box"] for n in truth["numbers"] for d in n["digits"]]


def ink_contrast(frame, box) -> float:
    """Paper around a box minus the darkest ink inside it (dark-on-light frames)."""
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32)
    x, y, w, h = box
    m = max(3, h // 6)
    y0, x0 = max(0, y - m), max(0, x - m)
    patch = gray[y0:y + h + m, x0:x + w + m]
    outside = np.ones(patch.shape, bool)
    outside[y - y0:y - y0 + h, x - x0:x - x0 + w] = False
    return float(np.median(patch[outside]) - np.percentile(patch[~outside], 5))


@pytest.mark.parametrize("scene", list(SCENES))
def test_every_scene_class_is_deterministic_tagged_and_boxed(subset, scene):
    frame, truth = scene_frame(subset, scene)
    again, truth_again = scene_frame(subset, scene)
    assert np.array_equal(frame, again) and truth == truth_again
    assert truth["class"] == scene
    w, h = truth["frame_size"]
    assert frame.shape == (h, w, 3) and frame.dtype == np.uint8
    for number in truth["numbers"]:
        assert number["text"] == "".join(str(d["label"]) for d in number["digits"])
        for x, y, bw, bh in [d["box"] for d in number["digits"]]:
            assert 0 <= x and 0 <= y and x + bw <= w and y + bh <= h and bw > 0 and bh > 0
    if scene == "negative":
        assert truth["numbers"] == [] and truth["not_digits"]
    else:
        assert truth["numbers"]
        if truth["polarity"] == "dark_on_light":
            # The boxes sit on the ink, faint or not: the darkest pixels inside are darker than the paper.
            assert min(ink_contrast(frame, b) for b in digit_boxes(truth)) > 5


def test_classic_scene_is_the_generator_before_issue_11(subset):
    images, labels = subset
    a, ta = make_scene_frame("classic", images, labels, np.random.default_rng([3, 4]))
    b, tb = make_frame(images, labels, np.random.default_rng([3, 4]), SynthConfig())
    assert np.array_equal(a, b) and {k: v for k, v in ta.items() if k not in ("class", "frame_size")} == tb


def test_large_digits_fill_most_of_the_frame(subset):
    tallest = []
    for seed in range(3):
        _, truth = scene_frame(subset, "large", seed)
        # Digits are drawn 45-95 % of the frame tall; their ink box (coverage > 0.5) is a little less.
        tallest.append(max(b[3] for b in digit_boxes(truth)) / truth["frame_size"][1])
    assert min(tallest) > 0.33 and max(tallest) > 0.5


def test_faint_strokes_are_thin_and_low_contrast(subset):
    frame, truth = scene_frame(subset, "faint")
    assert truth["params"]["contrast"] <= 0.5
    for d in (d for n in truth["numbers"] for d in n["digits"]):
        assert 1.0 <= d["pen_px"] <= 2.2
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    assert np.median(gray) < 200  # dim: paper well below white


def test_close_lines_leave_less_than_half_a_digit_height_between_lines(subset):
    gaps = []
    for seed in range(4):
        _, truth = scene_frame(subset, "close_lines", seed)
        rows = sorted(truth["numbers"], key=lambda n: n["box"][1])
        for upper, lower in zip(rows, rows[1:]):
            if lower["box"][1] > upper["box"][1] + upper["box"][3] / 2:  # the next line, not the same one
                height = np.median([d["box"][3] for d in upper["digits"] + lower["digits"]])
                gaps.append((lower["box"][1] - upper["box"][1] - upper["box"][3]) / height)
    assert gaps and min(gaps) < 0.5 and max(gaps) < 0.9


def test_grid_paper_is_printed_under_the_digits(subset):
    seen = set()
    for seed in range(4):
        frame, truth = scene_frame(subset, "grid", seed)
        kind = [t for t in truth["tags"] if t.endswith("_paper")]
        assert kind and kind[0] in ("grid_paper", "dots_paper")
        seen.add(kind[0])
        # Away from the digits the paper is not plain: the printed lines or dots make it vary periodically.
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32)
        assert np.std(gray - cv2.GaussianBlur(gray, (0, 0), 6)) > 1.5
    assert seen == {"grid_paper", "dots_paper"}


def test_slanted_numbers_run_along_a_tilted_line(subset):
    angles = []
    for seed in range(3):
        _, truth = scene_frame(subset, "slanted", seed)
        for number in truth["numbers"]:
            centres = np.array([[x + w / 2, y + h / 2] for x, y, w, h in (d["box"] for d in number["digits"])])
            slope = np.polyfit(centres[:, 0], centres[:, 1], 1)[0]
            angles.append(abs(np.degrees(np.arctan(slope))))
    assert min(angles) > 5 and max(angles) > 15


def test_touching_digits_touch(subset):
    _, truth = scene_frame(subset, "touching")
    gaps = [b[0] - (a[0] + a[2]) for n in truth["numbers"] for a, b in
            zip([d["box"] for d in n["digits"]], [d["box"] for d in n["digits"]][1:])]
    assert gaps and max(gaps) <= 2 and min(gaps) < 0


def test_coloured_ink_is_coloured(subset):
    frame, truth = scene_frame(subset, "colour")
    assert any(t.endswith("_ink") for t in truth["tags"]) and any(t.endswith("_paper") for t in truth["tags"])
    x, y, w, h = digit_boxes(truth)[0]
    patch = frame[y:y + h, x:x + w].reshape(-1, 3).astype(np.float32)
    ink = patch[patch.sum(axis=1) <= np.percentile(patch.sum(axis=1), 10)].mean(axis=0)
    paper = patch[patch.sum(axis=1) >= np.percentile(patch.sum(axis=1), 90)].mean(axis=0)
    # Ink and paper differ in hue, not only in brightness: the per-channel ratios are not all the same.
    ratio = ink / np.maximum(paper, 1)
    assert ratio.max() - ratio.min() > 0.15


def test_sizes_range_from_webcam_to_photo(subset):
    configs = [SCENES["sizes"](SynthConfig(), np.random.default_rng([s, 0])) for s in range(30)]
    sizes = {(c.width, c.height) for c in configs}
    assert sizes == {(320, 240), (800, 600), (1280, 960), (2000, 1500)}
    assert all(c.digit_height_px[0] >= 14 and c.digit_height_px[1] == 0.2 * c.height for c in configs)
    small = next(s for s, c in enumerate(configs) if c.width == 320)
    images, labels = subset
    frame, truth = make_scene_frame("sizes", images, labels, np.random.default_rng([small, 0]))
    assert frame.shape == (240, 320, 3) and truth["frame_size"] == [320, 240] and truth["numbers"]


def test_font_digits_have_the_shapes_mnist_lacks():
    pytest.importorskip("PIL", reason="the handwriting fonts need Pillow (pip install '.[bench]')")
    from mnist_edge.benchmarks.handwriting import load_fonts

    fonts = load_fonts()
    assert len(fonts.names) == 12
    found = {}
    for seed in range(40):
        for label in (0, 1, 7, 9):
            cov, descent, variant = fonts.digit(label, 60.0, np.random.default_rng(seed), "caveat")
            found.setdefault(variant, (label, cov, descent))
    assert {"flag_base", "crossed", "long_tail", "small_round", "plain"} <= set(found)
    plain1 = fonts.digit(1, 60.0, np.random.default_rng(0), "caveat")
    _, tail, descent = found["long_tail"]
    assert descent > 10 and tail.shape[0] > 70            # the tail hangs well below the line
    assert found["small_round"][1].shape[0] < 50           # a small 0 next to 60-px digits
    assert found["flag_base"][1].shape[1] > plain1[0].shape[1] or plain1[2] == "flag_base"


def test_parse_classes_profiles_and_errors():
    assert parse_classes("legacy") == ("classic",)
    assert parse_classes("all") == tuple(SCENES)
    assert parse_classes("large, faint") == ("large", "faint")
    with pytest.raises(ValueError, match="unknown scene class bogus"):
        parse_classes("large,bogus")


def test_frames_cycle_through_the_classes(subset, tmp_path):
    images, labels = subset
    frames = list(iter_frames(4, 9, images, labels, ("large", "slanted")))
    assert [t["class"] for _, _, t in frames] == ["large", "slanted", "large", "slanted"]
    path = make_dataset(tmp_path / "mix", 2, 9, images, labels, classes=("large", "slanted"))
    meta = json.loads(path.read_text())
    assert meta["classes"] == ["large", "slanted"] and meta["frames"][1]["class"] == "slanted"
    assert np.array_equal(next(read_dataset(tmp_path / "mix"))[0], frames[0][1])
