"""`mnist-edge run` end to end: real frames, the shipped model, the CLI's outputs and its failure modes."""
import json
import sys

import cv2
import numpy as np
import pytest

from conftest import REPO, assert_one_line_error, run_cli
from mnist_edge.edge_runtime.pipeline import DigitReader, sample_clip, shipped_model

pytestmark = pytest.mark.edge

def truth_numbers(frames_dir):
    meta = json.loads((frames_dir / "truth.json").read_text())
    return {f["file"]: [n["text"] for n in f["numbers"]] for f in meta["frames"]}


def parse_json_lines(stdout):
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_default_run_reads_the_sample_clip():
    assert sample_clip().is_file() and shipped_model().is_file()
    result = run_cli("run", "--json", "--max-frames", "5")
    assert result.returncode == 0, result.stderr
    frames = parse_json_lines(result.stdout)
    assert [f["frame"] for f in frames] == [0, 1, 2, 3, 4]
    for frame in frames:
        assert set(frame) == {"frame", "source", "numbers", "digits", "latency_ms"}
        assert frame["source"].endswith("sample.avi")
        stages = frame["latency_ms"]
        assert list(stages) == ["decode", "detect", "preprocess", "inference", "postprocess", "total"]
        assert all(v >= 0 for v in stages.values()) and stages["detect"] > 0
        assert stages["total"] == pytest.approx(sum(v for k, v in stages.items() if k != "total"), abs=0.01)
        if frame["digits"]:
            assert stages["preprocess"] > 0 and stages["inference"] > 0
        for digit in frame["digits"]:
            assert 0 <= digit["digit"] <= 9 and 0.5 <= digit["confidence"] <= 1 and len(digit["box"]) == 4
        assert "".join(n["text"] for n in frame["numbers"]) == "".join(str(d["digit"]) for d in frame["digits"])
    assert sum(len(f["digits"]) for f in frames) > 0
    assert "5 frames" in result.stderr and "p50/p99" in result.stderr


def test_folder_run_reads_numbers_and_names_files(frames_dir):
    (frames_dir / "zz_notes.txt").write_text("not an image")
    result = run_cli("run", "--source", str(frames_dir), "--json")
    assert result.returncode == 0, result.stderr
    frames = parse_json_lines(result.stdout)
    truth = truth_numbers(frames_dir)
    assert [f["source"] for f in frames] == sorted(truth)
    exact = sum([n["text"] for n in f["numbers"]] == truth[f["source"]] for f in frames)
    assert exact >= 5, [([n["text"] for n in f["numbers"]], truth[f["source"]]) for f in frames]
    assert "skipping" in result.stderr and "zz_notes.txt" in result.stderr
    assert "unreadable files or frames skipped" in result.stderr


def test_batched_and_per_digit_give_the_same_answers(frames_dir):
    batched, single = DigitReader(batched=True), DigitReader(batched=False)
    for path in sorted(frames_dir.glob("*.png")):
        frame = cv2.imread(str(path))
        a, b = batched.process(frame), single.process(frame)
        assert [(d.digit, d.box) for d in a.digits] == [(d.digit, d.box) for d in b.digits]
        assert np.allclose([d.confidence for d in a.digits], [d.confidence for d in b.digits], atol=1e-6)


def test_python_api_read(frames_dir):
    reader = DigitReader()
    truth = truth_numbers(frames_dir)
    name = sorted(truth)[0]
    numbers = reader.read(cv2.imread(str(frames_dir / name)))
    assert [n.text for n in numbers] == truth[name]
    assert all(len(n.digits) == len(n.text) for n in numbers)


@pytest.mark.parametrize("frame", [
    np.zeros((0, 0, 3), np.uint8),             # empty
    np.zeros((480, 640, 3), np.uint8),         # black
    np.full((480, 640, 3), 255, np.uint8),     # white
    np.full((3, 2), 128, np.uint8),            # tiny
    np.full((4000, 6000, 3), 200, np.uint8),   # huge
], ids=["empty", "black", "white", "tiny", "huge"])
def test_degenerate_frames_give_no_digits(frame):
    result = DigitReader().process(frame)
    assert result.digits == () and result.numbers == ()


def test_16_bit_and_rgba_frames_read_like_8_bit(frames_dir):
    reader = DigitReader()
    path = sorted(frames_dir.glob("*.png"))[0]
    bgr = cv2.imread(str(path))
    expected = [n.text for n in reader.read(bgr)]
    assert expected
    deep = bgr.astype(np.uint16) * 257
    rgba = cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA)
    assert [n.text for n in reader.read(deep)] == expected
    assert [n.text for n in reader.read(rgba)] == expected


def test_roi_limits_the_search(frames_dir):
    reader = DigitReader()
    path = sorted(frames_dir.glob("*.png"))[0]
    frame = cv2.imread(str(path))
    everything = reader.process(frame)
    x, y, w, h = everything.numbers[0].box
    only_first = DigitReader(roi=(max(0, x - 10), max(0, y - 10), w + 20, h + 20)).process(frame)
    assert [n.text for n in only_first.numbers] == [everything.numbers[0].text]
    for digit in only_first.digits:
        assert digit.box[0] >= x - 10 and digit.box[1] >= y - 10


def test_save_writes_an_annotated_video(tmp_path, frames_dir):
    out = tmp_path / "annotated.avi"
    result = run_cli("run", "--source", str(frames_dir), "--save", str(out))
    assert result.returncode == 0, result.stderr
    capture = cv2.VideoCapture(str(out))
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    ok, first = capture.read()
    capture.release()
    assert ok and count == 6 and first.shape == (480, 640, 3)


def test_colour_decode_only_when_drawing(tmp_path):
    # Without outputs to draw, the sample clip (Motion-JPEG) is decoded straight to gray; --save needs
    # colour. Both read the same numbers, and the saved video keeps the clip's colour.
    plain = run_cli("run", "--json", "--max-frames", "8")
    out = tmp_path / "annotated.avi"
    drawn = run_cli("run", "--json", "--max-frames", "8", "--save", str(out))
    assert plain.returncode == 0 and drawn.returncode == 0, plain.stderr + drawn.stderr
    texts = [[n["text"] for n in f["numbers"]] for f in parse_json_lines(plain.stdout)]
    assert texts == [[n["text"] for n in f["numbers"]] for f in parse_json_lines(drawn.stdout)]
    assert len(texts) == 8 and all(texts)
    capture = cv2.VideoCapture(str(out))
    ok, first = capture.read()
    capture.release()
    assert ok and np.abs(first[..., 0].astype(int) - first[..., 2]).mean() > 5  # blue ≠ red: colour


def test_corrupt_video_frame_is_skipped_and_the_run_goes_on(tmp_path):
    data = bytearray(sample_clip().read_bytes())
    starts = [i for i in range(len(data) - 3) if data[i:i + 3] == b"\xff\xd8\xff"]  # each frame's JPEG
    assert len(starts) == 40
    data[starts[1]:starts[1] + 64] = bytes(64)  # frame 1 is no JPEG any more
    clip = tmp_path / "damaged.avi"
    clip.write_bytes(bytes(data))
    result = run_cli("run", "--source", str(clip), "--json", "--max-frames", "4")
    assert result.returncode == 0, result.stderr
    assert [f["frame"] for f in parse_json_lines(result.stdout)] == [0, 1, 2, 3]
    assert "frame 1 skipped: corrupt JPEG data" in result.stderr
    assert "1 unreadable files or frames skipped" in result.stderr


def test_show_without_gui_says_so(frames_dir):
    result = run_cli("run", "--source", str(frames_dir), "--show", "--max-frames", "1")
    assert result.returncode == 0, result.stderr
    assert "--show needs OpenCV with GUI support" in result.stderr


def test_no_tensorflow_after_a_real_run(frames_dir):
    code = ("import sys\n"
            "from mnist_edge.edge_runtime.app import RunOptions, run_pipeline\n"
            f"assert run_pipeline(RunOptions(source={str(frames_dir)!r}, max_frames=3)) == 0\n"
            "assert 'tensorflow' not in sys.modules, 'tensorflow was imported'\n")
    import subprocess
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr


def test_missing_model():
    assert_one_line_error(run_cli("run", "--model", "nope.tflite"), "model not found: nope.tflite")


def test_corrupt_model(tmp_path):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"garbage" * 100)
    assert_one_line_error(run_cli("run", "--model", str(bad)), "not a valid TFLite model")


def test_source_that_cannot_be_opened(tmp_path):
    assert_one_line_error(run_cli("run", "--source", str(tmp_path / "missing.mp4")), "source not found")
    assert_one_line_error(run_cli("run", "--source", "95"), "cannot open camera or stream 95")
    video = tmp_path / "fake.mp4"
    video.write_bytes(b"\x00" * 2048)
    assert_one_line_error(run_cli("run", "--source", str(video)), "cannot open video")


def test_folder_of_only_bad_files(tmp_path):
    (tmp_path / "a.png").write_bytes(b"not a png")
    (tmp_path / "b.txt").write_text("hello")
    result = run_cli("run", "--source", str(tmp_path))
    assert_one_line_error(result, "no frame could be processed")
    assert result.stderr.count("skipping") == 2
