"""reading_eval: synthetic per-class scoring, the side-by-side report, and the real-photo set (skips without it)."""
from __future__ import annotations

import json
import os

import pytest

from mnist_edge.benchmarks.camera_synth import iter_frames
from mnist_edge.benchmarks.reading_eval import (FrameResult, ReadScore, _read_totals, default_realphotos_dir,
                                                evaluate_frames, evaluate_real_photos, main, markdown_report)

pytestmark = pytest.mark.edge


def test_totals_count_found_digits_precision_and_false_digits_on_negatives():
    # 2 numbers / 5 digits, 4 read right, 1 extra; a negative frame with 3 false digits.
    positive = FrameResult(False, False, 2, 1, 1, 5, 4, 4, 1)
    negative = FrameResult(False, False, 0, 0, 0, 0, 0, 0, 3)
    totals = _read_totals([ReadScore("large", positive, 5), ReadScore("negative", negative, 3)])
    assert totals["numbers_exact"] == 0.5 and totals["digits_found"] == 0.8
    assert totals["precision"] == 4 / 8 and totals["false_digits_per_negative"] == 3.0
    assert totals["negative_frames"] == 1 and totals["frames_all_read"] == 0.0


def test_synthetic_report_per_class_on_a_tiny_set(subset):
    images, labels = subset
    frames = ((f, {"file": f"f{i}", **t}) for i, f, t in iter_frames(3, 5, images, labels, ("classic", "large", "touching")))
    report = evaluate_frames(frames)
    assert report["frames"] == 3 and list(report["classes"]) == ["classic", "large", "touching"]
    assert sum(c["frames"] for c in report["classes"].values()) == 3
    assert sum(c["digits"] for c in report["classes"].values()) == report["total"]["digits"]
    for t in [report["total"], *report["classes"].values()]:
        assert 0 <= t["digits_found"] <= 1 and 0 <= t["numbers_exact"] <= 1
    text = markdown_report({"command": "x", "model": "m", "min_confidence": 0.5, "threads": 1, "opencv": "5",
                            "numpy": "2", "cpu": "c", "synthetic": report,
                            "real": {"skipped": "no real photos here"}})
    assert "| large | 1 |" in text and "skipped — no real photos here" in text


def test_cli_writes_markdown_and_json_and_skips_missing_real_photos(tmp_path, mnist_path, capsys):
    code = main(["--frames", "2", "--classes", "classic,sizes", "--real", str(tmp_path / "absent"),
                 "--out", str(tmp_path / "out"), "--mnist-dir", str(mnist_path)])
    assert code == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["synthetic"]["frames"] == 2 and "truth.json" in report["real"]["skipped"]
    assert "| numbers read exactly |" in (tmp_path / "out" / "report.md").read_text()
    assert main(["--classes", "bogus", "--no-real", "--out", str(tmp_path / "o2")]) == 1
    assert "unknown scene class bogus" in capsys.readouterr().err


REAL = default_realphotos_dir()


@pytest.mark.skipif(not (REAL / "score.py").is_file(), reason=f"the real-photo set is not at {REAL}")
def test_real_photos_are_read_and_scored_by_their_own_scorer(tmp_path):
    # A small subset: links to three webcam frames and one negative photo (the images stay where they are).
    truth = [e for e in json.loads((REAL / "truth.json").read_text())
             if e["file"] in ("guer_124351.png", "guer_125513.png", "guer_124510.png", "shy_note1.jpg")]
    subset = tmp_path / "real"
    subset.mkdir()
    for e in truth:
        os.symlink(REAL / e["file"], subset / e["file"])
    os.symlink(REAL / "score.py", subset / "score.py")
    (subset / "truth.json").write_text(json.dumps(truth))
    report = evaluate_real_photos(subset, tmp_path / "out")
    assert report["read"] == 4 and report["negatives"]["images"] == 1 and report["main"]["images"] == 3
    sources = [json.loads(line)["source"] for line in (tmp_path / "out" / "realphotos_read.jsonl").read_text().splitlines()]
    assert sorted(sources) == sorted(e["file"] for e in truth)
    assert 0 <= report["main"]["found"] <= 1 and report["negatives"]["false_digits_per_photo"] >= 0
    assert "per image" in (tmp_path / "out" / "realphotos_score.txt").read_text()
    assert not any(p.suffix in (".png", ".jpg") for p in (tmp_path / "out").iterdir())  # nothing copied


def test_real_photos_skip_with_a_reason_when_absent(tmp_path):
    assert "never copied" in evaluate_real_photos(tmp_path / "nowhere", tmp_path / "out")["skipped"]
