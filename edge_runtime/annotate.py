"""Drawing results onto frames for --save, --show and the web view."""
from __future__ import annotations

import cv2
import numpy as np

from mnist_edge.edge_runtime.pipeline import FrameResult


def to_bgr8(image: np.ndarray) -> np.ndarray:
    """Any decoded frame (gray/BGR/BGRA, 8/16-bit, float) as 8-bit BGR for drawing and encoding."""
    if image.dtype != np.uint8:
        if image.dtype == np.uint16:
            image = (image >> 8).astype(np.uint8)
        else:
            image = np.clip(image.astype(np.float32) * (255.0 if image.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.shape[2] == 1:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return image.copy()


def annotate(image: np.ndarray, result: FrameResult, fps: float | None = None) -> np.ndarray:
    """A BGR copy of the frame with digit boxes, digits and confidences, numbers, and the FPS."""
    canvas = to_bgr8(image)
    scale = max(0.4, min(canvas.shape[:2]) / 720)
    thickness = max(1, round(2 * scale))
    for digit in result.digits:
        x, y, w, h = digit.box
        cv2.rectangle(canvas, (x, y), (x + w, y + h), (0, 200, 0), thickness)
        label = f"{digit.digit} {digit.confidence:.2f}"
        cv2.putText(canvas, label, (x, max(12, y - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.5 * scale,
                    (0, 200, 0), thickness, cv2.LINE_AA)
    for number in result.numbers:
        x, y, w, h = number.box
        cv2.rectangle(canvas, (x - 4, y - 4), (x + w + 4, y + h + 4), (0, 140, 255), thickness)
        cv2.putText(canvas, number.text, (x, y + h + int(24 * scale)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.9 * scale, (0, 140, 255), thickness + 1, cv2.LINE_AA)
    status = f"{result.latency_ms['total']:.1f} ms"
    if fps:
        status = f"{fps:.0f} FPS  " + status
    cv2.putText(canvas, status, (8, int(22 * scale) + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.6 * scale,
                (255, 255, 255), thickness + 2, cv2.LINE_AA)
    cv2.putText(canvas, status, (8, int(22 * scale) + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.6 * scale,
                (0, 0, 0), thickness, cv2.LINE_AA)
    return canvas
