"""Deterministic camera-like frames of handwritten numbers, with ground truth.

Digits are real MNIST *test* images (never seen in training), rendered as ink coverage on paper
(dark on light) or on a board (light on dark), then photographed: perspective, lighting gradient,
soft shadow, texture, blur, sensor noise and JPEG. Distractors (specks, ruled lines, a margin line,
the paper's edge) are kept clear of the digits so that the ground truth stays unambiguous.

numpy + OpenCV only, so the same generator runs on the device:

    python -m mnist_edge.benchmarks.camera_synth --out /tmp/synth --frames 300 --seed 0 --mnist-dir DIR
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import cv2
import numpy as np

# MNIST digits were size-normalized so that their larger side is 20 px (the height for almost all digits).
MNIST_BOX = 20.0


@dataclass(frozen=True)
class SynthConfig:
    width: int = 640
    height: int = 480
    digit_height_px: tuple[float, float] = (30.0, 90.0)  # rendered height of a 20-px MNIST digit
    max_numbers: int = 3
    max_digits_per_number: int = 4
    max_digits_per_frame: int = 6
    dark_on_light_prob: float = 0.7          # else chalk-like light ink on a dark board
    digit_gap: tuple[float, float] = (0.06, 0.40)  # gap between digits of one number, / digit height
    number_gap_min: float = 1.6              # horizontal clearance between numbers on one line, / height
    line_gap_min: float = 0.5                # vertical clearance between lines, / height
    size_jitter: float = 0.08                # per-digit relative height jitter
    baseline_jitter: float = 0.06            # per-digit vertical offset, / height
    max_rotation_deg: float = 8.0
    max_perspective: float = 0.04            # random corner displacement, / frame size
    min_contrast: float = 0.30               # reflectance difference ink vs paper (faint pencil)
    jpeg_quality: tuple[int, int] = (40, 90)
    read_noise: tuple[float, float] = (1.0, 6.0)   # gray levels, plus shot noise
    shadow_prob: float = 0.5
    speck_prob: float = 0.5
    ruled_lines_prob: float = 0.25
    margin_line_prob: float = 0.15
    page_edge_prob: float = 0.25
    broken_stroke_prob: float = 0.15         # per digit: the pen skipped across a stroke


@dataclass(frozen=True)
class _PlacedDigit:
    label: int
    mnist_index: int
    coverage: np.ndarray   # float32 ink coverage in [0, 1], tight-ish (1-px pad)
    x: int                 # top-left in page coordinates
    y: int


def _tight_crop(digit: np.ndarray) -> np.ndarray:
    rows = np.flatnonzero(digit.any(axis=1))
    cols = np.flatnonzero(digit.any(axis=0))
    if rows.size == 0:
        return np.zeros((1, 1), np.uint8)
    return digit[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def _render_digit(digit: np.ndarray, scale: float, rng: np.random.Generator,
                  broken_prob: float) -> np.ndarray:
    """MNIST gray level as ink coverage, scaled up smoothly (cubic), with pen-width and skip variations."""
    crop = np.pad(_tight_crop(digit), 1).astype(np.float32) / 255.0
    h, w = crop.shape
    out_w, out_h = max(1, round(w * scale)), max(1, round(h * scale))
    cov = np.clip(cv2.resize(crop, (out_w, out_h), interpolation=cv2.INTER_CUBIC), 0.0, 1.0)
    # Pen width: a gamma on coverage moves the anti-aliased edge in or out by a fraction of a pixel.
    cov = cov ** rng.uniform(0.7, 1.5)
    if rng.random() < broken_prob:
        ys, xs = np.nonzero(cov > 0.5)
        if ys.size:
            k = rng.integers(ys.size)
            angle = rng.uniform(0, np.pi)
            half = 0.3 * out_h
            dx, dy = half * np.cos(angle), half * np.sin(angle)
            band = np.ones_like(cov)
            cv2.line(band, (int(xs[k] - dx), int(ys[k] - dy)), (int(xs[k] + dx), int(ys[k] + dy)), 0.0,
                     thickness=max(1, round(0.05 * out_h)), lineType=cv2.LINE_AA)
            cov *= band
    return cov.astype(np.float32)


def _layout(digits_pool: np.ndarray, labels_pool: np.ndarray, rng: np.random.Generator,
            config: SynthConfig, base_h: float) -> list[list[_PlacedDigit]] | None:
    """Numbers as rows of digits in page coordinates, with clearances that make grouping unambiguous."""
    while True:
        n_numbers = int(rng.integers(1, config.max_numbers + 1))
        counts = rng.integers(1, config.max_digits_per_number + 1, size=n_numbers)
        if counts.sum() <= config.max_digits_per_frame:
            break
    margin = 0.08 * min(config.width, config.height)  # rotation must not push digits out of frame
    lo, hi = config.digit_height_px
    placed: list[tuple[float, float, float, float, float]] = []  # x0, y0, x1, y1, h
    numbers: list[list[_PlacedDigit]] = []
    for count in counts:
        h_num = float(np.clip(base_h * rng.uniform(0.85, 1.15), lo, hi))
        digits: list[tuple[int, np.ndarray, float]] = []
        x = 0.0
        for i in range(count):
            idx = int(rng.integers(len(digits_pool)))
            h_digit = h_num * rng.uniform(1 - config.size_jitter, 1 + config.size_jitter)
            cov = _render_digit(digits_pool[idx], h_digit / MNIST_BOX, rng, config.broken_stroke_prob)
            if i:
                x += rng.uniform(*config.digit_gap) * h_num
            digits.append((idx, cov, x))
            x += cov.shape[1]
        width = x
        height = max(c.shape[0] for _, c, _ in digits) + 2 * config.baseline_jitter * h_num
        if width >= config.width - 2 * margin or height >= config.height - 2 * margin:
            return None  # too big for this frame: the caller retries with smaller digits
        for _ in range(60):
            x0 = rng.uniform(margin, config.width - margin - width)
            y0 = rng.uniform(margin, config.height - margin - height)
            box = (x0, y0, x0 + width, y0 + height, h_num)
            if all(not _too_close(box, other, config) for other in placed):
                break
        else:
            return None
        placed.append(box)
        number = []
        for idx, cov, dx in digits:
            # Digits sit on a common baseline with a little jitter; MNIST digits are bottom-aligned at 20 px.
            y_bottom = y0 + height - config.baseline_jitter * h_num
            y_bottom += rng.uniform(-1, 1) * config.baseline_jitter * h_num
            number.append(_PlacedDigit(int(labels_pool[idx]), idx, cov, int(round(x0 + dx)),
                                       int(round(y_bottom - cov.shape[0]))))
        numbers.append(number)
    return numbers


def _too_close(a: tuple, b: tuple, config: SynthConfig) -> bool:
    """Two numbers (x0, y0, x1, y1, h) that would be ambiguous to group: same line and near."""
    h = max(a[4], b[4])
    v_gap = max(a[1], b[1]) - min(a[3], b[3])
    h_gap = max(a[0], b[0]) - min(a[2], b[2])
    return v_gap < config.line_gap_min * h and h_gap < config.number_gap_min * h


def _number_rects(numbers: list[list[_PlacedDigit]], pad: float) -> list[tuple[int, int, int, int]]:
    rects = []
    for number in numbers:
        x0 = min(d.x for d in number)
        y0 = min(d.y for d in number)
        x1 = max(d.x + d.coverage.shape[1] for d in number)
        y1 = max(d.y + d.coverage.shape[0] for d in number)
        p = pad * (y1 - y0)
        rects.append((int(x0 - p), int(y0 - p), int(x1 + p), int(y1 + p)))
    return rects


def _clear_of(rects: list[tuple[int, int, int, int]], x0: float, y0: float, x1: float, y1: float) -> bool:
    return all(x1 < r[0] or x0 > r[2] or y1 < r[1] or y0 > r[3] for r in rects)


def _distractors(shape: tuple[int, int], pad: int, numbers: list[list[_PlacedDigit]], rng: np.random.Generator,
                 config: SynthConfig) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Coverage of non-digit marks, and a paper mask (1 = paper, 0 = table beyond the page edge).

    Both cover the page (frame-sized `shape`) plus `pad` pixels on every side, so that the camera
    warp never has to invent pixels beyond the drawn page.
    """
    h, w = shape
    canvas = (h + 2 * pad, w + 2 * pad)
    marks = np.zeros(canvas, np.float32)
    paper = np.ones(canvas, np.float32)
    kinds: list[str] = []
    rects = _number_rects(numbers, pad=0.35)
    far = pad + 20  # lines and the table run past the canvas edge

    def pt(x: float, y: float) -> tuple[int, int]:
        """Page coordinates → canvas coordinates in 1/16 pixel (cv2 `shift=4`)."""
        return int(round((x + pad) * 16)), int(round((y + pad) * 16))

    if rng.random() < config.speck_prob:
        n = int(rng.integers(1, 9))
        for _ in range(n):
            for _ in range(20):
                cx, cy = rng.uniform(5, w - 5), rng.uniform(5, h - 5)
                if _clear_of(rects, cx - 6, cy - 6, cx + 6, cy + 6):
                    break
            else:
                continue
            if rng.random() < 0.7:
                r = rng.uniform(0.8, 2.8)
                cv2.circle(marks, pt(cx, cy), int(r * 16), rng.uniform(0.5, 1.0), -1, cv2.LINE_AA, shift=4)
            else:  # a short scratch, at most 7 px long
                ang, ln = rng.uniform(0, np.pi), rng.uniform(3, 7)
                cv2.line(marks, pt(cx, cy), pt(cx + ln * np.cos(ang), cy + ln * np.sin(ang)),
                         rng.uniform(0.5, 1.0), 1, cv2.LINE_AA, shift=4)
        kinds.append("specks")
    if rng.random() < config.ruled_lines_prob:
        spacing = rng.uniform(25, 60)
        value, thick = rng.uniform(0.25, 0.7), int(rng.integers(1, 3))
        drawn = 0
        for y in np.arange(rng.uniform(0, spacing) - pad, h + pad, spacing):
            if _clear_of(rects, -1e9, y - 2, 1e9, y + 2):
                cv2.line(marks, pt(-far, y), pt(w + far, y), value, thick, cv2.LINE_AA, shift=4)
                drawn += 1
        if drawn:
            kinds.append("ruled_lines")
    if rng.random() < config.margin_line_prob:
        x = rng.uniform(0.04, 0.2) * w
        if rng.random() < 0.5:
            x = w - x
        if _clear_of(rects, x - 3, -1e9, x + 3, 1e9):
            cv2.line(marks, pt(x, -far), pt(x, h + far), rng.uniform(0.4, 0.9), int(rng.integers(1, 3)),
                     cv2.LINE_AA, shift=4)
            kinds.append("margin_line")
    if rng.random() < config.page_edge_prob:
        side = int(rng.integers(4))
        depth = rng.uniform(0.02, 0.12) * (w if side < 2 else h)
        tilt = rng.uniform(-0.05, 0.05) * (h if side < 2 else w)
        if side == 0:    # left
            poly = [(-far, -far), (depth + tilt, -far), (depth - tilt, h + far), (-far, h + far)]
        elif side == 1:  # right
            poly = [(w + far, -far), (w - depth + tilt, -far), (w - depth - tilt, h + far), (w + far, h + far)]
        elif side == 2:  # top
            poly = [(-far, -far), (-far, depth + tilt), (w + far, depth - tilt), (w + far, -far)]
        else:            # bottom
            poly = [(-far, h + far), (-far, h - depth + tilt), (w + far, h - depth - tilt), (w + far, h + far)]
        xs, ys = [p[0] for p in poly], [p[1] for p in poly]
        if _clear_of(rects, max(min(xs), 0), max(min(ys), 0), min(max(xs), w), min(max(ys), h)):
            cv2.fillPoly(paper, [np.array([pt(x, y) for x, y in poly], np.int32)], 0.0, cv2.LINE_AA, shift=4)
            kinds.append("page_edge")
    # Ruled and margin lines are printed on the paper, not on the table beyond its edge.
    return marks * paper, paper, kinds


def _smooth_noise(shape: tuple[int, int], cell: int, rng: np.random.Generator) -> np.ndarray:
    h, w = shape
    small = rng.standard_normal((max(2, h // cell), max(2, w // cell))).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def _tint(rng: np.random.Generator, spread: float) -> np.ndarray:
    """Per-channel (BGR) factors: coloured paper, blue pens, white balance."""
    return (1 + rng.uniform(-spread, spread, 3)).astype(np.float32)


def _homography(w: int, h: int, rng: np.random.Generator, config: SynthConfig) -> np.ndarray:
    """Page → frame: rotation about the centre, a small zoom, and random corner displacements."""
    angle = np.deg2rad(rng.uniform(-config.max_rotation_deg, config.max_rotation_deg))
    zoom = rng.uniform(0.95, 1.03)
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    c = np.array([w / 2, h / 2], np.float32)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]], np.float32)
    dst = (src - c) @ rot.T * zoom + c
    dst += rng.uniform(-1, 1, size=(4, 2)).astype(np.float32) * config.max_perspective * np.array([w, h], np.float32)
    return cv2.getPerspectiveTransform(src, dst.astype(np.float32))


def _blur(img: np.ndarray, h_digit: float, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    kind = rng.choice(["gaussian", "defocus", "motion"], p=[0.5, 0.25, 0.25])
    if kind == "gaussian":
        sigma = rng.uniform(0.4, 1.0) + rng.uniform(0, 0.012) * h_digit
        return cv2.GaussianBlur(img, (0, 0), sigma), f"gaussian:{sigma:.2f}"
    if kind == "defocus":
        r = rng.uniform(1.0, 1.5 + 0.015 * h_digit)
        size = 2 * int(np.ceil(r)) + 1
        kernel = np.zeros((size * 4, size * 4), np.float32)
        cv2.circle(kernel, (size * 2, size * 2), int(r * 4), 1.0, -1, cv2.LINE_AA)
        kernel = cv2.resize(kernel, (size, size), interpolation=cv2.INTER_AREA)
        return cv2.filter2D(img, -1, kernel / kernel.sum()), f"defocus:{r:.2f}"
    length = rng.uniform(2.0, 3.0 + 0.05 * h_digit)
    angle = rng.uniform(0, np.pi)
    size = 2 * int(np.ceil(length / 2)) + 1
    kernel = np.zeros((size, size), np.float32)
    c, dx, dy = size // 2, length / 2 * np.cos(angle), length / 2 * np.sin(angle)
    cv2.line(kernel, (int(round((c - dx) * 16)), int(round((c - dy) * 16))),
             (int(round((c + dx) * 16)), int(round((c + dy) * 16))), 1.0, 1, cv2.LINE_AA, shift=4)
    kernel = cv2.GaussianBlur(kernel, (0, 0), 0.5)
    return cv2.filter2D(img, -1, kernel / kernel.sum()), f"motion:{length:.1f}"


def _page_reflectance(numbers: list[list[_PlacedDigit]], shape: tuple[int, int], pad: int,
                      rng: np.random.Generator, config: SynthConfig) -> tuple[np.ndarray, dict[str, Any]]:
    """BGR reflectance of the page (plus `pad` px around it): paper or board, ink, marks, table."""
    h, w = shape
    ph, pw = h + 2 * pad, w + 2 * pad
    coverage = np.zeros((ph, pw), np.float32)
    for number in numbers:
        for d in number:
            ch, cw = d.coverage.shape
            region = coverage[d.y + pad:d.y + pad + ch, d.x + pad:d.x + pad + cw]
            np.maximum(region, d.coverage[:region.shape[0], :region.shape[1]], out=region)
    marks, paper_mask, kinds = _distractors(shape, pad, numbers, rng, config)

    dark_on_light = bool(rng.random() < config.dark_on_light_prob)
    if dark_on_light:
        paper_r = rng.uniform(0.65, 0.95)
        ink_r = rng.uniform(0.03, paper_r - config.min_contrast)
        table_r = rng.uniform(0.08, 0.45)
    else:
        paper_r = rng.uniform(0.06, 0.28)
        ink_r = rng.uniform(paper_r + config.min_contrast + 0.1, 0.92)
        table_r = rng.uniform(0.4, 0.8)
    # float32 throughout: the frame-sized arithmetic is most of the generator's time.
    paper_c = np.clip(paper_r * _tint(rng, 0.06), 0, 1).astype(np.float32)
    ink_c = np.clip(ink_r * _tint(rng, 0.15), 0, 1).astype(np.float32)
    table_c = np.clip(table_r * _tint(rng, 0.2), 0, 1).astype(np.float32)

    # Texture: paper fibres and low-frequency blotches; chalk is grainy, pen ink a little uneven.
    texture = 1 + 0.03 * _smooth_noise((ph, pw), 40, rng) \
        + rng.uniform(0.005, 0.03) * rng.standard_normal((ph, pw), dtype=np.float32)
    ink_density = np.clip(1 - 0.08 * np.abs(_smooth_noise((ph, pw), 12, rng)), 0.6, 1)
    if not dark_on_light:
        ink_density *= np.clip(1 - 0.25 * rng.random((ph, pw), dtype=np.float32), 0, 1)
    cov = np.clip(coverage * ink_density, 0, 1)[..., None]
    mk = np.clip(marks, 0, 1)[..., None]
    pm = paper_mask[..., None]
    base = (paper_c * pm + table_c * (1 - pm)) * texture[..., None]
    refl = base * (1 - cov) + ink_c * cov
    refl = refl * (1 - mk) + ink_c * mk
    info = {"polarity": "dark_on_light" if dark_on_light else "light_on_dark", "distractors": kinds,
            "contrast": round(float(abs(paper_r - ink_r)), 3)}
    return refl, info


def _camera_pose(numbers: list[list[_PlacedDigit]], rng: np.random.Generator, config: SynthConfig) -> np.ndarray:
    """A page → frame homography that keeps every digit at least 4 px inside the frame."""
    w, h = config.width, config.height
    rects = np.array(_number_rects(numbers, pad=0.0), np.float32)
    corners = np.concatenate([rects[:, [0, 1]], rects[:, [2, 1]], rects[:, [2, 3]], rects[:, [0, 3]]])[None]
    for _ in range(50):
        H = _homography(w, h, rng, config)
        moved = cv2.perspectiveTransform(corners, H)[0]
        if moved.min() >= 4 and (moved[:, 0].max() < w - 4) and (moved[:, 1].max() < h - 4):
            return H
    return np.eye(3)


def _illumination(w: int, h: int, rng: np.random.Generator, config: SynthConfig) -> tuple[np.ndarray, float]:
    """Light falling on the page: exposure, a linear gradient, vignetting and maybe a soft shadow edge."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    gx, gy = rng.uniform(-0.4, 0.4, 2)
    light = rng.uniform(0.65, 1.1) * (1 + gx * (xx / w - 0.5) + gy * (yy / h - 0.5))
    r2 = ((xx - w / 2) ** 2 + (yy - h / 2) ** 2) / (w * w / 4 + h * h / 4)
    light *= 1 - rng.uniform(0, 0.3) * r2
    shadow = 0.0
    if rng.random() < config.shadow_prob:
        ang = rng.uniform(0, 2 * np.pi)
        px, py = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
        sigma = rng.uniform(8, 40)
        # The soft edge is drawn at 1/4 resolution (a sigma-40 blur of the full frame is slow).
        sx, sy = xx[::4, ::4], yy[::4, ::4]
        side = ((sx - px) * np.cos(ang) + (sy - py) * np.sin(ang) > 0).astype(np.float32)
        side = cv2.resize(cv2.GaussianBlur(side, (0, 0), sigma / 4), (w, h), interpolation=cv2.INTER_LINEAR)
        shadow = rng.uniform(0.25, 0.6)
        light *= 1 - shadow * side
    return light, shadow


def _truth_numbers(numbers: list[list[_PlacedDigit]], H: np.ndarray) -> list[dict[str, Any]]:
    """Per number: text, box, and per digit label and box; a box bounds the digit's ink (coverage > 0.5)
    mapped through the camera warp, so it is tight after rotation and perspective too."""
    out = []
    for number in numbers:
        digits = []
        for d in number:
            ys, xs = np.nonzero(d.coverage > 0.5)
            if ys.size == 0:
                ys, xs = np.nonzero(d.coverage > 0)
            pts = np.stack([xs + d.x + 0.5, ys + d.y + 0.5], axis=1).astype(np.float32)[None]
            warped = cv2.perspectiveTransform(pts, H)[0]
            x0, y0 = np.floor(warped.min(axis=0)).astype(int)
            x1, y1 = np.ceil(warped.max(axis=0)).astype(int)
            digits.append({"label": d.label, "box": [int(x0), int(y0), int(x1 - x0), int(y1 - y0)],
                           "mnist_index": d.mnist_index})
        x0 = min(dd["box"][0] for dd in digits)
        y0 = min(dd["box"][1] for dd in digits)
        x1 = max(dd["box"][0] + dd["box"][2] for dd in digits)
        y1 = max(dd["box"][1] + dd["box"][3] for dd in digits)
        out.append({"text": "".join(str(dd["label"]) for dd in digits), "box": [x0, y0, x1 - x0, y1 - y0],
                    "digits": digits})
    return sorted(out, key=lambda n: (n["box"][1], n["box"][0]))


def make_frame(digits_pool: np.ndarray, labels_pool: np.ndarray, rng: np.random.Generator,
               config: SynthConfig = SynthConfig()) -> tuple[np.ndarray, dict[str, Any]]:
    """One BGR uint8 frame and its truth: numbers (text, box, per-digit label/box) in frame pixels."""
    w, h = config.width, config.height
    lo, hi = config.digit_height_px
    base_h = rng.uniform(lo, hi)
    numbers = None
    for _ in range(20):
        numbers = _layout(digits_pool, labels_pool, rng, config, base_h)
        if numbers is not None:
            break
        base_h = max(lo, base_h * 0.85)
    if numbers is None:
        raise ValueError(f"cannot lay out digits of {lo}-{hi} px in a {w}x{h} frame; enlarge the frame")

    # The page is drawn with a margin beyond the frame: the warp then never needs pixels from outside.
    pad = int(0.15 * max(w, h))
    refl, info = _page_reflectance(numbers, (h, w), pad, rng, config)
    H = _camera_pose(numbers, rng, config)
    from_canvas = H @ np.array([[1, 0, -pad], [0, 1, -pad], [0, 0, 1]], np.float64)
    refl = cv2.warpPerspective(refl, from_canvas, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    light, shadow = _illumination(w, h, rng, config)
    img = 255.0 * refl * (light[..., None] * _tint(rng, 0.08))

    # The camera: optics blur, sensor noise (read + shot), 8-bit quantization, JPEG.
    img, blur_kind = _blur(img, base_h, rng)
    read_sigma = rng.uniform(*config.read_noise)
    shot = rng.uniform(0.0, 0.3)
    noise_sd = np.sqrt(read_sigma ** 2 + shot * np.clip(img, 0, None))
    img = img + noise_sd * rng.standard_normal(img.shape, dtype=np.float32)
    frame = np.clip(img + 0.5, 0, 255).astype(np.uint8)
    quality = int(rng.integers(config.jpeg_quality[0], config.jpeg_quality[1] + 1))
    _, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    frame = cv2.imdecode(buf, cv2.IMREAD_COLOR)

    truth = {
        "numbers": _truth_numbers(numbers, H),
        "polarity": info["polarity"],
        "distractors": info["distractors"],
        "params": {"digit_height": round(base_h, 1), "blur": blur_kind, "jpeg_quality": quality,
                   "read_noise": round(float(read_sigma), 2), "shadow": round(float(shadow), 2),
                   "contrast": info["contrast"]},
    }
    return frame, truth


def make_dataset(out_dir: str | os.PathLike, n_frames: int, seed: int, source_images: np.ndarray,
                 source_labels: np.ndarray, config: SynthConfig = SynthConfig(),
                 image_format: str = "png") -> Path:
    """Write `n_frames` frames and `truth.json` to `out_dir`; frame i depends only on (seed, i)."""
    if image_format not in ("png", "jpg"):
        raise ValueError(f"image_format must be 'png' or 'jpg', not {image_format!r}")
    if len(source_images) != len(source_labels) or len(source_images) == 0:
        raise ValueError(f"need as many labels as images (got {len(source_images)} and {len(source_labels)})")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    frames = []
    for i in range(n_frames):
        rng = np.random.default_rng([seed, i])
        frame, truth = make_frame(source_images, source_labels, rng, config)
        name = f"frame_{i:05d}.{image_format}"
        # The frame already went through JPEG once; PNG stores it as is.
        params = [cv2.IMWRITE_JPEG_QUALITY, 95] if image_format == "jpg" else []
        if not cv2.imwrite(str(out / name), frame, params):
            raise OSError(f"could not write {out / name}")
        frames.append({"file": name, **truth})
        if (i + 1) % 100 == 0:
            print(f"{i + 1}/{n_frames} frames", file=sys.stderr)
    meta = {"seed": seed, "n_frames": n_frames, "config": asdict(config), "frames": frames}
    (out / "truth.json").write_text(json.dumps(meta, indent=1))
    return out / "truth.json"


def read_dataset(dataset_dir: str | os.PathLike) -> Iterator[tuple[np.ndarray, dict[str, Any]]]:
    """Yield (BGR frame, truth) pairs of a dataset written by `make_dataset`."""
    root = Path(dataset_dir)
    truth_path = root / "truth.json"
    if not truth_path.is_file():
        raise FileNotFoundError(f"{truth_path} not found; create the dataset with "
                                f"python -m mnist_edge.benchmarks.camera_synth --out {root}")
    meta = json.loads(truth_path.read_text())
    for entry in meta["frames"]:
        frame = cv2.imread(str(root / entry["file"]), cv2.IMREAD_COLOR)
        if frame is None:
            raise FileNotFoundError(f"unreadable frame {root / entry['file']}")
        yield frame, entry


# MJPG in AVI: OpenCV's own MJPEG writer/reader handles it without FFmpeg (Pi builds without FFmpeg too),
# and FFmpeg reads it back as well; mp4v needs FFmpeg on both sides. Checked on opencv-python-headless 5.0.
CLIP_FOURCC = "MJPG"


def write_clip(path: str | os.PathLike, frames: Sequence[np.ndarray], fps: float = 15.0,
               quality: int = 95) -> Path:
    """Write BGR frames (all the same size) to a Motion-JPEG `.avi` clip that OpenCV can read back."""
    path = Path(path)
    if path.suffix.lower() != ".avi":
        raise ValueError(f"{path}: use an .avi file name (Motion-JPEG is the portable choice for OpenCV)")
    if len(frames) == 0:
        raise ValueError("no frames to write")
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.CAP_OPENCV_MJPEG, cv2.VideoWriter_fourcc(*CLIP_FOURCC), fps, (w, h))
    try:
        if not writer.isOpened():
            raise OSError(f"OpenCV cannot open a video writer for {path}")
        writer.set(cv2.VIDEOWRITER_PROP_QUALITY, quality)
        for frame in frames:
            if frame.shape[:2] != (h, w):
                raise ValueError(f"frame size {frame.shape[:2]} differs from the first frame {(h, w)}")
            writer.write(frame if frame.ndim == 3 else cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    finally:
        writer.release()
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate camera-like frames of handwritten numbers.")
    parser.add_argument("--out", required=True, help="output folder for frames and truth.json")
    parser.add_argument("--frames", type=int, default=300, help="number of frames")
    parser.add_argument("--seed", type=int, default=0, help="random seed (frame i depends on seed and i)")
    parser.add_argument("--mnist-dir", default=None, help="folder with the MNIST IDX files (default: $MNIST_DIR)")
    parser.add_argument("--format", choices=("png", "jpg"), default="png", help="image file format")
    parser.add_argument("--width", type=int, default=640, help="frame width")
    parser.add_argument("--height", type=int, default=480, help="frame height")
    parser.add_argument("--clip", default=None, help="also write the frames as a Motion-JPEG .avi clip")
    parser.add_argument("--fps", type=float, default=15.0, help="frame rate of --clip")
    args = parser.parse_args(argv)
    try:
        from mnist_edge.train.mnist import load_test_split, resolve_data_dir  # noqa: PLC0415 - CLI only

        data_dir = resolve_data_dir(args.mnist_dir)
        if data_dir is None:
            raise FileNotFoundError("no MNIST folder: pass --mnist-dir or set MNIST_DIR")
        x_test, y_test = load_test_split(data_dir)
        config = SynthConfig(width=args.width, height=args.height)
        truth = make_dataset(args.out, args.frames, args.seed, x_test, y_test, config, args.format)
        if args.clip:
            frames = [f for f, _ in read_dataset(args.out)]
            write_clip(args.clip, frames, args.fps)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(truth)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
