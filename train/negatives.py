"""Training images for the eleventh class, "not a digit", and handwriting-font digits.

A ten-way softmax has no "none of these": on real photos a letter, a word, half a digit, two touching
digits or a ruling reads as a confident digit. Before this class, the shipped reader put 2.75 false digits
on each photo of handwritten words (`../shared/notes/real-photos-evidence.md`); a confidence cut traded
recall for precision without reaching either target. So the classifier learns what is *not* a digit from:

- letters and punctuation that do not look like a digit, and whole words, in 12 handwriting fonts and a
  print font (letters like O, l, S, Z, B, g, q are left out: they are a 0, 1, 5, 2, 8, 9 when handwritten);
- pieces of MNIST digits (a quarter to a half of one), and two or three MNIST digits run together;
- rulings, grids, dot grids, dashes, crosses, solid blobs, dense scribbles and texture.

Every image goes through the runtime's own MNIST-style preprocessing (`preprocess.mnist_style`), exactly as
a candidate cut out of a frame does. The fonts (SIL Open Font License or Apache-2.0, see
`train/fonts/README.md`) are in `train/fonts/`.
Needs Pillow (the `train` extra) to render fonts; numpy and OpenCV otherwise.
"""
from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from mnist_edge.edge_runtime.classifier import NOT_A_DIGIT  # noqa: F401 - the eleventh label, after "0".."9"
from mnist_edge.edge_runtime.preprocess import mnist_style

FONTS_DIR = Path(__file__).with_name("fonts")
# Letters and signs that no handwritten digit resembles. Left out: O o Q D U (0), l I i j J | ! ( ) / (1),
# Z z (2), S s (5), b G (6), T (7), B (8), g q a (9), and anything else a careless hand makes digit-like.
SAFE_GLYPHS = "cefhkmnprtuvwxyACEFHKLMNPRVWXY?@#%&*+=<>~$"
WORD_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
PRINT_FONT = "DejaVuSans.ttf"  # typed text; Pillow finds it in the system font path where installed

# Share of each kind in the "not a digit" set.
KINDS = {"glyph": 0.30, "word": 0.17, "piece": 0.15, "run": 0.13, "ruling": 0.12, "blob": 0.13}


def font_paths(fonts_dir: str | Path = FONTS_DIR) -> list[Path]:
    """The handwriting fonts shipped for training (`*.woff`, `*.ttf`)."""
    paths = sorted(p for p in Path(fonts_dir).glob("*") if p.suffix in (".woff", ".ttf", ".otf"))
    if not paths:
        raise FileNotFoundError(f"no fonts in {fonts_dir}: the training set's 'not a digit' class renders "
                                "letters in them (see train/fonts/README.md)")
    return paths


class _Renderer:
    """Renders text white on black with Pillow, thick or thin, slanted or not, then MNIST-style."""

    def __init__(self, fonts: list[Path], rng: np.random.Generator):
        from PIL import ImageFont

        self.rng = rng
        self.fonts = [ImageFont.truetype(str(p), 56) for p in fonts]
        try:
            self.fonts.append(ImageFont.truetype(PRINT_FONT, 48))
        except OSError:
            pass  # no system print font: handwriting fonts only

    def ink(self, text: str) -> np.ndarray:
        from PIL import Image, ImageDraw

        font = self.fonts[self.rng.integers(len(self.fonts))]
        left, top, right, bottom = font.getbbox(text)
        w, h = right - left + 24, bottom - top + 24
        image = Image.new("L", (max(w, 8), max(h, 8)))
        ImageDraw.Draw(image).text((12 - left, 12 - top), text, font=font, fill=255)
        ink = np.asarray(image)
        return _vary_stroke(_slant(ink, self.rng), self.rng)


def _slant(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rotate by ±15° and shear by ±0.3: hands and cameras are not upright."""
    h, w = ink.shape
    angle = math.radians(rng.uniform(-15, 15))
    shear = rng.uniform(-0.3, 0.3)
    c, s = math.cos(angle), math.sin(angle)
    m = np.array([[c, -s + shear * c, 0], [s, c + shear * s, 0]], np.float32)
    pad = int(0.4 * max(h, w))
    m[:, 2] = np.array([w / 2 + pad, h / 2 + pad]) - m[:, :2] @ np.array([w / 2, h / 2])
    return cv2.warpAffine(ink, m, (w + 2 * pad, h + 2 * pad), flags=cv2.INTER_LINEAR)


def _vary_stroke(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    r = rng.random()
    if r < 0.3:
        k = int(rng.integers(2, 6))
        return cv2.dilate(ink, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    if r < 0.45:
        return cv2.erode(ink, np.ones((2, 2), np.uint8))
    return ink


def _mnist_digit_ink(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One MNIST digit, upscaled ×2, as ink (bright on dark, uint8)."""
    digit = images[rng.integers(len(images))]
    return cv2.resize(digit, (56, 56), interpolation=cv2.INTER_LINEAR)


def _piece(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The top or bottom quarter to half of a digit (a cut-off or broken stroke). Only flat pieces: a tall
    piece (the left half of a 0, the stem of a 4) is a 1 or a small 0 to anyone, so it is no negative."""
    while True:
        ink = _mnist_digit_ink(images, rng)
        x, y, w, h = cv2.boundingRect((ink > 64).view(np.uint8))
        cut = max(2, int(h * rng.uniform(0.25, 0.5)))
        ink = ink[y:y + cut, x:x + w] if rng.random() < 0.5 else ink[y + h - cut:y + h, x:x + w]
        px, py, pw, ph = cv2.boundingRect((ink > 64).view(np.uint8))
        if pw >= 1.3 * ph:
            return np.pad(ink, 4)


def _run(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Two or three digits written together, touching or overlapping a little: one candidate, no digit.
    (Not stacked ones: squeezed into the 20x20 box, two stacked digits look like a narrow 8 or 3.)"""
    return _join([_mnist_digit_ink(images, rng) for _ in range(int(rng.choice([2, 2, 3])))], rng)


def _join(inks: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """The inks (56 px tall) side by side, each overlapping the one before by -2 to 7 px."""
    parts = []
    for ink in inks:
        x, y, w, h = cv2.boundingRect((ink > 64).view(np.uint8))
        parts.append(ink[:, x:x + w])
    out = parts[0]
    for part in parts[1:]:
        overlap = int(rng.integers(-2, 8))  # negative: a small gap that a thick pen would close
        if overlap < 0:
            out = np.hstack([out, np.zeros((56, -overlap), np.uint8), part])
        else:
            overlap = min(overlap, out.shape[1] - 1, part.shape[1] - 1)
            joined = np.zeros((56, out.shape[1] + part.shape[1] - overlap), np.uint8)
            joined[:, :out.shape[1]] = out
            joined[:, out.shape[1] - overlap:] = np.maximum(joined[:, out.shape[1] - overlap:], part)
            out = joined
    return np.pad(out, 4)


def _ruling(rng: np.random.Generator) -> np.ndarray:
    """Lines that are not a 1: horizontal or slanted rulings, grids, dot grids, dashes, crosses."""
    canvas = np.zeros((64, 64), np.uint8)
    t = int(rng.integers(1, 4))
    kind = rng.integers(5)
    if kind == 0:      # one or a few parallel lines, anything but near-vertical
        angle = math.radians(rng.choice([rng.uniform(-35, 35), rng.uniform(145, 215)]))
        gap = rng.uniform(8, 30)
        for k in range(int(rng.integers(1, 4))):
            off = (k - 1) * gap
            cx, cy = 32 - off * math.sin(angle), 32 + off * math.cos(angle)
            dx, dy = 40 * math.cos(angle), 40 * math.sin(angle)
            cv2.line(canvas, (int(cx - dx), int(cy - dy)), (int(cx + dx), int(cy + dy)), 255, t)
    elif kind == 1:    # a square grid
        step = int(rng.integers(10, 24))
        for v in range(int(rng.integers(0, step)), 64, step):
            cv2.line(canvas, (v, 0), (v, 63), 255, t)
            cv2.line(canvas, (0, v), (63, v), 255, t)
    elif kind == 2:    # a dot grid
        step = int(rng.integers(6, 16))
        for yy in range(int(rng.integers(0, step)), 64, step):
            for xx in range(int(rng.integers(0, step)), 64, step):
                cv2.circle(canvas, (xx, yy), t, 255, -1)
    elif kind == 3:    # a dash or a short stroke
        length = rng.uniform(10, 30)
        angle = math.radians(rng.uniform(-30, 30))
        dx, dy = length * math.cos(angle), length * math.sin(angle)
        cv2.line(canvas, (int(32 - dx), int(32 - dy)), (int(32 + dx), int(32 + dy)), 255, t + 1)
    else:              # a cross or an x
        a = math.radians(rng.choice([0, 45]) + rng.uniform(-10, 10))
        for b in (a, a + math.pi / 2):
            dx, dy = 22 * math.cos(b), 22 * math.sin(b)
            cv2.line(canvas, (int(32 - dx), int(32 - dy)), (int(32 + dx), int(32 + dy)), 255, t + 1)
    return canvas


def _blob(rng: np.random.Generator) -> np.ndarray:
    """Solid shapes, dense scribbles, texture and sensor noise."""
    canvas = np.zeros((64, 64), np.uint8)
    kind = rng.integers(4)
    if kind == 0:      # a solid blob (a thumb, a hole punch, a shadow)
        axes = (int(rng.integers(8, 28)), int(rng.integers(8, 28)))
        cv2.ellipse(canvas, (32, 32), axes, float(rng.uniform(0, 180)), 0, 360, 255, -1)
    elif kind == 1:    # a dense scribble (crossed-out writing)
        pts = rng.uniform(8, 56, size=(int(rng.integers(12, 30)), 2)).astype(np.int32)
        cv2.polylines(canvas, [pts], False, 255, int(rng.integers(1, 4)))
    elif kind == 2:    # texture: fabric, wood grain, paper fibre
        noise = rng.normal(0, 1, (16, 16)).astype(np.float32)
        canvas = cv2.resize(noise, (64, 64), interpolation=cv2.INTER_CUBIC)
        canvas = np.clip((canvas - 0.3) * 160, 0, 255).astype(np.uint8)
    else:              # sparse specks
        canvas = ((rng.random((64, 64)) > rng.uniform(0.9, 0.99)) * 255).astype(np.uint8)
        canvas = cv2.dilate(canvas, np.ones((2, 2), np.uint8))
    return canvas


def not_a_digit_images(n: int, mnist_images: np.ndarray, seed: int = 0,
                       fonts_dir: str | Path = FONTS_DIR) -> np.ndarray:
    """`n` "not a digit" images, (n, 28, 28) float32 in [0, 1], MNIST-style; `mnist_images` uint8 (N, 28, 28)."""
    rng = np.random.default_rng(seed)
    renderer = _Renderer(font_paths(fonts_dir), rng)
    kinds = rng.choice(list(KINDS), size=n, p=np.array(list(KINDS.values())) / sum(KINDS.values()))
    out = np.zeros((n, 28, 28), np.float32)
    for i, kind in enumerate(kinds):
        if kind == "glyph":
            ink = renderer.ink(SAFE_GLYPHS[rng.integers(len(SAFE_GLYPHS))])
        elif kind == "word":
            length = int(rng.integers(2, 7))
            ink = renderer.ink("".join(rng.choice(list(WORD_LETTERS), size=length)))
            if rng.random() < 0.25:  # written sideways (a note turned on the desk): a tall column of letters
                ink = np.ascontiguousarray(np.rot90(ink, k=int(rng.choice([1, 3]))))
        elif kind == "piece":
            ink = _piece(mnist_images, rng)
        elif kind == "run":
            ink = _run(mnist_images, rng)
        elif kind == "ruling":
            ink = _ruling(rng)
        else:
            ink = _blob(rng)
        out[i] = mnist_style(ink, black=0.0)
    return out


def font_digit_images(n: int, seed: int = 0, fonts_dir: str | Path = FONTS_DIR) -> tuple[np.ndarray, np.ndarray]:
    """`n` digits in handwriting fonts (European 1s with a flag and base, crossed 7s, long-tailed 9s, which
    MNIST's American writers rarely made): (images (n, 28, 28) float32, labels (n,) int64)."""
    rng = np.random.default_rng(seed)
    renderer = _Renderer(font_paths(fonts_dir), rng)
    labels = rng.integers(0, 10, size=n)
    images = np.stack([mnist_style(renderer.ink(str(d)), black=0.0) for d in labels]) if n else \
        np.zeros((0, 28, 28), np.float32)
    return images, labels.astype(np.int64)
