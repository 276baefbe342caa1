"""`--save`: the annotated video, in a form that stays readable when the process dies mid-recording.

A power cut or SIGKILL never lets the writer finish the file. MP4 keeps its index (moov) at the end, so
an unfinished MP4 has no readable frame at all (`kill -9` after 4 s: 3.8 MB, 0 of 496 frames). Motion-JPEG
in AVI is a sequence of self-contained JPEGs that readers find without the index (the same kill: 631 of
632 frames readable). So .avi (Motion-JPEG) is the recommended container; `--save-segment`
additionally starts a new file every N seconds, which bounds what an unfinished MP4 can lose.
"""
from __future__ import annotations

import logging
from pathlib import Path

from mnist_edge.edge_runtime.sinks import Delivery, Sink

log = logging.getLogger("mnist_edge")

FOURCC = {".avi": "MJPG", ".mkv": "MJPG", ".mp4": "mp4v"}
DEFAULT_FPS = 10.0  # image folders have no frame rate; their frames are written at this rate


class VideoSink(Sink):
    """Write annotated frames to `path`; with `segment_s`, to `stem-00001.ext`, `stem-00002.ext`, ..."""

    needs_color = True

    def __init__(self, path: str, segment_s: float | None = None):
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in FOURCC:
            raise ValueError(f"--save {path}: use a .avi (Motion-JPEG, survives a crash), .mkv or .mp4 file name")
        if segment_s is not None and segment_s <= 0:
            raise ValueError(f"--save-segment must be > 0 seconds, got {segment_s}")
        self.fourcc, self.segment_s = FOURCC[suffix], segment_s
        if suffix == ".mp4":
            log.warning("--save %s: an MP4 is unreadable if the run dies before it ends (power cut, kill -9); "
                        "use .avi (Motion-JPEG) for a recording that survives%s", path,
                        "" if segment_s else ", or --save-segment SECONDS to lose at most one segment")
        self._writer = None
        self._size: tuple[int, int] | None = None
        self._segment = 0               # number of the file being written (1-based once writing)
        self._segment_frames = 0        # frames in that file
        self._frames_per_segment: int | None = None
        self.frames = 0
        self.files: list[Path] = []
        _check_writable(self._segment_path(1))

    def _segment_path(self, number: int) -> Path:
        if self.segment_s is None:
            return self.path
        return self.path.with_name(f"{self.path.stem}-{number:05d}{self.path.suffix}")

    def _open_next(self, fps: float) -> None:
        import cv2

        self._release()
        self._segment += 1
        self._segment_frames = 0
        path = self._segment_path(self._segment)
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*self.fourcc), fps, self._size)
        if not writer.isOpened():
            raise OSError(f"--save {path}: OpenCV cannot write {path.suffix} here (codec {self.fourcc})")
        self._writer = writer
        self.files.append(path)

    def write(self, delivery: Delivery) -> None:
        import cv2

        canvas = delivery.canvas
        if self._writer is None:
            fps = delivery.source_fps or DEFAULT_FPS
            self._size = canvas.shape[1::-1]
            if self.segment_s is not None:
                # Segments count frames at the file's own rate, so each one plays segment_s seconds.
                self._frames_per_segment = max(1, round(self.segment_s * fps))
            self._fps = fps
            self._open_next(fps)
        elif self._frames_per_segment and self._segment_frames >= self._frames_per_segment:
            self._open_next(self._fps)
        if canvas.shape[1::-1] != self._size:  # a video has one frame size; folders may mix sizes
            canvas = cv2.resize(canvas, self._size, interpolation=cv2.INTER_AREA)
        self._writer.write(canvas)
        self._segment_frames += 1
        self.frames += 1

    def _release(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    def close(self) -> None:
        self._release()

    def summary(self) -> str:
        where = self.files[0] if len(self.files) == 1 else f"{len(self.files)} files {self.path.stem}-*{self.path.suffix}"
        return f"saved {self.frames} frames to {where}" if self.files else ""


def _check_writable(path: Path) -> None:
    """Create the file now, so that a bad --save path fails before the first frame instead of after it."""
    if not path.parent.is_dir():
        raise FileNotFoundError(f"--save {path}: folder {path.parent} does not exist")
    try:
        with open(path, "wb"):
            pass
    except OSError as exc:
        raise OSError(f"--save {path}: cannot write there ({exc.strerror})") from None


def video_path(text: str) -> str:
    """An argparse type: a file name whose container --save can write."""
    import argparse

    if Path(text).suffix.lower() not in FOURCC:
        raise argparse.ArgumentTypeError(f"use a .mp4 or .avi file name (.avi: Motion-JPEG, readable after a "
                                         f"crash; .mkv also works), got {text!r}")
    return text


def add_arguments(parser) -> None:
    from mnist_edge.cli import positive

    parser.add_argument("--save", metavar="OUT", type=video_path, default=None,
                        help="write the annotated video: .avi (Motion-JPEG, readable after a crash or power "
                        "cut), .mkv, or .mp4 (unreadable if the run is killed)")
    parser.add_argument("--save-segment", metavar="SECONDS", type=positive(float), default=None,
                        help="with --save: start a new file OUT-00001.avi, OUT-00002.avi, ... every SECONDS "
                        "of video (default: one file)")


def from_args(args) -> VideoSink | None:
    if args.save is None:
        if args.save_segment is not None:
            raise ValueError("--save-segment needs --save OUT")
        return None
    return VideoSink(args.save, args.save_segment)
