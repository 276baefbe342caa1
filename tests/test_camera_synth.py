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
