"""Find handwritten digits in a camera frame (numpy + OpenCV only).

Pipeline, most of it on a downscaled copy (about 320 px wide) for speed:
1. any input (gray, BGR, BGRA, 16-bit, float) → 8-bit gray, optional ROI, huge frames downscaled;
2. background: a median on a ~1/8-scale image decides the polarity (ink is the minority that departs
   from the background, dark or light), then a closing (dark ink) / opening (light ink) with a kernel
   wider than any stroke estimates the paper without the ink;
3. ink contrast = |gray − background| / background: shadows and lighting gradients divide out;
4. threshold from the noise level and the ink peak, connected components;
5. shape rules reject specks, lines, page edges and blobs; fragments of one broken digit are merged,
   touching digits split;
6. each digit is cut from the full-resolution ink map and made MNIST-style (preprocess.mnist_style).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from edge_runtime.preprocess import PreprocessConfig, mnist_style


@dataclass(frozen=True)
class DetectConfig:
    min_digit_height: float = 0.04     # fraction of frame (ROI) height: 19 px at 480
    max_digit_height: float = 0.45     # taller marks are lines, edges or objects
    min_digit_px: int = 10             # absolute floor on digit height (tiny frames)
    work_min_digit_px: float = 9.0     # the smallest digit keeps at least this height in the work image
    work_width: int = 320              # detection image width, unless digits would get smaller than above
    max_frame_side: int = 1600         # larger frames are downscaled first (boxes are mapped back)
    polarity: str = "auto"             # "auto", "dark_on_light" or "light_on_dark"
    noise_k: float = 5.0               # threshold ≥ this many noise sigmas of the ink map
    peak_fraction: float = 0.22        # ... and ≥ this fraction of the frame's strong-ink level
    max_width_ratio: float = 1.25      # w/h above this: touching digits, split (or a line, rejected)
    max_height_ratio: float = 14.0     # h/w above this: a vertical line, not a 1
    max_fill: float = 0.9              # solid blobs (fill of box) wider than 0.35 h are not digits
    merge_x_overlap: float = 0.5       # fragments overlapping this much of the narrower in x ...
    merge_y_gap: float = 0.3           # ... and this close vertically (fraction of height) are one digit
    crop_margin: float = 0.12          # margin around a digit for the MNIST crop, fraction of height
    max_digits: int = 64               # cluttered frames: keep the largest candidates
    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)


@dataclass(frozen=True, eq=False)
class DigitCandidate:
    box: tuple[int, int, int, int]     # x, y, w, h in frame pixels
    image: np.ndarray                  # (28, 28) float32 in [0, 1], MNIST-style (white ink on black)
    contrast: float                    # ink contrast relative to the background (0 dark-paper … 1 black ink)


def to_gray8(frame: np.ndarray) -> np.ndarray | None:
    """Any 2-D/3-D numeric image → 8-bit gray (None if empty); high bit depths are stretched min→max."""
    img = np.asarray(frame)
    if img.size == 0 or img.ndim not in (2, 3):
        return None
    if img.ndim == 3:
        channels = img.shape[2]
        if channels == 1:
            img = img[:, :, 0]
        elif channels not in (3, 4):
            raise ValueError(f"expected 1, 3 (BGR) or 4 (BGRA) channels, got {channels}")
    if img.dtype == np.bool_:
        img = img.astype(np.uint8) * 255
    if img.dtype != np.uint8:
        # 10/12/16-bit sensors and float images: map the frame's own range to 0..255.
        if img.dtype.kind == "f":
            img = np.nan_to_num(img.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        elif img.dtype not in (np.uint16, np.int16, np.float32):
            img = img.astype(np.float32)
        lo, hi = float(img.min()), float(img.max())
        alpha = 255.0 / (hi - lo) if hi > lo else 0.0
        img = cv2.convertScaleAbs(img, alpha=alpha, beta=-lo * alpha)
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY if img.shape[2] == 3 else cv2.COLOR_BGRA2GRAY)
    return np.ascontiguousarray(img)


def _odd(n: float) -> int:
    n = max(3, int(round(n)))
    return n if n % 2 else n + 1


def _background(gray: np.ndarray, config: DetectConfig, max_h_px: float) -> tuple[np.ndarray, bool]:
    """Background (paper) level at the size of `gray`, and whether the ink is dark."""
    h, w = gray.shape
    # Downscale so that the widest plausible stroke (~0.18 of the tallest digit) is ~2 px.
    factor = min(1.0, 2.0 / max(1.0, 0.18 * max_h_px))
    sw, sh = max(4, round(w * factor)), max(4, round(h * factor))
    small = cv2.resize(gray, (sw, sh), interpolation=cv2.INTER_AREA)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5))
    if config.polarity == "auto":
        dark_ink = _dark_ink(gray, small)
    else:
        dark_ink = config.polarity == "dark_on_light"
    # Closing removes dark strokes narrower than the kernel and keeps shadows and page edges.
    bg = cv2.morphologyEx(small, cv2.MORPH_CLOSE if dark_ink else cv2.MORPH_OPEN, kernel)
    bg = cv2.blur(bg, (3, 3))
    return cv2.resize(bg, (w, h), interpolation=cv2.INTER_LINEAR), dark_ink


def _dark_ink(gray: np.ndarray, small: np.ndarray) -> bool:
    """Polarity vote: the median background ignores ink of either sign, so the ink is the heavier tail."""
    med = cv2.medianBlur(small, 5)
    med = cv2.resize(med, (gray.shape[1], gray.shape[0]), interpolation=cv2.INTER_LINEAR)
    diff = gray[::2, ::2].astype(np.int16) - med[::2, ::2].astype(np.int16)
    sigma = 1.4826 * float(np.median(np.abs(diff[::2, ::2]))) + 1.0
    t = max(4.0 * sigma, 12.0)
    excess = np.abs(diff) - t
    weights = np.where(excess > 0, excess, 0).astype(np.float32)
    dark = float(weights[diff < 0].sum())
    light = float(weights[diff > 0].sum())
    return dark >= light


def _ink_map(gray: np.ndarray, bg: np.ndarray, dark_ink: bool) -> np.ndarray:
    """Ink contrast relative to the local background, float32 ≥ 0 (illumination divides out)."""
    g = gray.astype(np.float32)
    b = np.maximum(bg.astype(np.float32), 8.0)  # very dark boards: avoid amplifying noise without bound
    ink = (b - g) if dark_ink else (g - b)
    return np.maximum(ink / b, 0.0)


def _threshold(ink: np.ndarray, config: DetectConfig) -> float:
    sample = ink[::3, ::3]
    # Background pixels dominate: the median of the ink map is the noise level's centre; MAD its spread.
    med = float(np.median(sample))
    sigma = 1.4826 * float(np.median(np.abs(sample - med))) + 1e-3
    peak = float(np.percentile(sample, 99.8))
    strong = float(cv2.blur(ink, (3, 3)).max())
    level = min(strong, max(peak, 0.5 * strong))
    return max(med + config.noise_k * sigma, config.peak_fraction * level, 0.04)


def _merge_fragments(boxes: np.ndarray, config: DetectConfig, max_h: float) -> list[list[int]]:
    """Union-find over fragments that overlap strongly in x and are vertically near: one broken digit."""
    n = len(boxes)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    if n > 1:
        x0, y0, w, h = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
        x1, y1 = x0 + w, y0 + h
        ov = np.minimum(x1[:, None], x1[None]) - np.maximum(x0[:, None], x0[None])
        gap = np.maximum(y0[:, None], y0[None]) - np.minimum(y1[:, None], y1[None])
        union_h = np.maximum(y1[:, None], y1[None]) - np.minimum(y0[:, None], y0[None])
        pairs = np.argwhere(np.triu(
            (ov >= config.merge_x_overlap * np.minimum(w[:, None], w[None]))
            & (gap <= config.merge_y_gap * np.maximum(h[:, None], h[None]))
            & (union_h <= max_h), 1))
        for i, j in pairs:
            parent[find(i)] = find(j)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    return list(groups.values())


def _split_wide(ink_mask: np.ndarray, box: tuple[int, int, int, int], config: DetectConfig
                ) -> list[tuple[int, int, int, int]]:
    """Split touching digits at the columns with the least ink (work-image coordinates)."""
    x, y, w, h = box
    n = int(round(w / (0.8 * h))) if w > config.max_width_ratio * h else 1
    if n <= 1:
        return [box]
    cols = ink_mask[y:y + h, x:x + w].sum(axis=0).astype(np.float32)
    cuts = []
    for k in range(1, n):
        centre = k * w / n
        lo, hi = int(centre - 0.3 * w / n), int(centre + 0.3 * w / n) + 1
        cuts.append(lo + int(np.argmin(cols[lo:hi])))
    edges = [0, *cuts, w]
    parts = []
    for a, b in zip(edges[:-1], edges[1:]):
        rows = np.flatnonzero(ink_mask[y:y + h, x + a:x + b].any(axis=1))
        if b > a and rows.size:
            parts.append((x + a, y + int(rows[0]), b - a, int(rows[-1] - rows[0] + 1)))
    return parts


def find_digits(frame: np.ndarray, config: DetectConfig = DetectConfig(),
                roi: tuple[int, int, int, int] | None = None) -> list[DigitCandidate]:
    """Digits in `frame` (gray/BGR/BGRA, 8/16-bit), left→right by box; `roi` = (x, y, w, h) to search."""
    if frame is None:
        return []
    img = np.asarray(frame)
    ox = oy = 0
    if roi is not None:
        rx, ry, rw, rh = (int(v) for v in roi)
        x0, y0 = max(0, rx), max(0, ry)
        x1, y1 = min(img.shape[1] if img.ndim >= 2 else 0, rx + rw), min(img.shape[0], ry + rh)
        if x1 <= x0 or y1 <= y0:
            return []
        img, ox, oy = img[y0:y1, x0:x1], x0, y0
    gray = to_gray8(img)
    if gray is None:
        return []
    full_scale = 1.0
    if max(gray.shape) > config.max_frame_side:
        full_scale = config.max_frame_side / max(gray.shape)
        gray = cv2.resize(gray, (max(1, round(gray.shape[1] * full_scale)), max(1, round(gray.shape[0] * full_scale))),
                          interpolation=cv2.INTER_AREA)
    H, W = gray.shape
    min_h = max(config.min_digit_px, config.min_digit_height * H)
    max_h = config.max_digit_height * H
    if H < min_h + 2 or W < 4 or max_h < min_h:
        return []
    if int(gray.max()) - int(gray.min()) < 8:
        return []  # blank frame: nothing but noise

    # Work image: as small as possible while the smallest digit stays readable as a component.
    f = min(1.0, max(config.work_width / W, config.work_min_digit_px / min_h))
    ww, wh = max(4, round(W * f)), max(4, round(H * f))
    work = cv2.resize(gray, (ww, wh), interpolation=cv2.INTER_AREA) if f < 1 else gray
    bg_work, dark_ink = _background(work, config, max_h * f)
    ink = _ink_map(work, bg_work, dark_ink)
    thr = _threshold(ink, config)
    mask = (ink > thr).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n <= 1:
        return []
    stats = stats[1:]
    sx, sy, sw, sh, area = (stats[:, i] for i in range(5))
    min_h_w, max_h_w = min_h * f, max_h * f
    touches = (sx <= 0) | (sy <= 0) | (sx + sw >= ww) | (sy + sh >= wh)
    # Noise grains go first; fragments of a broken stroke are bigger than ~1/5 of a digit.
    keep = (np.maximum(sw, sh) >= 0.2 * min_h_w) & ~touches & (sh <= max_h_w) & (sw <= 2.5 * max_h_w)
    keep &= sw <= 8.0 * np.maximum(sh, 1)   # long horizontal strokes: ruled lines
    idx = np.flatnonzero(keep)
    if idx.size == 0:
        return []
    if idx.size > 4 * config.max_digits:
        idx = idx[np.argsort(-area[idx])[:4 * config.max_digits]]
    boxes = np.stack([sx[idx], sy[idx], sw[idx], sh[idx]], axis=1).astype(np.int64)
    groups = _merge_fragments(boxes, config, max_h_w)

    candidates_work: list[tuple[tuple[int, int, int, int], list[int], bool]] = []
    for group in groups:
        gb = boxes[group]
        x0, y0 = int(gb[:, 0].min()), int(gb[:, 1].min())
        x1, y1 = int((gb[:, 0] + gb[:, 2]).max()), int((gb[:, 1] + gb[:, 3]).max())
        bw, bh = x1 - x0, y1 - y0
        if bh < min_h_w or bh > max_h_w or bh > config.max_height_ratio * max(bw, 1):
            continue
        labels_in = [int(idx[g]) + 1 for g in group]
        fill = float(area[np.array(labels_in) - 1].sum()) / max(1, bw * bh)
        if (fill > config.max_fill and bw > 0.35 * bh) or bw > 3.5 * bh:
            continue  # solid blobs, line segments, smudges: not (up to four touching) digits
        if bw <= config.max_width_ratio * bh:
            candidates_work.append(((x0, y0, bw, bh), labels_in, False))
            continue
        comp_mask = np.isin(labels[y0:y1, x0:x1], labels_in)
        for px, py, pw, ph in _split_wide(comp_mask, (0, 0, bw, bh), config):
            if ph >= 0.6 * min_h_w:
                candidates_work.append(((x0 + px, y0 + py, pw, ph), labels_in, True))
    if not candidates_work:
        return []
    candidates_work.sort(key=lambda c: -c[0][2] * c[0][3])

    out = []
    for box_w, labels_in, was_split in candidates_work[:config.max_digits]:
        cand = _crop_digit(gray, bg_work, labels, box_w, labels_in, was_split, f, dark_ink, config)
        if cand is None:
            continue
        (tx, ty, tw, th), img28, contrast = cand
        s = 1.0 / full_scale
        box = (int(round(tx * s)) + ox, int(round(ty * s)) + oy, max(1, int(round(tw * s))), max(1, int(round(th * s))))
        out.append(DigitCandidate(box=box, image=img28, contrast=contrast))
    out.sort(key=lambda c: (c.box[0], c.box[1]))
    return out


def _crop_digit(gray: np.ndarray, bg_work: np.ndarray, labels: np.ndarray, box_w: tuple[int, int, int, int],
                labels_in: list[int], was_split: bool, f: float, dark_ink: bool, config: DetectConfig
                ) -> tuple[tuple[int, int, int, int], np.ndarray, float] | None:
    """Cut one digit from the full-resolution ink map (the work image is too coarse for 28x28)."""
    H, W = gray.shape
    wh, ww = labels.shape
    bx, by, bw, bh = box_w
    inv = 1.0 / f
    m = config.crop_margin * bh * inv + 2
    cx0, cy0 = max(0, int(bx * inv - m)), max(0, int(by * inv - m))
    cx1, cy1 = min(W, int(np.ceil((bx + bw) * inv + m))), min(H, int(np.ceil((by + bh) * inv + m)))
    if cx1 - cx0 < 3 or cy1 - cy0 < 3:
        return None
    # Work-image window covering the crop; resizing it to the crop size aligns it to within a pixel.
    wx0, wy0 = int(cx0 * f), int(cy0 * f)
    wx1, wy1 = min(ww, int(np.ceil(cx1 * f)) + 1), min(wh, int(np.ceil(cy1 * f)) + 1)
    size = (cx1 - cx0, cy1 - cy0)
    bg = cv2.resize(bg_work[wy0:wy1, wx0:wx1], None, fx=inv, fy=inv, interpolation=cv2.INTER_LINEAR)
    own = np.isin(labels[wy0:wy1, wx0:wx1], labels_in).astype(np.uint8)
    own = cv2.dilate(own, np.ones((3, 3), np.uint8))  # the anti-aliased rim lies just outside the mask
    own = cv2.resize(own, (bg.shape[1], bg.shape[0]), interpolation=cv2.INTER_NEAREST)
    ox, oy = cx0 - int(round(wx0 * inv)), cy0 - int(round(wy0 * inv))
    bg = bg[oy:oy + size[1], ox:ox + size[0]]
    own = own[oy:oy + size[1], ox:ox + size[0]]
    g = gray[cy0:cy1, cx0:cx1]
    if bg.shape != g.shape:
        bg = cv2.resize(bg, size, interpolation=cv2.INTER_LINEAR)
        own = cv2.resize(own, size, interpolation=cv2.INTER_NEAREST)
    crop = _ink_map(g, bg, dark_ink) * own
    if was_split:
        # Touching digits: blank the neighbour's columns, keeping a pixel of anti-aliasing.
        a = max(0, int(bx * inv) - cx0 - 1)
        b = min(size[0], int(np.ceil((bx + bw) * inv)) - cx0 + 1)
        crop[:, :a] = 0
        crop[:, b:] = 0
    img28 = mnist_style(crop, config.preprocess)
    peak = float(crop.max())
    if peak <= 0 or img28.max() <= 0:
        return None
    strong = crop > 0.5 * peak
    rows = np.flatnonzero(strong.any(axis=1))
    cols = np.flatnonzero(strong.any(axis=0))
    box = (cx0 + int(cols[0]), cy0 + int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1))
    return box, img28, peak
