"""Frame sources: cameras, video files, images, folders, globs, streams and the Pi's CSI camera.

Live sources (cameras, streams, picamera2) are read by a capture thread that keeps only the
newest frame, so processing never falls behind the camera and never sees a frame twice.
Finite sources (files, folders) yield every frame once, in order, and then end.
"""
from __future__ import annotations

import glob
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger("mnist_edge")

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm", ".jp2"}


@dataclass(frozen=True)
class Frame:
    index: int          # 0-based position in the stream (frames dropped by a live source are not counted)
    image: np.ndarray   # as decoded: gray, BGR or BGRA; 8- or 16-bit
    source: str         # file name for images and videos (sample.avi), else the spec (0, /dev/video0, picamera)
    timestamp: float    # time.monotonic() when the frame was captured or read
    read_ms: float = 0.0  # time spent decoding/reading this frame


@dataclass(frozen=True)
class CaptureSettings:
    width: int | None = None    # requested camera resolution; the driver may pick the nearest
    height: int | None = None
    fps: float | None = None
    reopen_max_seconds: float = 10.0  # back-off cap while a lost camera is reopened


class SourceError(OSError):
    """A source that cannot be opened at all."""


_JPEG_MAGIC = b"\xff\xd8"


def read_image(path: str | Path) -> np.ndarray | None:
    """Decode an image file keeping its depth and alpha (16-bit, RGBA); None if unreadable.

    A JPEG is turned upright by its EXIF orientation tag, as every photo viewer shows it: phones store
    portrait photos as landscape pixels plus that tag. (IMREAD_UNCHANGED ignores the tag, and JPEG has
    no alpha or 16-bit depth to keep, so JPEGs are read with IMREAD_ANYCOLOR, which applies it.)
    """
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError:
        return None
    if data.size == 0:
        return None
    jpeg = data[:2].tobytes() == _JPEG_MAGIC
    return cv2.imdecode(data, cv2.IMREAD_ANYCOLOR if jpeg else cv2.IMREAD_UNCHANGED)


def _image_files(paths: list[Path], origin: str) -> "FileSource":
    if not paths:
        raise SourceError(f"no files found in {origin}")
    return FileSource(paths, origin)


class FileSource:
    """Images from a list of files, sorted by name; unreadable files are skipped with a warning."""

    live = False

    def __init__(self, paths: list[Path], origin: str, loop: bool = False):
        self.paths, self.origin, self.loop = paths, origin, loop
        self.fps: float | None = None
        self.skipped = 0

    def frames(self) -> Iterator[Frame]:
        index = 0
        unreadable: set[Path] = set()
        while True:
            produced = False
            for path in self.paths:
                if path in unreadable:  # warned once; --loop does not repeat it
                    continue
                start = time.perf_counter()
                image = read_image(path)
                if image is None or image.size == 0:
                    self.skipped += 1
                    unreadable.add(path)
                    log.warning("skipping %s: not a readable image", path)
                    continue
                produced = True
                yield Frame(index, image, path.name, time.monotonic(), (time.perf_counter() - start) * 1e3)
                index += 1
            if not (self.loop and produced):
                return

    def close(self) -> None:
        pass


def _packet_capture(path: str) -> cv2.VideoCapture | None:
    """A capture of `path` that yields the video's packets undecoded (FFmpeg backend), or None."""
    capture = cv2.VideoCapture(path)
    try:
        if capture.isOpened() and capture.set(cv2.CAP_PROP_FORMAT, -1):
            return capture
    except cv2.error:
        pass
    capture.release()
    return None


def _is_mjpeg(capture: cv2.VideoCapture) -> bool:
    """True if the video's packets are JPEG images (Motion-JPEG), which OpenCV can decode straight to gray.

    Detection needs only gray: that skips the chroma planes and the YCbCr→BGR→gray round trip, more
    than half of a 640x480 frame's decode time (0.53 vs 1.30 ms, benchmarks/results/report.md).
    `capture` is freshly opened; this switches it to packets and reads the first one.
    """
    try:
        size = (int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)), int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)))
        if not capture.set(cv2.CAP_PROP_FORMAT, -1):
            return False
        ok, packet = capture.read()
        if not ok or packet is None or packet.size == 0:
            return False
        image = cv2.imdecode(packet, cv2.IMREAD_GRAYSCALE)
        # The whole frame in one JPEG (not, e.g., one field of an interlaced pair).
        return image is not None and image.shape == size
    except cv2.error:
        return False


class VideoFileSource:
    """Every frame of a video file, in order.

    With `gray=True` a Motion-JPEG video is decoded straight to 8-bit gray (faster; other codecs
    still give BGR), and a frame whose JPEG data is corrupt is skipped with a warning.
    """

    live = False

    def __init__(self, path: str, loop: bool = False, gray: bool = False):
        self.path, self.loop = path, loop
        self.name = Path(path).name  # each Frame's `source`, as for image files
        self.skipped = 0
        capture = cv2.VideoCapture(path)
        try:
            if not capture.isOpened():
                raise SourceError(f"cannot open video {path}: not a video OpenCV can decode")
            fps = capture.get(cv2.CAP_PROP_FPS)
            self.fps = fps if 0 < fps < 1000 else None
            self.gray = gray and _is_mjpeg(capture)  # frames come as 8-bit gray
        finally:
            capture.release()

    def _open(self) -> tuple[cv2.VideoCapture, Callable[[], tuple[bool, np.ndarray | None]]]:
        """The capture and a read() giving (more frames?, image or None for a corrupt frame)."""
        capture = _packet_capture(self.path) if self.gray else None
        if capture is None:
            capture = cv2.VideoCapture(self.path)
            return capture, capture.read

        def read_gray():
            ok, packet = capture.read()
            if not ok:
                return False, None
            return True, cv2.imdecode(packet, cv2.IMREAD_GRAYSCALE)
        return capture, read_gray

    def frames(self) -> Iterator[Frame]:
        index = 0
        while True:
            capture, read = self._open()
            produced = False
            position = 0
            try:
                while True:
                    start = time.perf_counter()
                    ok, image = read()
                    if not ok:
                        break
                    position += 1
                    if image is None:
                        self.skipped += 1
                        log.warning("%s: frame %d skipped: corrupt JPEG data", self.path, position - 1)
                        continue
                    produced = True
                    yield Frame(index, image, self.name, time.monotonic(), (time.perf_counter() - start) * 1e3)
                    index += 1
            finally:
                capture.release()
            if not (self.loop and produced):
                return

    def close(self) -> None:
        pass


class LiveSource:
    """A camera or stream read by a background thread that keeps only the newest frame.

    `opener` returns a `read() -> (ok, image)` callable and a `release()` callable. When reads
    fail (camera unplugged, stream dropped) the source is reopened with exponential back-off.
    """

    live = True

    def __init__(self, name: str, opener: Callable[[], tuple[Callable, Callable]],
                 settings: CaptureSettings = CaptureSettings(), spec: str | None = None):
        self.name, self.settings = name, settings
        self.spec = name if spec is None else spec  # what each Frame's `source` says: the --source value
        self.fps = settings.fps
        self._opener = opener
        self._read, self._release = opener()  # fail now, in the caller, if it cannot open at all
        self._condition = threading.Condition()
        self._latest: tuple[int, np.ndarray, float, float] | None = None
        self._seq = 0
        self._stopped = False
        self.reopens = 0
        self._thread = threading.Thread(target=self._capture_loop, name=f"capture:{name}", daemon=True)
        self._thread.start()

    def _capture_loop(self) -> None:
        backoff = 0.25
        while not self._stopped:
            start = time.perf_counter()
            try:
                ok, image = self._read()
            except Exception as exc:  # noqa: BLE001 - a driver error is a lost camera, not a crash
                log.warning("%s: read failed (%s)", self.name, exc)
                ok, image = False, None
            if ok and image is not None and image.size:
                backoff = 0.25
                with self._condition:
                    self._seq += 1
                    self._latest = (self._seq, image, time.monotonic(), (time.perf_counter() - start) * 1e3)
                    self._condition.notify_all()
                continue
            if self._stopped:
                break
            log.warning("%s: no frame; reopening in %.2g s", self.name, backoff)
            self._safe_release()
            time.sleep(backoff)
            backoff = min(backoff * 2, self.settings.reopen_max_seconds)
            try:
                self._read, self._release = self._opener()
                self.reopens += 1
            except SourceError as exc:
                log.warning("%s", exc)
                self._read = lambda: (False, None)

    def _safe_release(self) -> None:
        try:
            self._release()
        except Exception:  # noqa: BLE001 - releasing a dead device may itself fail
            pass

    def frames(self) -> Iterator[Frame]:
        last_seq, index = 0, 0
        while not self._stopped:
            with self._condition:
                self._condition.wait_for(lambda: self._stopped or (self._latest and self._latest[0] > last_seq),
                                         timeout=1.0)
                if self._stopped or not self._latest or self._latest[0] <= last_seq:
                    continue
                last_seq, image, stamp, read_ms = self._latest
            yield Frame(index, image, self.spec, stamp, read_ms)
            index += 1

    def close(self) -> None:
        self._stopped = True
        with self._condition:
            self._condition.notify_all()
        self._thread.join(timeout=2.0)
        self._safe_release()


def _opencv_opener(target: int | str, settings: CaptureSettings) -> Callable[[], tuple[Callable, Callable]]:
    def open_capture():
        capture = cv2.VideoCapture(target)
        if not capture.isOpened():
            capture.release()
            raise SourceError(f"cannot open camera or stream {target!r}")
        if settings.width:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, settings.width)
        if settings.height:
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, settings.height)
        if settings.fps:
            capture.set(cv2.CAP_PROP_FPS, settings.fps)
        # Drivers queue a few frames; one is enough when only the newest is kept.
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        return capture.read, capture.release
    return open_capture


def _picamera_opener(settings: CaptureSettings) -> Callable[[], tuple[Callable, Callable]]:
    try:
        from picamera2 import Picamera2
    except ImportError:
        raise SourceError("--source picamera needs picamera2: on Raspberry Pi OS, `sudo apt install "
                          "python3-picamera2` and create the venv with --system-site-packages") from None

    def open_camera():
        try:
            camera = Picamera2()
            size = (settings.width or 640, settings.height or 480)
            controls = {"FrameRate": settings.fps} if settings.fps else {}
            # libcamera's "RGB888" is B,G,R in memory: what OpenCV calls BGR.
            camera.configure(camera.create_video_configuration(
                main={"size": size, "format": "RGB888"}, controls=controls))
            camera.start()
        except Exception as exc:  # noqa: BLE001 - libcamera raises RuntimeError/IndexError for no camera
            raise SourceError(f"cannot open the CSI camera: {exc}") from None

        def read():
            return True, camera.capture_array("main")

        def release():
            camera.stop()
            camera.close()
        return read, release
    return open_camera


def open_source(spec: str, settings: CaptureSettings = CaptureSettings(), loop: bool = False, gray: bool = False):
    """Open `--source`: camera index, /dev/video*, picamera, URL, image, video, folder or glob.

    `gray=True`: the caller only needs gray, so a source may deliver 8-bit gray frames where that is
    cheaper (Motion-JPEG video files); others still deliver what they decode.
    """
    spec = str(spec)
    if spec.isdigit():
        return LiveSource(f"camera {spec}", _opencv_opener(int(spec), settings), settings, spec=spec)
    if spec == "picamera":
        return LiveSource("picamera", _picamera_opener(settings), settings)
    if "://" in spec:
        return LiveSource(spec, _opencv_opener(spec, settings), settings)
    if spec.startswith("/dev/"):
        if not os.path.exists(spec):
            raise SourceError(f"camera device not found: {spec}")
        return LiveSource(spec, _opencv_opener(spec, settings), settings)
    path = Path(spec)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        return FileSource(files, spec, loop) if files else _image_files([], spec)
    if any(ch in spec for ch in "*?["):
        files = sorted(Path(p) for p in glob.glob(spec) if Path(p).is_file())
        return FileSource(files, spec, loop) if files else _image_files([], spec)
    if not path.exists():
        raise SourceError(f"source not found: {spec} (a camera index, /dev/videoN, picamera, a URL, "
                          "an image, a video, a folder or a glob)")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return FileSource([path], spec, loop)
    return VideoFileSource(spec, loop, gray)
