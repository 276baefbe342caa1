import logging
import time

import cv2
import numpy as np
import pytest

from mnist_edge.edge_runtime.sources import (CaptureSettings, LiveSource, SourceError, VideoFileSource,
                                  open_source, read_image)

pytestmark = pytest.mark.edge


def write_video(path, n, size=(160, 120), fps=10.0):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    assert writer.isOpened()
    for i in range(n):
        frame = np.full((size[1], size[0], 3), 20, np.uint8)
        cv2.putText(frame, str(i), (10, 90), cv2.FONT_HERSHEY_SIMPLEX, 2, (255, 255, 255), 3)
        writer.write(frame)
    writer.release()
    return path


def test_folder_sorted_and_bad_files_skipped(tmp_path, caplog):
    for name in ("b.png", "a.png", "c.jpg"):
        cv2.imwrite(str(tmp_path / name), np.full((20, 30, 3), 200, np.uint8))
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    (tmp_path / "empty.jpg").write_bytes(b"")
    source = open_source(str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="mnist_edge"):
        frames = list(source.frames())
    assert [f.source for f in frames] == ["a.png", "b.png", "c.jpg"]
    assert [f.index for f in frames] == [0, 1, 2]
    assert source.skipped == 3
    assert sum("skipping" in r.message for r in caplog.records) == 3


def test_glob_and_single_image(tmp_path):
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"f{i}.png"), np.zeros((8, 8), np.uint8))
    assert [f.source for f in open_source(str(tmp_path / "f*.png")).frames()] == ["f0.png", "f1.png", "f2.png"]
    assert len(list(open_source(str(tmp_path / "f1.png")).frames())) == 1


def test_16_bit_and_rgba_are_kept_as_decoded(tmp_path):
    cv2.imwrite(str(tmp_path / "deep.png"), np.full((10, 10), 40000, np.uint16))
    cv2.imwrite(str(tmp_path / "alpha.png"), np.zeros((10, 10, 4), np.uint8))
    assert read_image(tmp_path / "deep.png").dtype == np.uint16
    assert read_image(tmp_path / "alpha.png").shape == (10, 10, 4)


def test_video_file_every_frame_then_end(tmp_path):
    path = write_video(tmp_path / "clip.avi", 12)
    source = open_source(str(path))
    assert isinstance(source, VideoFileSource) and source.fps == pytest.approx(10.0)
    frames = list(source.frames())
    assert len(frames) == 12 and frames[-1].index == 11


def test_motion_jpeg_decodes_straight_to_gray(tmp_path):
    path = write_video(tmp_path / "clip.avi", 5)
    color = [f.image for f in open_source(str(path)).frames()]
    source = open_source(str(path), gray=True)
    gray = [f.image for f in source.frames()]
    assert source.gray and len(gray) == 5 and all(g.shape == (120, 160) and g.dtype == np.uint8 for g in gray)
    for g, c in zip(gray, color):  # the same picture: JPEG's own luma instead of BGR → gray
        assert np.abs(g.astype(int) - cv2.cvtColor(c, cv2.COLOR_BGR2GRAY)).max() <= 3


def test_gray_request_leaves_other_codecs_in_colour(tmp_path):
    path = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (160, 120))
    if not writer.isOpened():
        pytest.skip("this OpenCV cannot write MPEG-4")
    for i in range(4):
        writer.write(np.full((120, 160, 3), 40 * i, np.uint8))
    writer.release()
    source = open_source(str(path), gray=True)
    frames = [f.image for f in source.frames()]
    assert not source.gray and len(frames) == 4 and frames[0].shape == (120, 160, 3)


def test_corrupt_motion_jpeg_frame_is_skipped_with_a_warning(tmp_path, caplog):
    path = write_video(tmp_path / "clip.avi", 5)
    data = bytearray(path.read_bytes())
    starts = [i for i in range(len(data) - 3) if data[i:i + 3] == b"\xff\xd8\xff"]  # each frame's JPEG SOI
    assert len(starts) == 5
    data[starts[2]:starts[2] + 64] = bytes(64)  # frame 2 is no JPEG any more; the AVI stays intact
    path.write_bytes(bytes(data))
    source = open_source(str(path), gray=True)
    with caplog.at_level(logging.WARNING, logger="mnist_edge"):
        frames = list(source.frames())
    assert [f.index for f in frames] == [0, 1, 2, 3] and source.skipped == 1
    assert any("frame 2 skipped" in r.message for r in caplog.records)


def test_loop_replays_finite_sources(tmp_path):
    path = write_video(tmp_path / "clip.avi", 3)
    frames = open_source(str(path), loop=True).frames()
    assert [next(frames).index for _ in range(7)] == list(range(7))
    cv2.imwrite(str(tmp_path / "one.png"), np.zeros((8, 8), np.uint8))
    images = open_source(str(tmp_path / "one.png"), loop=True).frames()
    assert [next(images).source for _ in range(3)] == ["one.png"] * 3


@pytest.mark.parametrize("spec,message", [
    ("does/not/exist.mp4", "source not found"),
    ("/dev/video97", "camera device not found"),
])
def test_missing_sources(spec, message):
    with pytest.raises(SourceError, match=message):
        open_source(spec)


def test_camera_that_cannot_open():
    with pytest.raises(SourceError, match="cannot open camera or stream 97"):
        open_source("97")


def test_not_a_video(tmp_path):
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"\x00" * 1000)
    with pytest.raises(SourceError, match="cannot open video"):
        open_source(str(path))


def test_empty_folder(tmp_path):
    with pytest.raises(SourceError, match="no files found"):
        open_source(str(tmp_path))


def test_picamera_missing_is_explained():
    try:
        import picamera2  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("picamera2 is installed here: this checks the message when it is not")
    with pytest.raises(SourceError, match="needs picamera2"):
        open_source("picamera")


class FlakyCamera:
    """A real capture (a video file) that fails after `fail_after` reads, like an unplugged USB camera."""

    def __init__(self, path, fail_after, delay=0.002):
        self.path, self.fail_after, self.delay = str(path), fail_after, delay
        self.opens = 0

    def __call__(self):
        self.opens += 1
        capture = cv2.VideoCapture(self.path)
        reads = {"n": 0}
        first_open = self.opens == 1

        def read():
            time.sleep(self.delay)
            reads["n"] += 1
            if first_open and reads["n"] > self.fail_after:
                return False, None
            ok, frame = capture.read()
            if not ok:  # loop the file: a camera never ends
                capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
                ok, frame = capture.read()
            return ok, frame
        return read, capture.release


def test_live_source_keeps_newest_frame_and_never_repeats(tmp_path):
    camera = FlakyCamera(write_video(tmp_path / "cam.avi", 30), fail_after=10 ** 9, delay=0.001)
    source = LiveSource("test-camera", camera)
    try:
        seen = []
        for frame in source.frames():
            time.sleep(0.02)  # a slow consumer: the capture thread must drop frames, not queue them
            seen.append(frame)
            if len(seen) == 10:
                break
        stamps = [f.timestamp for f in seen]
        assert all(b > a for a, b in zip(stamps, stamps[1:]))  # never the same frame twice
        assert all(f.image.shape == (120, 160, 3) for f in seen)
        assert source._seq > 2 * len(seen)  # many frames were captured and dropped
    finally:
        source.close()
    assert not source._thread.is_alive()


def test_live_source_reopens_a_lost_camera(tmp_path, caplog):
    camera = FlakyCamera(write_video(tmp_path / "cam.avi", 5), fail_after=3)
    with caplog.at_level(logging.WARNING, logger="mnist_edge"):
        source = LiveSource("usb-camera", camera, CaptureSettings(reopen_max_seconds=0.5))
        try:
            frames = source.frames()
            got = [next(frames) for _ in range(8)]  # more than the first open could deliver
        finally:
            source.close()
    assert len(got) == 8 and camera.opens >= 2 and source.reopens >= 1
    assert any("reopening" in r.message for r in caplog.records)
