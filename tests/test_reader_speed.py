"""The classical baseline reader and the side-by-side reader benchmark, on tiny real sets (nothing timed)."""
import json
import os

import cv2
import numpy as np
import pytest

from conftest import REPO
from mnist_edge.benchmarks.baseline_reader import BaselineReader
from mnist_edge.benchmarks.reader_speed import (BASELINE, DIGIT_READER, ReaderSpeedConfig, decode_folder,
                                                measure_reader_speed)

pytestmark = pytest.mark.edge

REALPHOTOS = REPO.parent / "shared" / "data" / "realphotos"


def test_baseline_reads_dark_digits_on_white_paper(subset):
    images, labels = subset
    wanted = (3, 7, 2)
    frame = np.full((480, 640, 3), 235, np.uint8)
    for k, digit in enumerate(wanted):
        mnist = images[np.flatnonzero(labels == digit)[0]]
        ink = cv2.resize(mnist, (112, 112), interpolation=cv2.INTER_LINEAR)  # a 20-px digit becomes ~80 px
        x = 160 + 95 * k
        region = frame[180:292, x:x + 112]
        region[:] = np.minimum(region, (255 - ink)[..., None])  # dark ink: darker where MNIST is bright
    result = BaselineReader().process(frame, 4, "paper.png", decode_ms=0.5)
    assert [n.text for n in result.numbers] == ["372"], result
    assert [d.digit for d in result.digits] == list(wanted)
    assert result.frame == 4 and result.source == "paper.png" and result.latency_ms["decode"] == 0.5
    assert result.latency_ms["total"] == pytest.approx(sum(v for k, v in result.latency_ms.items() if k != "total"))
    assert all(d.box[3] > 60 for d in result.digits)


def test_baseline_finds_nothing_in_a_blank_frame():
    result = BaselineReader().process(np.full((240, 320), 200, np.uint8))
    assert result.numbers == () and result.digits == ()


def _tiny_realphotos(tmp_path):
    """Two real photos, their truth entries, and the folder's own score.py (linked, not copied)."""
    folder = tmp_path / "realphotos"
    folder.mkdir()
    truth = json.loads((REALPHOTOS / "truth.json").read_text())
    chosen = [e for e in truth if e["file"] in ("hyp_0.bmp", "rajdeep_digits.jpg")]
    assert len(chosen) == 2
    for name in [e["file"] for e in chosen] + ["score.py"]:
        os.symlink(REALPHOTOS / name, folder / name)
    (folder / "truth.json").write_text(json.dumps(chosen))
    return folder


def test_reader_speed_runs_side_by_side_on_a_tiny_set(subset, tmp_path):
    images, labels = subset
    realphotos = _tiny_realphotos(tmp_path) if (REALPHOTOS / "score.py").is_file() else None
    config = ReaderSpeedConfig(frames=4, seed=5, rounds=2, warmup_frames=1)
    report = measure_reader_speed(tmp_path / "out", images, labels, config, realphotos, ["test"])
    synthetic = report["sets"]["synthetic"]
    assert synthetic["frames"] == 4 and synthetic["sizes"] == ["640x480"] and synthetic["decode_ms"]["p50"] > 0
    for name in (DIGIT_READER, BASELINE):
        r = synthetic["readers"][name]
        assert r["reads"] == 8 and r["frames_per_s"] > 0 and r["same_answers_every_round"]
        assert all(r["stages_ms"][stage]["p50"] >= 0 for stage in ("detect", "preprocess", "inference", "postprocess"))
        assert 0 <= r["numbers_exact"] <= 1 and r["numbers"] > 0
    # The DigitReader reads ~97 % of numbers exactly on such frames: a broken scorer would give 0.
    assert synthetic["readers"][DIGIT_READER]["numbers_exact"] >= 0.5
    assert synthetic["fps_ratio"] > 0 and synthetic["p50_ratio"] > 0
    assert report["machine"]["cpu_model"] and len(report["machine"]["load_average_end"]) == 3
    out = tmp_path / "out"
    assert json.loads((out / "reader_speed.json").read_text())["sets"]["synthetic"]["frames"] == 4
    text = (out / "report.md").read_text()
    assert "DigitReader / baseline:" in text and "| DigitReader |" in text and "| baseline |" in text
    assert not list(out.glob("*.png")), "the synthetic frames belong in a temporary folder"
    if realphotos is None:
        assert "realphotos" in report["skipped"] and "Real photos: skipped" in text
        return
    photos = report["sets"]["realphotos"]
    assert photos["frames"] == 2 and photos["readers"][DIGIT_READER]["score_py"]["missing"] == 0
    for name in (DIGIT_READER, BASELINE):
        lines = (out / f"realphotos_{name}.jsonl").read_text().splitlines()
        assert sorted(json.loads(line)["source"] for line in lines) == ["hyp_0.bmp", "rajdeep_digits.jpg"]
        assert 0 <= photos["readers"][name]["numbers_exact"] <= 1


def test_reader_speed_skips_real_photos_when_absent(subset, tmp_path):
    images, labels = subset
    report = measure_reader_speed(tmp_path, images, labels, ReaderSpeedConfig(frames=1, rounds=1, warmup_frames=0),
                                  tmp_path / "no-such-folder", ["test"])
    assert set(report["sets"]) == {"synthetic"} and "no-such-folder" in report["skipped"]["realphotos"]


def test_decode_folder_keeps_images_only_and_times_them(tmp_path):
    cv2.imwrite(str(tmp_path / "b.png"), np.zeros((10, 12), np.uint8))
    cv2.imwrite(str(tmp_path / "a.jpg"), np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "notes.md").write_text("not an image")
    frames = decode_folder(tmp_path)
    assert [f.name for f in frames] == ["a.jpg", "b.png"] and all(f.decode_ms > 0 for f in frames)


def test_previous_revision_reads_side_by_side(subset, tmp_path):
    """The reader of an earlier revision, loaded from git beside today's, is timed and scored with the others."""
    from mnist_edge.benchmarks.previous_reader import BEFORE_REAL_PHOTOS, previous_reader, repository_root
    from mnist_edge.benchmarks.reader_speed import PREVIOUS

    root = repository_root()
    if root is None or os.system(f"git -C {root} cat-file -e {BEFORE_REAL_PHOTOS}^{{commit}} 2>/dev/null"):
        pytest.skip(f"no git history with {BEFORE_REAL_PHOTOS} (an installed package or a shallow clone)")
    old = previous_reader(BEFORE_REAL_PHOTOS)
    assert old.revision == BEFORE_REAL_PHOTOS and "edge_runtime" in type(old).__module__
    assert not type(old).__module__.startswith("mnist_edge."), "the old reader must not be today's code"
    images, labels = subset
    config = ReaderSpeedConfig(frames=3, seed=5, rounds=1, warmup_frames=0, previous=BEFORE_REAL_PHOTOS)
    report = measure_reader_speed(tmp_path, images, labels, config, None, ["test"])
    synthetic = report["sets"]["synthetic"]
    assert synthetic["readers"][PREVIOUS]["reads"] == 3 and synthetic["readers"][PREVIOUS]["numbers_exact"] >= 0.5
    assert synthetic["fps_ratio_to_previous"] > 0 and report["previous_revision"] == BEFORE_REAL_PHOTOS
    assert f"the reader of {BEFORE_REAL_PHOTOS}" in (tmp_path / "report.md").read_text()
