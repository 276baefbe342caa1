"""Find handwritten digits in a camera frame (numpy + OpenCV only).

Pipeline, all but the last step on a downscaled "work" image (~320 px wide for 640x480):
1. any input (gray, BGR, BGRA, 16-bit, float) → 8-bit gray, optional ROI, huge frames downscaled;
2. polarity: against a median background, ink is the heavier tail (dark or light) of the residual;
3. background: a closing (dark ink) / opening (light ink) with a kernel wider than any stroke keeps
   paper, shadows and page edges but not the ink;
4. ink contrast = |gray − background| / brighter-of-the-two: lighting gradients and shadows divide out;
5. a low threshold (noise level) for the component mask, so faint strokes and lines stay connected;
   a component must also reach a high threshold (fraction of the frame's ink level) somewhere;
6. shape rules reject specks, ruled lines, page edges, blobs; fragments of a broken digit are merged,
   touching digits split;
7. each digit is cut from the full-resolution ink map and made MNIST-style (preprocess.mnist_style).
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
    work_width: int = 320              # detection image width ...
    work_min_digit_px: float = 9.0     # ... unless the smallest digit would get shorter than this
    max_frame_side: int = 1600         # larger frames are downscaled first (boxes are mapped back)
    polarity: str = "auto"             # "auto", "dark_on_light" or "light_on_dark"
    noise_k: float = 4.0               # low (mask) threshold: this many noise sigmas above the paper
    low_fraction: float = 0.15          # low threshold ≥ this fraction of the frame's ink level
    peak_fraction: float = 0.35        # high threshold: a digit's peak ink reaches this fraction of the
                                       # frame's ink level (specks of dust and texture do not)
    merge_gap: float = 0.25            # fragments closer than this (fraction of height) may be one digit
    max_digit_aspect: float = 1.4      # w/h of a merged digit (a few MNIST 2s, 5s, 7s are this wide)
    split_aspect: float = 1.3          # w/h above this: touching digits, split at ink valleys
    max_height_ratio: float = 14.0     # h/w above this: a vertical line, not a 1
    min_stroke_ratio: float = 0.1      # thinner strokes (fraction of height) are suspected lines
    max_fill: float = 0.85             # solid blobs (ink / box) wider than 0.35 h are not digits
    crop_margin: float = 0.12          # margin around a digit for the MNIST crop, fraction of height
    max_digits: int = 64               # cluttered frames: keep the largest candidates
    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)


@dataclass(frozen=True, eq=False)
class DigitCandidate:
    box: tuple[int, int, int, int]     # x, y, w, h in frame pixels (ink above half the digit's peak)
    image: np.ndarray                  # (28, 28) float32 in [0, 1], MNIST-style (white ink on black)
    contrast: float                    # peak ink contrast, 0 (invisible) … 1 (black on white)


def to_gray8(frame: np.ndarray) -> np.ndarray | None:
    """Any 2-D/3-D numeric image → 8-bit gray (None if empty); other depths are stretched min→max."""
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
        if img.dtype.kind == "f" or img.dtype not in (np.uint16, np.int16):
            img = np.nan_to_num(img.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        lo, hi = float(img.min()), float(img.max())
        alpha = 255.0 / (hi - lo) if hi > lo else 0.0
        img = cv2.convertScaleAbs(img, alpha=alpha, beta=-lo * alpha)
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY if img.shape[2] == 3 else cv2.COLOR_BGRA2GRAY)
    return np.ascontiguousarray(img)


def _polarity_and_noise(small: np.ndarray) -> tuple[bool, float]:
    """(ink is dark, noise sigma in gray levels) from the residual against a median background.

    The median ignores ink of either sign, so the ink is the heavier tail of the residual.
    """
    med = cv2.medianBlur(small, 5)
    spread = cv2.absdiff(small, med)
    cdf = np.cumsum(cv2.calcHist([spread], [0], None, [256], [0, 256]).ravel())
    sigma = 1.4826 * float(np.searchsorted(cdf, 0.5 * cdf[-1])) + 0.5
    t = max(4.0 * sigma, 10.0)
    # Sum of the excess over t on each side: a few strong strokes outweigh symmetric noise.
    dark = cv2.sumElems(cv2.subtract(cv2.subtract(med, small), t))[0]
    light = cv2.sumElems(cv2.subtract(cv2.subtract(small, med), t))[0]
    return dark >= light, sigma


def _background(work: np.ndarray, config: DetectConfig, max_h_px: float) -> tuple[np.ndarray, bool, int]:
    """Paper level at the size of `work` (ink removed), whether the ink is dark, and the contrast floor."""
    h, w = work.shape
    small = cv2.resize(work, (max(4, w // 2), max(4, h // 2)), interpolation=cv2.INTER_AREA)
    dark_ink, sigma = _polarity_and_noise(small)
    if config.polarity in ("dark_on_light", "light_on_dark"):
        dark_ink = config.polarity == "dark_on_light"
    elif config.polarity != "auto":
        raise ValueError(f"polarity must be 'auto', 'dark_on_light' or 'light_on_dark', not {config.polarity!r}")
    # Contrast is relative to the brighter side, but not below this gray level: in near-black regions
    # (the table beyond the page, deep shadow) read noise would otherwise look like 30 % contrast.
    # sigma was measured at half the work resolution, where area averaging halved it.
    floor = int(np.clip(12.0 * 2.0 * sigma, 64, 128))
    # A closing fills dark strokes narrower than the kernel (MNIST strokes are < 0.2 of the digit
    # height) and keeps larger shapes: shadows and page edges stay in the background. At full work
    # resolution an edge is reproduced to the pixel; a coarser estimate leaves a 1-px "ink" line along it.
    k = int(np.clip(0.2 * max_h_px, 5, 41)) | 1
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    return cv2.morphologyEx(work, cv2.MORPH_CLOSE if dark_ink else cv2.MORPH_OPEN, kernel), dark_ink, floor


def _ink_map(gray: np.ndarray, bg: np.ndarray, dark_ink: bool, floor: int) -> np.ndarray:
    """uint8 ink contrast, 255 × |gray − bg| / max(gray, bg): 0 on paper, ~255 for black ink on white.

    Dividing by the brighter of the two makes it independent of illumination in both polarities;
    `floor` bounds the divisor so that noise in near-black regions is not amplified into "ink".
    """
    if dark_ink:
        return cv2.divide(cv2.subtract(bg, gray), cv2.max(bg, floor), scale=255)
    return cv2.divide(cv2.subtract(gray, bg), cv2.max(gray, floor), scale=255)


def _thresholds(ink: np.ndarray, config: DetectConfig) -> tuple[int, int]:
    """(low, high): low from the paper's noise, high from the frame's ink level."""
    hist = cv2.calcHist([ink], [0], None, [256], [0, 256]).ravel()
    cdf = np.cumsum(hist)
    total = cdf[-1]
    p50 = int(np.searchsorted(cdf, 0.50 * total))
    p75 = int(np.searchsorted(cdf, 0.75 * total))
    # Paper dominates the frame, so the median and upper quartile describe its noise even when ink
    # and ruled lines cover 10-20 % of the pixels.
    sigma = max(1.0, (p75 - p50) / 0.674)
    # Ink level: the value that the strongest ~20 pixels reach (robust to a few hot pixels).
    level = int(np.searchsorted(-(total - cdf), -20.0))
    # The low threshold also scales with the ink: anti-aliased halos of neighbouring digits stay apart.
    low = int(min(max(p50 + config.noise_k * sigma, config.low_fraction * level, 12), 0.5 * level))
    high = int(max(low + 1, config.peak_fraction * level))
    return low, high


def _merge_fragments(boxes: np.ndarray, seed: np.ndarray, config: DetectConfig, max_h: float) -> list[list[int]]:
    """Greedy agglomeration of nearby fragments into digit-shaped groups (a broken stroke, a detached bar).

    Groups grow from seeds (fragments at least ~half a digit tall); small pieces only join a seed's
    group, so the dozens of pieces of a dashed ruled line cost little and never pair up among
    themselves. Two pieces merge when close, when the union keeps a digit's aspect ratio, and unless
    they are two nearly full-height marks side by side (two digits, e.g. "11"). Closest pair first.
    """
    n = len(boxes)
    groups = [[i] for i in range(n)]
    rects = np.stack([boxes[:, 0], boxes[:, 1], boxes[:, 0] + boxes[:, 2], boxes[:, 1] + boxes[:, 3]],
                     axis=1).astype(np.float32)
    alive = np.ones(n, bool)

    def pair_gaps(r: np.ndarray, others: np.ndarray) -> np.ndarray:
        """Gap from rect(s) r (4,) or (4, k, 1) to each of `others` where a merge is allowed, else inf."""
        ox0, oy0, ox1, oy1 = others.T
        gx = np.maximum(r[0], ox0) - np.minimum(r[2], ox1)
        gy = np.maximum(r[1], oy0) - np.minimum(r[3], oy1)
        uw = np.maximum(r[2], ox1) - np.minimum(r[0], ox0)
        uh = np.maximum(r[3], oy1) - np.minimum(r[1], oy0)
        gap = np.maximum(np.maximum(gx, gy), 0)
        h_a, h_b = r[3] - r[1], oy1 - oy0
        # The gap is judged against the pieces, not the union: a union may not grow by chaining.
        ok = (gap <= config.merge_gap * np.maximum(h_a, h_b)) & (uh <= max_h) & (uw <= config.max_digit_aspect * uh)
        min_w = np.minimum(r[2] - r[0], ox1 - ox0)
        ok &= ~((gx > -0.3 * min_w) & (np.minimum(h_a, h_b) >= 0.6 * uh))  # side by side, both ~full height
        return np.where(ok, gap, np.inf)

    seeds = np.flatnonzero(seed)
    if n < 2 or seeds.size == 0:
        return groups
    dist = np.full((n, n), np.inf, np.float32)
    dist[seeds] = pair_gaps(rects[seeds].T[:, :, None], rects)
    dist[seeds, seeds] = np.inf
    block = dist[np.ix_(seeds, seeds)]
    block[np.tril_indices(seeds.size)] = np.inf  # each seed-seed pair once
    dist[np.ix_(seeds, seeds)] = block
    while True:
        k = int(np.argmin(dist))
        a, b = divmod(k, n)  # a is a seed; b a piece, or a seed whose row is mirrored below
        if not np.isfinite(dist[a, b]):
            break
        ra, rb = rects[a], rects[b]
        rects[a] = (min(ra[0], rb[0]), min(ra[1], rb[1]), max(ra[2], rb[2]), max(ra[3], rb[3]))
        groups[a] += groups[b]
        alive[b] = False
        dist[b, :] = np.inf
        dist[:, b] = np.inf
        row = np.where(alive, pair_gaps(rects[a], rects), np.inf)
        row[a] = np.inf
        dist[a] = row
        # Seed-seed pairs are kept in one triangle only: the other seed's row must not offer a again.
        dist[seed & alive, a] = np.inf
    return [groups[i] for i in range(n) if alive[i]]


def _split_touching(own: np.ndarray, config: DetectConfig) -> list[tuple[int, int]]:
    """Column ranges of touching digits in one wide component mask: cut at clear ink valleys."""
    h, w = own.shape
    n = int(round(w / (0.75 * h)))
    if w <= config.split_aspect * h or n < 2:
        return [(0, w)]
    cols = own.sum(axis=0, dtype=np.float32)
    cols = np.convolve(cols, np.ones(3, np.float32) / 3, mode="same")
    typical = float(np.median(cols[cols > 0])) if np.any(cols > 0) else 0.0
    cuts = []
    for k in range(1, n):
        centre = k * w / n
        lo, hi = max(1, int(centre - 0.3 * w / n)), min(w - 1, int(centre + 0.3 * w / n) + 1)
        if hi <= lo:
            continue
        c = lo + int(np.argmin(cols[lo:hi]))
        if cols[c] <= 0.6 * typical:  # a real junction is thinner than a stroke column
            cuts.append(c)
    edges = [0, *cuts, w]
    return [(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def find_digits(frame: np.ndarray, config: DetectConfig = DetectConfig(),
                roi: tuple[int, int, int, int] | None = None) -> list[DigitCandidate]:
    """Digits in `frame` (gray/BGR/BGRA, 8/16-bit), sorted by box x; `roi` = (x, y, w, h) to search in."""
    if frame is None:
        return []
    img = np.asarray(frame)
    if img.ndim not in (2, 3) or img.size == 0:
        return []
    ox = oy = 0
    if roi is not None:
        rx, ry, rw, rh = (int(v) for v in roi)
        x0, y0 = max(0, rx), max(0, ry)
        x1, y1 = min(img.shape[1], rx + rw), min(img.shape[0], ry + rh)
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
    lo_v, hi_v = cv2.minMaxLoc(gray)[:2]
    if hi_v - lo_v < 12:
        return []  # blank frame: nothing but noise

    # Work image: as small as possible while the smallest digit stays a solid component.
    f = min(1.0, max(config.work_width / W, config.work_min_digit_px / min_h))
    ww, wh = max(4, round(W * f)), max(4, round(H * f))
    work = cv2.resize(gray, (ww, wh), interpolation=cv2.INTER_AREA) if f < 1 else gray
    bg_work, dark_ink, floor = _background(work, config, max_h * f)
    ink = _ink_map(work, bg_work, dark_ink, floor)
    low, high = _thresholds(ink, config)
    _, mask = cv2.threshold(ink, low, 1, cv2.THRESH_BINARY)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8, ltype=cv2.CV_16U)
    if n <= 1:
        return []
    stats = stats[1:]
    sx, sy, sw, sh, area = (stats[:, i] for i in range(5))
    min_h_w, max_h_w = min_h * f, max_h * f
    # Marks reaching the frame (ROI) border are lines, edges or cut-off digits (1 px of slack: the
    # outermost row of an area-downscaled image is often a little weaker).
    touches = (sx <= 1) | (sy <= 1) | (sx + sw >= ww - 1) | (sy + sh >= wh - 1)
    # Noise grains go first: a fragment of a broken stroke is bigger than ~1/4 of the smallest digit,
    # or reaches the high threshold somewhere.
    size = np.maximum(sw, sh)
    keep = (size >= max(2.0, 0.2 * min_h_w)) & (area >= 3) & ~touches & (sh <= max_h_w)
    keep &= (sw <= 4.0 * max_h_w) & (sw <= 6.0 * np.maximum(sh, 1))  # long horizontal marks: ruled lines
    idx = np.flatnonzero(keep)
    if idx.size == 0:
        return []
    if idx.size > 4 * config.max_digits:
        idx = idx[np.argsort(-area[idx])[:4 * config.max_digits]]
    boxes = np.stack([sx[idx], sy[idx], sw[idx], sh[idx]], axis=1)
    groups = _merge_fragments(boxes, sh[idx] >= 0.4 * min_h_w, config, max_h_w)

    group_of = np.zeros(n, np.uint16)  # label → 1-based group number (0: not a candidate)
    candidates: list[tuple[tuple[int, int, int, int], np.ndarray, bool]] = []
    for k, group in enumerate(groups, start=1):
        gb = boxes[group]
        x0, y0 = int(gb[:, 0].min()), int(gb[:, 1].min())
        x1, y1 = int((gb[:, 0] + gb[:, 2]).max()), int((gb[:, 1] + gb[:, 3]).max())
        bw, bh = x1 - x0, y1 - y0
        if bh < min_h_w or bh > max_h_w or bh > config.max_height_ratio * max(bw, 1) or bw > 4.5 * bh:
            continue
        members = idx[group]
        if float(area[members].sum()) > config.max_fill * bw * bh and bw > 0.35 * bh:
            continue  # a solid blob (a thumb, a hole in the page), not a pen stroke
        group_of[members + 1] = k
        own = group_of[labels[y0:y1, x0:x1]] == k
        if int(cv2.minMaxLoc(ink[y0:y1, x0:x1], own.view(np.uint8))[1]) < high:
            continue  # faint everywhere: texture, a shadow's rim, a pencil smudge
        # Pen strokes of MNIST-like digits are > 0.12 of the digit height; thinner marks are rims of
        # page edges and ruled or margin lines, unless the frame shows no reason to doubt them.
        stroke = 2.0 * float(cv2.distanceTransform(np.pad(own.view(np.uint8), 1), cv2.DIST_L2, 3).max())
        if stroke > 0.4 * bh and bw > 1.6 * bh:
            continue  # a solid band (a strip of table or shadow narrower than the background kernel)
        thin = stroke < config.min_stroke_ratio * bh
        if thin:
            bg_lo, bg_hi = cv2.minMaxLoc(bg_work[y0:y1, x0:x1])[:2]
            if bg_hi - bg_lo > 0.25 * bg_hi or bh > 0.3 * wh:
                continue  # it runs along a step of the background (a page edge), or is far too long
        for a, b in _split_touching(own, config):
            part = own[:, a:b]
            rows = np.flatnonzero(part.any(axis=1))
            if rows.size and rows[-1] - rows[0] + 1 >= 0.6 * min_h_w:
                r0, r1 = int(rows[0]), int(rows[-1]) + 1
                candidates.append(((x0 + a, y0 + r0, b - a, r1 - r0), part[r0:r1], thin))
    if not candidates:
        return []
    # A thin mark much taller than the digits around it is a line, not a 1.
    heights = [c[0][3] for c in candidates if not c[2]]
    if heights:
        tallest = 1.8 * float(np.median(heights))
        candidates = [c for c in candidates if not c[2] or c[0][3] <= tallest]
    candidates.sort(key=lambda c: -c[0][2] * c[0][3])

    out = []
    s = 1.0 / full_scale
    for box_w, own, _ in candidates[:config.max_digits]:
        cand = _crop_digit(gray, bg_work, box_w, own, f, dark_ink, floor, config)
        if cand is None:
            continue
        (tx, ty, tw, th), img28, contrast = cand
        if th < 0.75 * min_h:
            continue  # only a faint halo made it tall enough
        box = (int(round(tx * s)) + ox, int(round(ty * s)) + oy, max(1, int(round(tw * s))), max(1, int(round(th * s))))
        out.append(DigitCandidate(box=box, image=img28, contrast=contrast))
    out.sort(key=lambda c: (c.box[0], c.box[1]))
    return out


def _crop_digit(gray: np.ndarray, bg_work: np.ndarray, box_w: tuple[int, int, int, int], own_box: np.ndarray,
                f: float, dark_ink: bool, floor: int, config: DetectConfig
                ) -> tuple[tuple[int, int, int, int], np.ndarray, float] | None:
    """Cut one digit from the full-resolution ink map (the work image is too coarse for 28x28)."""
    H, W = gray.shape
    wh, ww = bg_work.shape
    bx, by, bw, bh = box_w
    inv = 1.0 / f
    # Work-image window around the digit, then exactly its full-resolution counterpart.
    m = int(np.ceil(config.crop_margin * bh)) + 1
    wx0, wy0 = max(0, bx - m), max(0, by - m)
    wx1, wy1 = min(ww, bx + bw + m), min(wh, by + bh + m)
    cx0, cy0 = int(round(wx0 * inv)), int(round(wy0 * inv))
    cx1, cy1 = min(W, int(round(wx1 * inv))), min(H, int(round(wy1 * inv)))
    if cx1 - cx0 < 3 or cy1 - cy0 < 3:
        return None
    size = (cx1 - cx0, cy1 - cy0)
    g = gray[cy0:cy1, cx0:cx1]
    if f < 1:
        bg = cv2.resize(bg_work[wy0:wy1, wx0:wx1], size, interpolation=cv2.INTER_LINEAR)
    else:
        bg = bg_work[wy0:wy1, wx0:wx1]
    # Only this digit's own pixels (plus their anti-aliased rim): a neighbour's stroke or a speck in
    # the margin would shift the centre of mass; a split digit also loses its neighbour's columns.
    own = np.zeros((wy1 - wy0, wx1 - wx0), np.uint8)
    own[by - wy0:by - wy0 + bh, bx - wx0:bx - wx0 + bw] = own_box
    own = cv2.dilate(own, np.ones((3, 3), np.uint8))
    if f < 1:
        own = cv2.resize(own, size, interpolation=cv2.INTER_NEAREST)
    crop = cv2.multiply(_ink_map(g, bg, dark_ink, floor), own)
    img28 = mnist_style(crop, config.preprocess, black=0.0)
    peak = int(cv2.minMaxLoc(crop)[1])
    if peak <= 0 or not img28.any():
        return None
    _, strong = cv2.threshold(crop, peak // 2, 255, cv2.THRESH_BINARY)
    x, y, w, h = cv2.boundingRect(strong)
    return (cx0 + x, cy0 + y, w, h), img28, peak / 255.0
