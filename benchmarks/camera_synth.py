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
from dataclasses import asdict, dataclass, replace
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
    min_digits_per_number: int = 1
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
    # Scene classes of issue 11 (camera_synth.SCENES); the defaults above and below are the classic scene.
    margin: float = 0.08                     # clearance of the numbers from the page edge, / min(width, height)
    glyphs: str = "mnist"                    # "mnist" or "fonts" (handwriting fonts in train/fonts, Pillow)
    thin_strokes: bool = False               # redraw each digit with a 1-2 px pen (ballpoint, pencil)
    max_contrast: float | None = None        # with it, contrast is drawn from [min_contrast, max_contrast]
    exposure: tuple[float, float] = (0.65, 1.1)  # light level on the page (dim rooms: lower)
    layout: str = "numbers"                  # "numbers" (apart), "rows" (lines close together), "text" (no digits)
    rows: tuple[int, int] = (2, 4)           # "rows": lines of numbers, one above the other
    numbers_per_row: int = 1                 # "rows": numbers side by side on one line
    line_gap: tuple[float, float] = (0.1, 0.5)  # "rows": clear space between lines, / digit height
    slant_deg: tuple[float, float] = (0.0, 0.0)  # baseline angle range (either sign) of a whole number
    paper_print: str = "none"                # "grid" (squared), "dots" or "grid_or_dots": printed on the paper
    ink: str = "gray"                        # "gray" (any tint) or "coloured" (blue/red/purple on white/yellow)


@dataclass(frozen=True)
class _PlacedDigit:
    label: int
    mnist_index: int       # -1 for font digits and words
    coverage: np.ndarray   # float32 ink coverage in [0, 1], tight-ish (1-px pad)
    x: int                 # top-left in page coordinates
    y: int
    extra: tuple[tuple[str, Any], ...] = ()  # truth details beyond MNIST: font, variant, pen


@dataclass(frozen=True)
class _Glyph:
    label: int
    mnist_index: int
    coverage: np.ndarray
    descent: int = 0       # px of the glyph below the line its neighbours sit on (a long-tailed 9)
    extra: tuple[tuple[str, Any], ...] = ()


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


def _draw_digit(digits_pool: np.ndarray, labels_pool: np.ndarray, rng: np.random.Generator, config: SynthConfig,
                h_num: float, fonts: Any = None, font: str = "") -> _Glyph:
    """One digit about `h_num` px tall: an MNIST test digit or a handwriting-font digit, maybe thin-penned."""
    if config.glyphs == "fonts":
        label = int(rng.integers(10))
        h_digit = h_num * rng.uniform(1 - config.size_jitter, 1 + config.size_jitter)
        cov, descent, variant = fonts.digit(label, h_digit, rng, font)
        glyph = _Glyph(label, -1, cov, descent, (("font", font), ("variant", variant)))
    else:
        idx = int(rng.integers(len(digits_pool)))
        h_digit = h_num * rng.uniform(1 - config.size_jitter, 1 + config.size_jitter)
        cov = _render_digit(digits_pool[idx], h_digit / MNIST_BOX, rng, config.broken_stroke_prob)
        glyph = _Glyph(int(labels_pool[idx]), idx, cov)
    if config.thin_strokes:
        from mnist_edge.benchmarks.handwriting import thin_strokes  # noqa: PLC0415

        cov, pen, pencil = thin_strokes(glyph.coverage, rng)
        glyph = _Glyph(glyph.label, glyph.mnist_index, cov, glyph.descent,
                       glyph.extra + (("pen_px", round(pen, 2)), ("pencil", pencil)))
    return glyph


def _place_number(glyphs: list[tuple[_Glyph, float]], x0: float, y0: float, height: float, h_num: float,
                  lifts: list[float], below: int, rng: np.random.Generator, config: SynthConfig) -> list[_PlacedDigit]:
    """Digits on a common baseline (tilted by `lifts`) with a little jitter, in a box at (x0, y0)."""
    top_lift = max(lifts)
    number = []
    for (g, dx), lift in zip(glyphs, lifts):
        # MNIST digits are bottom-aligned at 20 px; a tail hangs `descent` px below the line.
        y_bottom = y0 + height - below - config.baseline_jitter * h_num - (top_lift - lift)
        y_bottom += rng.uniform(-1, 1) * config.baseline_jitter * h_num
        number.append(_PlacedDigit(g.label, g.mnist_index, g.coverage, int(round(x0 + dx)),
                                   int(round(y_bottom + g.descent - g.coverage.shape[0])), g.extra))
    return number


def _layout(digits_pool: np.ndarray, labels_pool: np.ndarray, rng: np.random.Generator,
            config: SynthConfig, base_h: float, fonts: Any = None, font: str = "") -> list[list[_PlacedDigit]] | None:
    """Numbers as rows of digits in page coordinates, with clearances that make grouping unambiguous."""
    while True:
        n_numbers = int(rng.integers(1, config.max_numbers + 1))
        counts = rng.integers(config.min_digits_per_number, config.max_digits_per_number + 1, size=n_numbers)
        if counts.sum() <= config.max_digits_per_frame:
            break
    margin = config.margin * min(config.width, config.height)  # rotation must not push digits out of frame
    lo, hi = config.digit_height_px
    placed: list[tuple[float, float, float, float, float]] = []  # x0, y0, x1, y1, h
    numbers: list[list[_PlacedDigit]] = []
    for count in counts:
        h_num = float(np.clip(base_h * rng.uniform(0.85, 1.15), lo, hi))
        glyphs: list[tuple[_Glyph, float]] = []
        x = 0.0
        for i in range(count):
            g = _draw_digit(digits_pool, labels_pool, rng, config, h_num, fonts, font)
            if i:
                x += rng.uniform(*config.digit_gap) * h_num
            glyphs.append((g, x))
            x += g.coverage.shape[1]
        width = x
        slope = 0.0
        if config.slant_deg[1] > 0:  # the whole number written along a tilted line
            slope = float(np.tan(np.deg2rad(rng.uniform(*config.slant_deg)))) * float(rng.choice([-1.0, 1.0]))
        lifts = [(dx + g.coverage.shape[1] / 2) * slope for g, dx in glyphs]
        above = max(g.coverage.shape[0] - g.descent for g, _ in glyphs)
        below = max(g.descent for g, _ in glyphs)
        height = above + below + 2 * config.baseline_jitter * h_num + (max(lifts) - min(lifts))
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
        numbers.append(_place_number(glyphs, x0, y0, height, h_num, lifts, below, rng, config))
    return numbers


def _layout_rows(digits_pool: np.ndarray, labels_pool: np.ndarray, rng: np.random.Generator,
                 config: SynthConfig, base_h: float, fonts: Any = None, font: str = "") -> list[list[_PlacedDigit]] | None:
    """Lines of numbers one under the other, `line_gap` digit heights apart (a dense notebook page)."""
    margin = config.margin * min(config.width, config.height)
    lo, hi = config.digit_height_px
    n_rows = int(rng.integers(config.rows[0], config.rows[1] + 1))
    rows = []  # (indent, numbers as [(glyphs, x0)], width, above, below, h)
    budget = config.max_digits_per_frame
    for _ in range(n_rows):
        h_row = float(np.clip(base_h * rng.uniform(0.92, 1.08), lo, hi))
        x = rng.uniform(0, 0.6) * h_row  # the writer's left margin wanders a little
        indent = x
        row = []
        for k in range(int(rng.integers(1, config.numbers_per_row + 1))):
            count = int(rng.integers(2, config.max_digits_per_number + 1))
            if count > budget:
                break
            budget -= count
            if k:
                x += rng.uniform(config.number_gap_min, config.number_gap_min + 1.5) * h_row
            glyphs, start = [], x
            for i in range(count):
                g = _draw_digit(digits_pool, labels_pool, rng, config, h_row, fonts, font)
                if i:
                    x += rng.uniform(*config.digit_gap) * h_row
                glyphs.append((g, x - start))
                x += g.coverage.shape[1]
            row.append((glyphs, start))
        if not row:
            break
        above = max(g.coverage.shape[0] - g.descent for glyphs, _ in row for g, _ in glyphs)
        below = max(g.descent for glyphs, _ in row for g, _ in glyphs)
        rows.append((indent, row, x, above, below, h_row))
    width = max(r[2] for r in rows)
    # The clear space between two lines is at least line_gap x height even after the baseline jitter.
    tops, y = [], 0.0
    for k, (_, _, _, above, below, h_row) in enumerate(rows):
        if k:
            y += rng.uniform(*config.line_gap) * h_row + 2 * config.baseline_jitter * h_row
        tops.append(y)
        y += above + below + 2 * config.baseline_jitter * h_row
    height = y
    if width >= config.width - 2 * margin or height >= config.height - 2 * margin:
        return None
    x0 = rng.uniform(margin, config.width - margin - width)
    y0 = rng.uniform(margin, config.height - margin - height)
    numbers = []
    for top, (_, row, _, above, below, h_row) in zip(tops, rows):
        row_height = above + below + 2 * config.baseline_jitter * h_row
        for glyphs, start in row:
            lifts = [0.0] * len(glyphs)
            numbers.append(_place_number(glyphs, x0 + start, y0 + top, row_height, h_row, lifts, below, rng, config))
    return numbers


def _layout_text(rng: np.random.Generator, config: SynthConfig, base_h: float, fonts: Any,
                 font: str) -> tuple[list[_PlacedDigit], list[str]]:
    """Ink that is not digits: handwritten words and letters, and lines of printed text."""
    from mnist_edge.benchmarks.handwriting import PRINT_SENTENCES, WORDS, printed_line  # noqa: PLC0415

    w, h = config.width, config.height
    kind = str(rng.choice(["handwritten", "printed", "both"], p=[0.5, 0.25, 0.25]))
    pieces: list[tuple[np.ndarray, tuple]] = []
    if kind in ("handwritten", "both"):
        for _ in range(int(rng.integers(1, 5))):
            words = " ".join(str(rng.choice(WORDS)) for _ in range(int(rng.integers(1, 4))))
            if rng.random() < 0.2:  # a lone letter or two, as in labels and initials
                # Only letters no reader could take for a digit alone (a lone g, q, o, l, s, z could be one).
                words = " ".join(rng.choice(list("acdehkmnprtuvwxyACEFHKMNPRTUVWXY"), int(rng.integers(1, 3))))
            pieces.append((fonts.word(words, base_h * rng.uniform(0.8, 1.2), font), (("text", words), ("font", font))))
    if kind in ("printed", "both"):
        size = rng.uniform(0.012, 0.04) * h + 6
        for _ in range(int(rng.integers(2, 7))):
            text = str(rng.choice(PRINT_SENTENCES))
            pieces.append((printed_line(text, size, rng), (("text", text), ("font", "hershey"))))
    margin = 0.03 * min(w, h)
    placed, rects = [], []
    for cov, extra in pieces:
        ch, cw = cov.shape
        if cw >= w - 2 * margin:  # a printed line wider than the page is cut at the page's edge
            cov = cov[:, :int(w - 2 * margin) - 1]
            ch, cw = cov.shape
        if ch >= h - 2 * margin:
            continue
        for _ in range(30):
            x0, y0 = rng.uniform(margin, w - margin - cw), rng.uniform(margin, h - margin - ch)
            if _clear_of(rects, x0 - 4, y0 - 4, x0 + cw + 4, y0 + ch + 4):
                rects.append((int(x0), int(y0), int(x0 + cw), int(y0 + ch)))
                placed.append(_PlacedDigit(-1, -1, cov, int(round(x0)), int(round(y0)), extra))
                break
    return placed, [kind]


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


# Reflectance ranges (B, G, R) of pen inks on paper, low and high: ballpoint blue, red, purple, navy.
INK_COLOURS = {
    "blue": ((0.45, 0.18, 0.05), (0.75, 0.38, 0.2)),
    "red": ((0.1, 0.08, 0.55), (0.3, 0.25, 0.85)),
    "purple": ((0.4, 0.1, 0.3), (0.62, 0.22, 0.5)),
    "navy": ((0.25, 0.1, 0.05), (0.4, 0.2, 0.12)),
}


def _paper_print(canvas: tuple[int, int], numbers: list[list[_PlacedDigit]], pad: int, rng: np.random.Generator,
                 config: SynthConfig) -> tuple[np.ndarray, list[str]]:
    """Squared grid lines or a dot grid printed on the paper, under the writing (they run through digits).

    The pitch follows the writing: people write a digit across one to two and a half squares.
    """
    heights = [d.coverage.shape[0] for n in numbers for d in n] or [40]
    pitch = float(np.median(heights)) / rng.uniform(1.0, 2.5)
    pitch = max(pitch, 6.0)
    kind = config.paper_print if config.paper_print != "grid_or_dots" else str(rng.choice(["grid", "dots"]))
    colour = "blue" if rng.random() < 0.6 else "grey"
    out = np.zeros(canvas, np.float32)
    ph, pw = canvas
    ox, oy = rng.uniform(0, pitch, 2)
    strength = rng.uniform(0.35, 0.85)
    if kind == "grid":
        thick = 1 if rng.random() < 0.7 else 2
        for x in np.arange(ox, pw, pitch):
            cv2.line(out, (int(x * 16), 0), (int(x * 16), ph * 16), strength, thick, cv2.LINE_AA, shift=4)
        for y in np.arange(oy, ph, pitch):
            cv2.line(out, (0, int(y * 16)), (pw * 16, int(y * 16)), strength, thick, cv2.LINE_AA, shift=4)
    else:
        r = rng.uniform(0.7, 1.8)
        for y in np.arange(oy, ph, pitch):
            for x in np.arange(ox, pw, pitch):
                cv2.circle(out, (int(x * 16), int(y * 16)), int(r * 16), strength, -1, cv2.LINE_AA, shift=4)
    return out, [f"{kind}_paper", f"{colour}_print", f"pitch:{pitch:.0f}"]


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
                      rng: np.random.Generator, config: SynthConfig,
                      other_ink: Sequence[_PlacedDigit] = ()) -> tuple[np.ndarray, dict[str, Any]]:
    """BGR reflectance of the page (plus `pad` px around it): paper or board, ink, marks, table.

    `other_ink`: writing that is not digits (words, printed text), in the same ink as the digits.
    """
    h, w = shape
    ph, pw = h + 2 * pad, w + 2 * pad
    coverage = np.zeros((ph, pw), np.float32)
    for number in [*numbers, list(other_ink)]:
        for d in number:
            ch, cw = d.coverage.shape
            region = coverage[d.y + pad:d.y + pad + ch, d.x + pad:d.x + pad + cw]
            np.maximum(region, d.coverage[:region.shape[0], :region.shape[1]], out=region)
    marks, paper_mask, kinds = _distractors(shape, pad, numbers, rng, config)

    dark_on_light = bool(rng.random() < config.dark_on_light_prob)
    if dark_on_light:
        paper_r = rng.uniform(0.65, 0.95)
        if config.max_contrast is None:
            ink_r = rng.uniform(0.03, paper_r - config.min_contrast)
        else:  # faint: pencil, a thin ballpoint line that the camera blurs into the paper
            ink_r = paper_r - rng.uniform(config.min_contrast, config.max_contrast)
        table_r = rng.uniform(0.08, 0.45)
    else:
        paper_r = rng.uniform(0.06, 0.28)
        ink_r = rng.uniform(paper_r + config.min_contrast + 0.1, 0.92)
        table_r = rng.uniform(0.4, 0.8)
    # float32 throughout: the frame-sized arithmetic is most of the generator's time.
    paper_c = np.clip(paper_r * _tint(rng, 0.06), 0, 1).astype(np.float32)
    ink_c = np.clip(ink_r * _tint(rng, 0.15), 0, 1).astype(np.float32)
    table_c = np.clip(table_r * _tint(rng, 0.2), 0, 1).astype(np.float32)
    tags: list[str] = []
    if config.ink == "coloured" and dark_on_light:
        ink_name = str(rng.choice(list(INK_COLOURS)))
        lo_c, hi_c = INK_COLOURS[ink_name]
        ink_c = rng.uniform(lo_c, hi_c).astype(np.float32)
        if rng.random() < 0.4:
            paper_c = (rng.uniform(0.3, 0.5), rng.uniform(0.78, 0.9), rng.uniform(0.85, 0.95))
            paper_c = np.array(paper_c, np.float32)
            tags.append("yellow_paper")
        else:
            paper_c = np.full(3, rng.uniform(0.78, 0.95), np.float32) * _tint(rng, 0.03)
            tags.append("white_paper")
        tags.append(f"{ink_name}_ink")

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
    if config.paper_print != "none":
        printed, print_tags = _paper_print((ph, pw), numbers, pad, rng, config)
        # Printed grid ink filters the paper's colour: light blue or grey lines on whatever paper.
        tint = np.array([0.97, 0.82, 0.62] if "blue_print" in print_tags else [0.72, 0.72, 0.72], np.float32)
        pr = (printed * pm[..., 0])[..., None]
        base = base * (1 - pr) + base * tint * pr
        tags += print_tags
    refl = base * (1 - cov) + ink_c * cov
    refl = refl * (1 - mk) + ink_c * mk
    info = {"polarity": "dark_on_light" if dark_on_light else "light_on_dark", "distractors": kinds,
            "contrast": round(float(abs(paper_r - ink_r)), 3), "tags": tags}
    return refl, info


def _camera_pose(numbers: list[list[_PlacedDigit]], rng: np.random.Generator, config: SynthConfig) -> np.ndarray:
    """A page → frame homography that keeps every digit at least 4 px inside the frame."""
    w, h = config.width, config.height
    if not numbers:
        return _homography(w, h, rng, config)
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
    light = rng.uniform(*config.exposure) * (1 + gx * (xx / w - 0.5) + gy * (yy / h - 0.5))
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
                           "mnist_index": d.mnist_index, **dict(d.extra)})
        x0 = min(dd["box"][0] for dd in digits)
        y0 = min(dd["box"][1] for dd in digits)
        x1 = max(dd["box"][0] + dd["box"][2] for dd in digits)
        y1 = max(dd["box"][1] + dd["box"][3] for dd in digits)
        out.append({"text": "".join(str(dd["label"]) for dd in digits), "box": [x0, y0, x1 - x0, y1 - y0],
                    "digits": digits})
    return sorted(out, key=lambda n: (n["box"][1], n["box"][0]))


def make_frame(digits_pool: np.ndarray, labels_pool: np.ndarray, rng: np.random.Generator,
               config: SynthConfig = SynthConfig(), fonts: Any = None) -> tuple[np.ndarray, dict[str, Any]]:
    """One BGR uint8 frame and its truth: numbers (text, box, per-digit label/box) in frame pixels.

    `fonts` (a handwriting.FontBank) is needed when `config.glyphs == "fonts"` or `config.layout == "text"`;
    loaded from train/fonts when not given.
    """
    w, h = config.width, config.height
    lo, hi = config.digit_height_px
    base_h = rng.uniform(lo, hi)
    font = ""
    if config.glyphs == "fonts" or config.layout == "text":
        if fonts is None:
            from mnist_edge.benchmarks.handwriting import load_fonts  # noqa: PLC0415 - Pillow

            fonts = load_fonts()
        font = str(rng.choice(fonts.names))  # one writer per frame
    numbers: list[list[_PlacedDigit]] | None = None
    other_ink: list[_PlacedDigit] = []
    tags: list[str] = []
    if config.layout == "text":
        numbers = []
        other_ink, tags = _layout_text(rng, config, base_h, fonts, font)
    else:
        layout = _layout_rows if config.layout == "rows" else _layout
        for _ in range(20):
            numbers = layout(digits_pool, labels_pool, rng, config, base_h, fonts, font)
            if numbers is not None:
                break
            base_h = max(lo, base_h * 0.85)
    if numbers is None:
        raise ValueError(f"cannot lay out digits of {lo}-{hi} px in a {w}x{h} frame; enlarge the frame")

    # The page is drawn with a margin beyond the frame: the warp then never needs pixels from outside.
    pad = int(0.15 * max(w, h))
    refl, info = _page_reflectance(numbers, (h, w), pad, rng, config, other_ink)
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
    tags = tags + info["tags"] + ([f"font:{font}"] if font else [])
    if tags:
        truth["tags"] = tags
    if other_ink:
        truth["not_digits"] = [dict(d.extra) for d in other_ink]
    return frame, truth


def _large(base: SynthConfig, rng: np.random.Generator) -> SynthConfig:
    # Paper held close to the camera: one number whose digits are 45-95 % of the frame height.
    return replace(base, digit_height_px=(0.45 * base.height, 0.95 * base.height), max_numbers=1,
                   max_digits_per_number=4, margin=0.015, max_rotation_deg=3.0, max_perspective=0.015,
                   ruled_lines_prob=0.0, page_edge_prob=0.0)


def _faint(base: SynthConfig, rng: np.random.Generator) -> SynthConfig:
    # A thin ballpoint or a pencil (1-2 px strokes at 640x480) on paper, low contrast, in a dim room.
    return replace(base, thin_strokes=True, dark_on_light_prob=1.0, min_contrast=0.2, max_contrast=0.5,
                   exposure=(0.35, 0.75), read_noise=(2.0, 6.0), digit_height_px=(25.0, 70.0),
                   broken_stroke_prob=0.0)


def _close_lines(base: SynthConfig, rng: np.random.Generator) -> SynthConfig:
    # Several lines written close together: less than half a digit height of clear space between them.
    return replace(base, layout="rows", rows=(2, 4), numbers_per_row=2, line_gap=(0.1, 0.5),
                   max_digits_per_number=6, max_digits_per_frame=20, digit_height_px=(22.0, 60.0),
                   ruled_lines_prob=0.0)


def _grid(base: SynthConfig, rng: np.random.Generator) -> SynthConfig:
    # Squared or dotted notebook paper, light blue or grey, printed under the digits.
    return replace(base, paper_print="grid_or_dots", dark_on_light_prob=1.0, ruled_lines_prob=0.0)


def _fonts(base: SynthConfig, rng: np.random.Generator) -> SynthConfig:
    # Shapes MNIST lacks: European 1s (flag and base), crossed 7s, long-tailed 9s, small round 0s.
    return replace(base, glyphs="fonts", broken_stroke_prob=0.0)


def _slanted(base: SynthConfig, rng: np.random.Generator) -> SynthConfig:
    # A whole number written along a line tilted 15-40 degrees (the camera adds up to its own +-8).
    return replace(base, slant_deg=(15.0, 40.0), max_numbers=2, min_digits_per_number=3, max_digits_per_number=6,
                   max_digits_per_frame=9,
                   digit_height_px=(25.0, 60.0), ruled_lines_prob=0.0)


def _touching(base: SynthConfig, rng: np.random.Generator) -> SynthConfig:
    # A dense sheet: digits of a number touch or overlap their neighbours (the lines stay apart).
    # An MNIST digit's 1-px pad is 0.05 of its height on each side: a gap of -0.2..-0.1 leaves the ink of
    # neighbours overlapping by up to 0.1 of a height or just touching.
    return replace(base, layout="rows", rows=(1, 3), line_gap=(0.5, 1.0), digit_gap=(-0.2, -0.1),
                   max_digits_per_number=6, max_digits_per_frame=14, digit_height_px=(30.0, 80.0),
                   ruled_lines_prob=0.0)


def _colour(base: SynthConfig, rng: np.random.Generator) -> SynthConfig:
    # Blue, red, purple or navy ink on white or yellow paper.
    return replace(base, ink="coloured", dark_on_light_prob=1.0)


# Frame sizes of the "sizes" class and their odds: webcams to phone photos; the big ones are slow to draw.
FRAME_SIZES = ((320, 240), (800, 600), (1280, 960), (2000, 1500))
FRAME_SIZE_ODDS = (0.4, 0.3, 0.15, 0.15)


def _sizes(base: SynthConfig, rng: np.random.Generator) -> SynthConfig:
    # From a 320x240 webcam to a 2000x1500 photo; digits 6-20 % of the frame height.
    w, h = FRAME_SIZES[int(rng.choice(len(FRAME_SIZES), p=FRAME_SIZE_ODDS))]
    return replace(base, width=w, height=h, digit_height_px=(max(14.0, 0.06 * h), 0.2 * h))


def _negative(base: SynthConfig, rng: np.random.Generator) -> SynthConfig:
    # No digits at all: handwritten words and letters, printed text lines. Every digit read is false.
    return replace(base, layout="text", digit_height_px=(25.0, 70.0), dark_on_light_prob=0.85)


# Scene classes (issue 11's failure classes, its number in brackets): name → SynthConfig from a base.
SCENES = {
    "classic": lambda base, rng: base,   # the generator before issue 11: numbers well apart, MNIST digits
    "large": _large,                     # (1)
    "faint": _faint,                     # (3)
    "close_lines": _close_lines,         # (4)
    "grid": _grid,                       # (5)
    "fonts": _fonts,                     # (6)
    "slanted": _slanted,                 # (7)
    "touching": _touching,               # (8)
    "negative": _negative,               # (9)
    "colour": _colour,
    "sizes": _sizes,
}
# Named mixes for --classes: "legacy" reproduces the frames (and numbers) of the generator before issue 11.
PROFILES = {"all": tuple(SCENES), "legacy": ("classic",)}
NEEDS_FONTS = ("fonts", "negative")


def parse_classes(spec: str) -> tuple[str, ...]:
    """`all`, `legacy` or a comma-separated list of scene classes → the class names, in order."""
    names = PROFILES.get(spec) or tuple(n.strip() for n in spec.split(",") if n.strip())
    unknown = [n for n in names if n not in SCENES]
    if unknown or not names:
        raise ValueError(f"unknown scene class {', '.join(unknown) or repr(spec)}; choose from "
                         f"{', '.join(SCENES)} or a profile ({', '.join(PROFILES)})")
    return names


def make_scene_frame(scene: str, digits_pool: np.ndarray, labels_pool: np.ndarray, rng: np.random.Generator,
                     base: SynthConfig = SynthConfig(), fonts: Any = None) -> tuple[np.ndarray, dict[str, Any]]:
    """A frame of one scene class (SCENES); its truth says the class. `classic` is `make_frame(base)`."""
    if scene not in SCENES:
        raise ValueError(f"unknown scene class {scene!r}; choose from {', '.join(SCENES)}")
    config = SCENES[scene](base, rng)
    frame, truth = make_frame(digits_pool, labels_pool, rng, config, fonts)
    return frame, {"class": scene, "frame_size": [config.width, config.height], **truth}


def iter_frames(n_frames: int, seed: int, source_images: np.ndarray, source_labels: np.ndarray,
                classes: Sequence[str], config: SynthConfig = SynthConfig(), fonts_dir: str | os.PathLike | None = None,
                start: int = 0) -> Iterator[tuple[int, np.ndarray, dict[str, Any]]]:
    """(index, frame, truth) for frames start..n_frames-1; frame i is of class `classes[i % len(classes)]`
    and depends only on (seed, i)."""
    unknown = [c for c in classes if c not in SCENES]
    if unknown or not classes:
        raise ValueError(f"unknown scene class {', '.join(unknown) or '(none)'}; choose from {', '.join(SCENES)}")
    if len(source_images) != len(source_labels) or len(source_images) == 0:
        raise ValueError(f"need as many labels as images (got {len(source_images)} and {len(source_labels)})")
    fonts = None
    if any(c in NEEDS_FONTS for c in classes):
        from mnist_edge.benchmarks.handwriting import load_fonts  # noqa: PLC0415 - Pillow

        fonts = load_fonts(str(fonts_dir) if fonts_dir is not None else None)
    for i in range(start, n_frames):
        rng = np.random.default_rng([seed, i])
        frame, truth = make_scene_frame(classes[i % len(classes)], source_images, source_labels, rng, config, fonts)
        yield i, frame, truth


def make_dataset(out_dir: str | os.PathLike, n_frames: int, seed: int, source_images: np.ndarray,
                 source_labels: np.ndarray, config: SynthConfig = SynthConfig(),
                 image_format: str = "png", classes: Sequence[str] = ("classic",),
                 fonts_dir: str | os.PathLike | None = None) -> Path:
    """Write `n_frames` frames and `truth.json` to `out_dir`; frame i depends only on (seed, i).

    Frame i is of scene class `classes[i % len(classes)]`: every class gets its share, and `("classic",)`
    writes exactly the frames of the generator before issue 11.
    """
    if image_format not in ("png", "jpg"):
        raise ValueError(f"image_format must be 'png' or 'jpg', not {image_format!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    frames = []
    for i, frame, truth in iter_frames(n_frames, seed, source_images, source_labels, classes, config, fonts_dir):
        name = f"frame_{i:05d}.{image_format}"
        # The frame already went through JPEG once; PNG stores it as is.
        params = [cv2.IMWRITE_JPEG_QUALITY, 95] if image_format == "jpg" else []
        if not cv2.imwrite(str(out / name), frame, params):
            raise OSError(f"could not write {out / name}")
        frames.append({"file": name, **truth})
        if (i + 1) % 100 == 0:
            print(f"{i + 1}/{n_frames} frames", file=sys.stderr)
    meta = {"seed": seed, "n_frames": n_frames, "classes": list(classes), "config": asdict(config),
            "frames": frames}
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
    parser.add_argument("--classes", default="all",
                        help=f"scene classes, comma-separated, or a profile: 'all' (default: every class in turn) "
                        f"or 'legacy' (the generator before issue 11, same frames). Classes: {', '.join(SCENES)}")
    parser.add_argument("--fonts-dir", default=None, help="handwriting fonts (default: train/fonts)")
    parser.add_argument("--clip", default=None, help="also write the frames as a Motion-JPEG .avi clip")
    parser.add_argument("--fps", type=float, default=15.0, help="frame rate of --clip")
    args = parser.parse_args(argv)
    try:
        from mnist_edge.train.mnist import load_test_split, resolve_data_dir  # noqa: PLC0415 - CLI only

        classes = parse_classes(args.classes)
        data_dir = resolve_data_dir(args.mnist_dir)
        if data_dir is None:
            raise FileNotFoundError("no MNIST folder: pass --mnist-dir or set MNIST_DIR")
        x_test, y_test = load_test_split(data_dir)
        config = SynthConfig(width=args.width, height=args.height)
        truth = make_dataset(args.out, args.frames, args.seed, x_test, y_test, config, args.format, classes,
                             args.fonts_dir)
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
