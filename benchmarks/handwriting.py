"""Ink shapes for camera_synth beyond MNIST: handwriting-font digits and words, thin pen strokes, print.

MNIST digits are American-style, of one stroke width, and never have a European 1 (flag and base), a
crossed 7, a 9 with a long tail below the line or a small round 0; the real photos of issue 11 have all of
them. Handwriting fonts (SIL OFL / Apache-2.0, `train/fonts/`, rendered with Pillow) add those shapes and
also give the letters and words a reader must *not* read as digits. All shapes are float32 ink coverage
in [0, 1], tightly cropped, like camera_synth's MNIST digits.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import cv2
import numpy as np

# Rendering size of a glyph before it is scaled to its place: big enough that a 95 %-of-frame digit in a
# 2000x1500 frame is a down-scale of it (sharp), small enough to render in about a millisecond.
RENDER_PX = 160

# Letters-only words: distractors whose truth is "no digits" (o, l, s, g, z look like digits on purpose).
WORDS = ("the", "what", "is", "OCR", "note", "call", "mom", "milk", "eggs", "buy", "bread", "todo", "list",
         "hello", "world", "Monday", "June", "room", "meeting", "ideas", "page", "left", "right", "Tuesday",
         "dear", "thanks", "soon", "go", "lol", "zoo", "Oslo", "Lisbon", "ball", "glass", "sol", "bag",
         "Hi", "ok", "yes", "no", "email", "phone", "name", "date", "total", "sum", "Bob", "Zoe", "Sally",
         "Igloo", "gloss", "jazz", "quiz", "SOS", "loop", "solo", "lazy", "dog", "fox", "and", "or")
PRINT_SENTENCES = ("The quick brown fox jumps over the lazy dog.", "Handwritten digit recognition on the edge.",
                   "Please write your answer in the box below.", "Chapter One: Introduction",
                   "Lorem ipsum dolor sit amet, consectetur adipiscing elit.", "Name:", "Signature:",
                   "Total amount due", "Invoice", "Meeting notes and action items", "Table of contents")


def default_fonts_dir() -> Path:
    """The handwriting fonts committed with the project: `train/fonts/` (installed as mnist_edge.train)."""
    return Path(str(resources.files("mnist_edge.train") / "fonts"))


def font_files(fonts_dir: str | os.PathLike | None = None) -> list[Path]:
    """The .woff/.ttf/.otf fonts in `fonts_dir` (default: `train/fonts/`), sorted by name."""
    root = Path(fonts_dir) if fonts_dir is not None else default_fonts_dir()
    if not root.is_dir():
        raise FileNotFoundError(f"fonts folder not found: {root} (the handwriting fonts live in train/fonts/)")
    files = sorted(p for p in root.iterdir() if p.suffix.lower() in (".woff", ".ttf", ".otf"))
    if not files:
        raise FileNotFoundError(f"no .woff/.ttf/.otf fonts in {root}")
    return files


def font_name(path: Path) -> str:
    """`caveat-latin-400-normal.woff` → `caveat`."""
    return path.stem.split("-latin")[0]


def _crop(cov: np.ndarray, level: float = 0.02) -> np.ndarray:
    rows = np.flatnonzero((cov > level).any(axis=1))
    cols = np.flatnonzero((cov > level).any(axis=0))
    if rows.size == 0:
        return np.zeros((1, 1), np.float32)
    return np.ascontiguousarray(cov[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])


def stroke_width(cov: np.ndarray) -> float:
    """Typical stroke width in pixels: twice the median ridge of the distance transform of the ink."""
    mask = (cov > 0.5).astype(np.uint8)
    if not mask.any():
        return 1.0
    dist = cv2.distanceTransform(np.pad(mask, 1), cv2.DIST_L2, 3)
    ridge = dist[dist >= cv2.dilate(dist, np.ones((3, 3), np.uint8))]
    ridge = ridge[ridge > 0]
    return float(2 * np.median(ridge)) if ridge.size else 1.0


@dataclass
class FontBank:
    """Handwriting fonts loaded once, with a cache of rendered glyphs (each at RENDER_PX)."""
    fonts_dir: str | os.PathLike | None = None
    _fonts: dict = field(default_factory=dict, repr=False)
    _glyphs: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        from PIL import ImageFont  # noqa: PLC0415 - Pillow only where fonts are used (bench extra)

        for path in font_files(self.fonts_dir):
            self._fonts[font_name(path)] = ImageFont.truetype(str(path), RENDER_PX)

    @property
    def names(self) -> list[str]:
        return sorted(self._fonts)

    def text(self, text: str, font: str) -> np.ndarray:
        """Coverage of `text` in `font` at RENDER_PX, tightly cropped."""
        key = (font, text)
        if key not in self._glyphs:
            from PIL import Image, ImageDraw  # noqa: PLC0415

            f = self._fonts[font]
            x0, y0, x1, y1 = f.getbbox(text)
            image = Image.new("L", (x1 - x0 + 8, y1 - y0 + 8))
            ImageDraw.Draw(image).text((4 - x0, 4 - y0), text, font=f, fill=255)
            self._glyphs[key] = _crop(np.asarray(image, np.float32) / 255.0)
        return self._glyphs[key]

    def digit(self, label: int, height: float, rng: np.random.Generator, font: str) -> tuple[np.ndarray, int, str]:
        """A handwriting-style digit `height` px tall: (coverage, descent below the baseline in px, variant).

        Variants the real photos have and MNIST lacks: a 1 with flag and base serif, a crossed 7, a 9
        whose tail runs well below the line, a small round 0.
        """
        cov = self.text(str(label), font).copy()
        h, w = cov.shape
        pen = max(2, round(stroke_width(cov)))
        variant, descent_frac, scale = "plain", 0.0, 1.0
        draw = np.pad(cov, pen * 4)  # room for a base, a flag or a crossbar beyond the glyph
        oy = ox = pen * 4
        u = rng.random()
        if label == 1 and u < 0.6:
            # The stem's x at the foot and at the top, from the ink of the lowest and highest rows.
            foot_x = ox + float(np.mean(np.flatnonzero(cov[-max(1, h // 10):].max(axis=0) > 0.5)))
            top_x = ox + float(np.mean(np.flatnonzero(cov[:max(1, h // 10)].max(axis=0) > 0.5)))
            half = rng.uniform(0.22, 0.35) * h
            cv2.line(draw, (int(foot_x - half), oy + h - pen // 2), (int(foot_x + half), oy + h - pen // 2), 1.0,
                     pen, cv2.LINE_AA)
            flag = rng.uniform(0.25, 0.4) * h
            cv2.line(draw, (int(top_x), oy + pen // 2), (int(top_x - 0.8 * flag), int(oy + 0.6 * flag)), 1.0, pen,
                     cv2.LINE_AA)
            variant = "flag_base"
        elif label == 7 and u < 0.6:
            y = oy + int(rng.uniform(0.5, 0.62) * h)
            xs = np.flatnonzero(cov[y - oy] > 0.5)
            cx = ox + (float(xs.mean()) if xs.size else w / 2)
            half = rng.uniform(0.25, 0.38) * h
            cv2.line(draw, (int(cx - half), y), (int(cx + half), y), 1.0, pen, cv2.LINE_AA)
            variant = "crossed"
        elif label == 9 and u < 0.6:
            # The tail: the lower part of the glyph stretched down, below the line the other digits sit on.
            cut = int(0.55 * h)
            stretch = rng.uniform(1.6, 2.4)
            tail = cv2.resize(cov[cut:], (w, max(1, round((h - cut) * stretch))), interpolation=cv2.INTER_LINEAR)
            cov9 = np.concatenate([cov[:cut], tail])
            draw = np.pad(cov9, pen * 4)
            descent_frac = (cov9.shape[0] - h) / h
            variant = "long_tail"
        elif label == 0 and u < 0.5:
            scale = rng.uniform(0.55, 0.75)
            variant = "small_round"
        out = _crop(draw)
        # A base or a flag stays within the glyph's height; a tail adds its descent below the line.
        target_h = height * scale * (1 + descent_frac)
        if variant == "small_round":  # rounder: width close to its height
            out_w = target_h * rng.uniform(0.8, 1.0)
        else:
            out_w = out.shape[1] * target_h / out.shape[0]
        size = (max(1, round(out_w)), max(1, round(target_h)))
        resized = np.clip(cv2.resize(out, size, interpolation=cv2.INTER_AREA), 0, 1).astype(np.float32)
        return resized, int(round(descent_frac * height)), variant

    def word(self, text: str, height: float, font: str) -> np.ndarray:
        """A word whose letters are about `height` px tall (the font's x-height and caps vary)."""
        cov = self.text(text, font)
        scale = height / RENDER_PX * 1.3
        size = (max(1, round(cov.shape[1] * scale)), max(1, round(cov.shape[0] * scale)))
        return np.clip(cv2.resize(cov, size, interpolation=cv2.INTER_AREA), 0, 1).astype(np.float32)


@lru_cache(maxsize=4)
def load_fonts(fonts_dir: str | None = None) -> FontBank:
    """A FontBank of `fonts_dir` (default: train/fonts), loaded once per process and folder."""
    return FontBank(fonts_dir)


def printed_line(text: str, height: float, rng: np.random.Generator) -> np.ndarray:
    """A line of printed text (OpenCV's Hershey fonts) with capitals `height` px tall, as coverage."""
    face = int(rng.choice([cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX,
                           cv2.FONT_HERSHEY_TRIPLEX, cv2.FONT_HERSHEY_PLAIN]))
    scale = cv2.getFontScaleFromHeight(face, max(4, int(round(height))), 1)
    thickness = max(1, round(height / 12))
    (tw, th), base = cv2.getTextSize(text, face, scale, thickness)
    canvas = np.zeros((th + base + 2 * thickness + 4, tw + 2 * thickness + 4), np.uint8)  # putText: 8-bit only
    cv2.putText(canvas, text, (thickness + 2, th + thickness + 2), face, scale, 255, thickness, cv2.LINE_AA)
    return _crop(canvas.astype(np.float32) / 255.0)


def _zhang_suen(mask: np.ndarray) -> np.ndarray:
    """One-pixel skeleton of a binary mask (Zhang & Suen 1984), vectorised with numpy."""
    img = np.pad(mask.astype(np.uint8), 1)
    while True:
        changed = False
        for step in (0, 1):
            c = img[1:-1, 1:-1]
            p2, p3, p4 = img[:-2, 1:-1], img[:-2, 2:], img[1:-1, 2:]
            p5, p6, p7 = img[2:, 2:], img[2:, 1:-1], img[2:, :-2]
            p8, p9 = img[1:-1, :-2], img[:-2, :-2]
            ring = [p2, p3, p4, p5, p6, p7, p8, p9, p2]
            neighbours = sum(r.astype(np.int16) for r in ring[:8])
            transitions = sum(((ring[k] == 0) & (ring[k + 1] == 1)).astype(np.int16) for k in range(8))
            if step == 0:
                side = (p2 * p4 * p6 == 0) & (p4 * p6 * p8 == 0)
            else:
                side = (p2 * p4 * p8 == 0) & (p2 * p6 * p8 == 0)
            remove = (c == 1) & (neighbours >= 2) & (neighbours <= 6) & (transitions == 1) & side
            if remove.any():
                c[remove] = 0
                changed = True
        if not changed:
            return img[1:-1, 1:-1]


def thin_strokes(cov: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, float, bool]:
    """The same digit written with a thin pen: its skeleton redrawn 1-2 px wide, maybe with pencil grain.

    Returns (coverage, pen width in px, pencil?). A felt-tip MNIST digit scaled to 60 px has ~7 px strokes;
    a ballpoint or pencil at 640x480 leaves 1-2 px, which is what issue 11's dim photos show.
    """
    skeleton = _zhang_suen(cov > 0.5).astype(np.float32)
    pen = float(rng.uniform(1.0, 2.2))
    out = np.pad(skeleton, 2)
    if pen >= 1.5:
        out = cv2.dilate(out, np.ones((2, 2), np.uint8))
    # Anti-aliased edges: a 1-px line keeps a core of coverage ~0.6-0.8 after this blur.
    out = cv2.GaussianBlur(out, (0, 0), 0.45)
    out = np.clip(out / max(1e-6, float(out.max())), 0, 1)
    pencil = bool(rng.random() < 0.5)
    if pencil:  # graphite leaves a broken, grainy trace
        grain = rng.uniform(0.45, 1.0, out.shape).astype(np.float32)
        out = out * cv2.GaussianBlur(grain, (0, 0), 0.7)
        out = np.clip(out / max(1e-6, float(np.percentile(out[out > 0.05], 95)) if (out > 0.05).any() else 1), 0, 1)
    return out.astype(np.float32), pen, pencil
