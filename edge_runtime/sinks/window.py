"""`--show`: the annotated frames in an OpenCV window (needs OpenCV with GUI support and a display)."""
from __future__ import annotations

import logging
import os
import sys

from mnist_edge.edge_runtime.sinks import Delivery, Sink, StopRun

log = logging.getLogger("mnist_edge")
TITLE = "mnist-edge"


def window_available() -> bool:
    """Whether OpenCV can open a window here; opens it if so."""
    import cv2

    # Debian's Qt build of OpenCV aborts the process (no cv2.error) when there is no display.
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    try:
        cv2.namedWindow(TITLE, cv2.WINDOW_NORMAL)
        return True
    except cv2.error:
        return False


class WindowSink(Sink):
    needs_color = True

    def write(self, delivery: Delivery) -> None:
        import cv2

        cv2.imshow(TITLE, delivery.canvas)
        if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
            raise StopRun

    def close(self) -> None:
        import cv2

        cv2.destroyAllWindows()


def add_arguments(parser) -> None:
    parser.add_argument("--show", action="store_true", help="show the annotated video in a window (needs a GUI)")


def from_args(args) -> WindowSink | None:
    if not args.show:
        return None
    if not window_available():
        log.warning("--show needs OpenCV with GUI support and a display (opencv-python-headless has none); "
                    "use --serve PORT to watch in a browser, or --save OUT.avi")
        return None
    return WindowSink()
