"""Find handwritten digits in a camera frame (numpy + OpenCV only).

Two passes, coarse to fine (locate_digits). Most frames are read by the first, on a pooled "work" image:
320x240 for 640x480, each 2x2 block's darkest value over its pixels and colour channels (_pool), so that
the smallest digit (12 px at 480) is 6 px there with its strokes whole. Where that pass is ambiguous — a
mark much taller than the frame's digits made of several digit-high pieces (lines written close together,
whose rims touch at that scale), or texture that throws its noise statistics (grid paper) — the frame is
read by the detailed pass: a 480x360 area-resized image (the smallest digit 9 px), ink per colour channel.
(DigitReader also reads a frame in detail when the classifier rejects a candidate of the pooled pass.)
In each pass:
1. any input (gray, BGR, BGRA, 16-bit, float) → 8-bit gray or colour; optional ROI; huge frames downscaled;
2. polarity and noise: against a median background the ink is the heavier tail of the residual;
3. background: a closing (dark ink) / opening (light ink) with a kernel wider than any stroke keeps
   paper, shadows and page edges, but not the ink;
4. ink contrast = |gray − background| / brighter-of-the-two: gradients and shadows divide out;
5. components of "ink > low" (noise- and ink-level based), kept if they reach "high" somewhere; printed
   boxes (a form's fields) and a ruled line that the writing touches are taken out of them (_unframe);
6. shape rules reject specks, ruled lines, page edges and blobs; the fragments of a broken digit
   are merged; touching digits are split at ink valleys;
7. each digit is cut from the full-resolution frame and made MNIST-style (preprocess.mnist_style).

`locate_digits` does steps 1-6 and `Marks.prepare` step 7, so that the pipeline times them apart;
`find_digits` is both. On one core of a 2-core AMD EPYC (Zen 4) VM (cv2.setNumThreads(1), OpenCV 5.0),
640x480 BGR camera_synth frames take ~1.5 ms per frame for steps 1-6 in the pooled pass and 4.1 ms in the
detailed one (a third of it the area resize to the work image, 0.6 ms the background closing per channel),
~0.1 ms per digit for step 7 (benchmarks/reader_speed.py); 13 of 300 such frames and 4 of the 34 real photos
were read again by the detailed pass.
"""
from __future__ import annotations

import functools
import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from mnist_edge.edge_runtime.preprocess import PreprocessConfig, mnist_style

POLARITIES = ("auto", "dark_on_light", "light_on_dark")
_SQUARE3 = np.ones((3, 3), np.uint8)  # 8-neighbourhood structuring element
InkWindow = tuple[int, int, np.ndarray]  # a cut-out's full-resolution ink (x0, y0, ink), see _crop_digit
_MEAN3 = np.ones(3, np.float32) / 3  # running mean of 3
_ROWS = [np.ones((1, n), np.uint8) for n in range(64)]  # 1 x n row kernels (for _pool)


@dataclass(frozen=True)
class DetectConfig:
    min_digit_height: float = 0.025    # larger side of a digit, fraction of frame (ROI) height: 12 px at 480
    max_digit_height: float = 0.95     # paper held close to the camera: a digit may fill the frame
    min_digit_px: int = 10             # absolute floor on digit size (tiny frames and ROIs)
    work_width: int = 320              # detection image width ...
    work_min_digit_px: float = 9.0     # ... unless the smallest digit would get smaller than this
    pooled_pass: bool = True           # first a pass on a pooled coarser image (_pool), see locate_digits ...
    pooled_min_digit_px: float = 6.0   # ... where the smallest digit may be this small
    max_frame_side: int = 1600         # larger frames are downscaled first, by an integer factor (boxes are mapped back)
    roi_context: float = 0.1           # an ROI is searched with this much surrounding frame (x frame height)
    polarity: str = "auto"             # "auto", "dark_on_light" or "light_on_dark"
    noise_k: float = 4.0               # low threshold ≥ paper + this many noise sigmas (high: twice)
    low_fraction: float = 0.15         # low threshold ≥ this fraction of the frame's ink level
    peak_fraction: float = 0.35        # high threshold ≥ this fraction of the frame's ink level
    min_contrast: float = 0.1          # ink is at least 10 % darker (lighter) than its paper
    faint_reach: float = 0.3           # faint ink is kept this far from strong ink: x a typical (8 % of the frame) digit
    max_colour_difference: float = 0.12  # fragments of one digit: channel shares differ by at most this (L1)
    merge_gap: float = 0.25            # fragments closer than this (fraction of height) may be one digit
    max_merge_growth: float = 2.5      # ... if the union is at most this many times taller than its tallest piece
    max_digit_aspect: float = 1.4      # w/h of a merged digit (a few MNIST 2s, 5s, 7s are this wide)
    split_aspect: float = 1.5          # w/h above this: touching digits, split at ink valleys
    max_height_ratio: float = 14.0     # h/w above this: a vertical line, not a 1
    line_stroke_ratio: float = 0.06    # widest stroke below this fraction of the height: a line, not ink
    thin_stroke_ratio: float = 0.1     # below this: a line if it sits on a page edge or towers over digits
    max_fill: float = 0.85             # solid blobs (ink / box) wider than 0.35 h are not digits
    min_fill: float = 0.05             # nor are sparse clusters (a thin-pen 7 fills ~8 % of its box)
    crop_margin: float = 0.12          # margin around a digit for the MNIST crop, fraction of height
    max_ink_fraction: float = 0.45     # more "ink" than this: not writing (noise, fabric, a screen)
    max_digits: int = 160              # cluttered frames: keep the largest candidates (a sheet of 0-59: 110)
    max_components: int = 400          # marks considered for merging, largest first (merging is O(n^2))
    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)

    def __post_init__(self):
        if self.polarity not in POLARITIES:
            raise ValueError(f"polarity must be one of {', '.join(POLARITIES)}, not {self.polarity!r}")
        if not 0 < self.min_digit_height < self.max_digit_height <= 1:
            raise ValueError(f"need 0 < min_digit_height < max_digit_height <= 1, got "
                             f"{self.min_digit_height} and {self.max_digit_height}")


@dataclass(frozen=True, eq=False)
class DigitCandidate:
    box: tuple[int, int, int, int]     # x, y, w, h in frame pixels (ink above half the digit's peak)
    image: np.ndarray                  # (28, 28) float32 in [0, 1], MNIST-style (white ink on black)
    contrast: float                    # peak ink contrast, 0 (invisible) … 1 (black on white)
    parts: tuple["DigitCandidate", ...] = ()  # the same ink taken apart: read instead if the whole is no digit


@dataclass(frozen=True, eq=False)
class Marks:
    """The digit-shaped marks of one frame, located but not yet cut out (`locate_digits`).

    `prepare()` is step 7: each mark is cut from the full-resolution ink map and made MNIST-style.
    The two are separate so that the pipeline can time finding and preprocessing apart.
    """
    config: DetectConfig
    # work box, own pixels, and alternative parts [(work box, own pixels)] (see locate_digits)
    marks: list[tuple[tuple[int, int, int, int], np.ndarray, list]] = field(default_factory=list)
    gray: np.ndarray | None = None      # full-resolution 8-bit gray or BGR (huge frames already downscaled)
    bg_work: np.ndarray | None = None   # paper level at work resolution
    f: float = 1.0                      # work resolution / full resolution
    dark_ink: bool = True
    floor: int = 64                     # contrast divisor floor (see _ink_map)
    min_h: float = 0.0                  # smallest digit size in full-resolution pixels
    full_scale: float = 1.0             # full resolution / frame
    origin: tuple[int, int] = (0, 0)    # frame position of the searched region's corner
    inside: tuple[int, int, int, int] | None = None  # the ROI (x0, y0, x1, y1): keep digits centred in it
    pooled: bool = False                # found by the pooled pass (see locate_digits)

    def __len__(self) -> int:
        return len(self.marks)

    def _candidate(self, box_w: tuple[int, int, int, int], own: np.ndarray, around: InkWindow | None = None
                   ) -> tuple[DigitCandidate | None, InkWindow | None]:
        """One mark cut out MNIST-style, with its box in frame pixels (None if it is no digit-sized ink), and
        the ink window it was cut from, for its parts (see _crop_digit)."""
        cand, window = _crop_digit(self.gray, self.bg_work, box_w, own, self.f, self.dark_ink, self.floor,
                                   self.config, around)
        if cand is None:
            return None, window
        (tx, ty, tw, th), img28, contrast = cand
        min_h, s = self.min_h, 1.0 / self.full_scale
        if max(tw, th) < 0.75 * min_h or th < 0.5 * min_h or tw > 2.5 * th:
            return None, window  # the strong ink is a speck or a dash: only a faint halo made it digit-sized
        box = (round(tx * s) + self.origin[0], round(ty * s) + self.origin[1], max(1, round(tw * s)),
               max(1, round(th * s)))
        return DigitCandidate(box=box, image=img28, contrast=contrast), window

    def prepare(self) -> list[DigitCandidate]:
        """The marks as MNIST-style digits with frame boxes, sorted by box x."""
        out = []
        for box_w, own, parts in self.marks:
            whole, window = self._candidate(box_w, own)
            if whole is None:
                continue
            pieces = [self._candidate(*part, around=window)[0] for part in parts]
            if pieces and all(pieces):
                whole = replace(whole, parts=tuple(pieces))
            out.append(whole)
        if self.inside is not None:
            x0, y0, x1, y1 = self.inside
            out = [c for c in out if x0 <= c.box[0] + c.box[2] / 2 < x1 and y0 <= c.box[1] + c.box[3] / 2 < y1]
        out.sort(key=lambda c: (c.box[0], c.box[1]))
        return out


def to_gray8(frame: np.ndarray) -> np.ndarray | None:
    """Any 2-D/3-D numeric image → 8-bit gray (None if empty); other depths are stretched min→max."""
    img = _pixels8(frame)
    if img is not None and img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    return img


def _pixels8(frame: np.ndarray) -> np.ndarray | None:
    """Any 2-D/3-D numeric image → 8-bit gray, or 8-bit BGR for colour (the ink's colour helps: _ink_map);
    None if empty. Depths other than 8-bit are stretched min→max."""
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
        # 10/12/14/16-bit sensors: scaled by their bit depth (the smallest that holds the frame's maximum);
        # floats in [0, 1] by 255: the exposure is kept, so a dark frame's noise is not stretched into ink.
        # Anything else (negative values, floats beyond 1): the frame's own range maps to 0..255.
        if img.dtype.kind == "f" or img.dtype not in (np.uint16, np.int16):
            img = img.astype(np.float32)
            if not np.isfinite(img).all():  # dead pixels: fill with the typical level so they are no ink
                finite = np.isfinite(img)
                fill = float(np.median(img[finite][::16])) if finite.any() else 0.0
                img = np.where(finite, img, fill).astype(np.float32)
        lo, hi = float(img.min()), float(img.max())
        if lo >= 0 and img.dtype.kind == "f" and hi <= 1.0:
            alpha, lo = 255.0, 0.0
        elif lo >= 0 and img.dtype == np.uint16:
            bits = next(b for b in (8, 10, 12, 14, 16) if hi < 2 ** b)
            alpha, lo = 255.0 / (2 ** bits - 1), 0.0
        else:
            alpha = 255.0 / (hi - lo) if hi > lo else 0.0
        img = cv2.convertScaleAbs(img, alpha=alpha, beta=-lo * alpha)
    if img.ndim == 3 and img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    return np.ascontiguousarray(img)


def _polarity_and_noise(small: np.ndarray) -> tuple[bool, float]:
    """(ink is dark, noise sigma in gray levels) from the residual against a median background.

    The median ignores ink of either sign, so the ink is the heavier tail of the residual. Strokes wider
    than the 5x5 median (digits filling the frame) are left in it, so the same is measured on a copy a
    quarter the size too, where they are thin; the more one-sided of the two answers decides (on ordinary
    frames the small copy has lost the ink and says little; a shadow's edge is two-sided at both sizes).
    """
    med = _median5(small)
    sigma = 1.4826 * _median_level(cv2.absdiff(small, med)) + 0.5
    t = max(4.0 * sigma, 10.0)
    best_dark, best_margin = True, -1.0
    h, w = small.shape
    tiny = cv2.resize(small, (max(5, w // 4), max(5, h // 4)), interpolation=cv2.INTER_AREA)
    for image, median in ((small, med), (tiny, _median5(tiny))):
        # Sum of the excess over t on each side: a few strong strokes outweigh symmetric noise.
        dark = cv2.sumElems(cv2.subtract(cv2.subtract(median, image), t))[0]
        light = cv2.sumElems(cv2.subtract(cv2.subtract(image, median), t))[0]
        margin = abs(dark - light) / (dark + light) if dark + light > 0 else 0.0
        if margin > best_margin:
            best_dark, best_margin = dark >= light, margin
    return best_dark, sigma


def _median_level(img: np.ndarray) -> int:
    """The median of an 8-bit image's values (the lower one at a tie), counted upwards from 0 for the first
    few levels: a residual's median is 0-2 on 359 of 360 frames, where the histogram took 3x as long."""
    half = 0.5 * img.size
    for level in range(3):
        above = cv2.countNonZero(cv2.threshold(img, level, 1, cv2.THRESH_BINARY)[1] if level else img)
        if img.size - above >= half:
            return level
    cdf = np.cumsum(cv2.calcHist([img], [0], None, [256], [0, 256]).ravel())
    return int(np.searchsorted(cdf, half))


def _shrink(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """cv2.resize(img, size, interpolation=cv2.INTER_AREA) of an 8-bit image, the same pixels faster for colour.

    OpenCV 5.0's area resize of 8-bit colour by a non-integer factor (640x480 BGR to the 480x360 work
    image) takes 1.9 ms; resizing a float32 copy and rounding back gives identical pixels (the 8-bit path
    sums in float32 and rounds the same way; checked on 352 resizes of synthetic and real frames) in
    1.4 ms (2 channels: 1.15 -> 0.74 ms). Gray images (0.56 ms directly, 0.79 ms via float) and integer
    factors (an 8-bit fast path of their own, which rounds differently) are resized directly.
    """
    h, w = img.shape[:2]
    if img.ndim == 2 or (w % size[0] == 0 and h % size[1] == 0):
        return cv2.resize(img, size, interpolation=cv2.INTER_AREA)
    return cv2.convertScaleAbs(cv2.resize(img.astype(np.float32), size, interpolation=cv2.INTER_AREA))


def _pool(img: np.ndarray, p: int, dark_ink: bool) -> np.ndarray:
    """One channel at 1/p of the resolution: each p x p block's darkest value (dark ink; for colour, over its
    channels too: coloured ink is darkest in some channel) or lightest (light ink, on the channels' mean:
    chalk is not coloured, and in dark frames the channels' noise would add up).

    Keeping the extreme rather than the mean of a block keeps a thin stroke as strong as it is: area
    averaging 2x2 blocks halves a 1-px pen line's contrast, and the smallest digits (12 px at 480) broke up.
    The minimum (maximum) of each block's rows, then one erode (dilate) along the rows of interleaved
    channels, in place: 0.09 ms for a 640x480 BGR frame where one p x cp erode of the whole frame (and its
    921 kB result) took 0.12 ms, and 1.4 ms the area resize to the detailed pass's 480x360 work image.
    """
    if img.ndim == 3 and not dark_ink:
        img = _channel_mean(img)
    h, w = img.shape[:2]
    c = img.shape[2] if img.ndim == 3 else 1
    if p == 1 and c == 1:
        return img
    img = img.reshape(h, w * c)  # (a view, also of a crop: each row's values are contiguous)
    if p == 1:
        rows = img
    else:
        # The p rows of each block first (row views of the frame, no copies; a last block cut by the bottom
        # edge takes what it has).
        extreme = cv2.min if dark_ink else cv2.max
        rows = np.empty((len(img[::p]), w * c), np.uint8)
        for k in range(1, min(p, h)):
            more = img[k::p]
            extreme(img[:len(more) * p:p] if k == 1 else rows[:len(more)], more, dst=rows[:len(more)])
        if len(img[1::p]) < len(rows):
            rows[-1] = img[-1]  # (the bottom row alone: p*(n-1) is the last row, so the block has one row)
    # Then, anchored at the left, the output at column x*c*p holds the extreme of pixels x*p .. x*p+p-1, all
    # channels (a block cut by the right edge: the border counts as neutral). In place where the rows are ours.
    kernel = _ROWS[c * p] if c * p < len(_ROWS) else np.ones((1, c * p), np.uint8)
    pooled = (cv2.erode if dark_ink else cv2.dilate)(rows, kernel,
                                                      dst=None if p == 1 else rows, anchor=(0, 0))
    return np.ascontiguousarray(pooled[:, ::c * p])


def _small_luma(img: np.ndarray, p: int) -> np.ndarray:
    """The frame's luma area-averaged by 2p (the pooled pass's copy for _polarity)."""
    if img.ndim == 3:  # (the BGR luma: 0.09 ms for 640x480, where the channels' mean took 0.25 ms)
        img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) if img.shape[2] == 3 else _channel_mean(img)
    h, w = img.shape
    # Area-averaged by p, then by 2: OpenCV's fast paths for integer factors (by 4 at once takes 3x longer).
    small = cv2.resize(img, (max(8, w // p), max(8, h // p)), interpolation=cv2.INTER_AREA) if p > 1 else img
    return cv2.resize(small, (max(4, small.shape[1] // 2), max(4, small.shape[0] // 2)),
                      interpolation=cv2.INTER_AREA)


def _near_strong(mask: np.ndarray, strong: np.ndarray, r: int
                 ) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The pixels of `mask` within an ellipse of radius r of a `strong` pixel (mask AND dilated strong), in
    the box (x0, y0, x1, y1) outside which there are none (empty if there is no strong pixel), and that box.

    Nothing beyond r of the strong pixels' bounding box can be near one, so the dilation runs on that box
    only: 45 % of a synthetic 640x480 frame's work image (median; real photos 63 %), 0.35 -> ~0.2 ms.
    The box starts at even coordinates: OpenCV labels components in 2x2 blocks, and with the same block
    grid as the whole image it numbers them in the same order.
    """
    x, y, w, h = cv2.boundingRect(strong)
    if w == 0:
        return mask[:0, :0], (0, 0, 0, 0)
    y0, y1 = max(0, y - r) & ~1, min(mask.shape[0], y + h + r)
    x0, x1 = max(0, x - r) & ~1, min(mask.shape[1], x + w + r)
    near = None
    for kernel in _ellipse_rects(r):
        grown = cv2.dilate(strong[y0:y1, x0:x1], kernel)
        near = grown if near is None else cv2.max(near, grown, dst=near)
    return cv2.bitwise_and(mask[y0:y1, x0:x1], near, dst=near), (x0, y0, x1, y1)


@functools.cache
def _ellipse_rects(r: int) -> tuple[np.ndarray, ...]:
    """OpenCV's (2r+1)x(2r+1) ellipse as the union of its centred rectangles, one per distinct row width.

    A dilation by a union is the maximum of the dilations by its parts, and a rectangle's is separable: for the
    pooled pass's r = 5 (4 rectangles) 41 instead of 57 µs on a 150x240 box, r = 8 (6) 163 instead of 187 µs.
    """
    ellipse = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1,) * 2)
    half = [(int(row.sum()) - 1) // 2 for row in ellipse[r:]]  # half-width of the row dy = 0 .. r below the centre
    return tuple(cv2.getStructuringElement(cv2.MORPH_RECT, (2 * w + 1, 2 * max(dy for dy in range(r + 1)
                                                                              if half[dy] >= w) + 1))
                 for w in sorted(set(half), reverse=True))


def _median5(img: np.ndarray) -> np.ndarray:
    """cv2.medianBlur(img, 5) of an 8-bit gray image, also fast when it is narrow.

    OpenCV 5.0's 5x5 median takes a slow path below 68 columns (AVX2): 0.26 ms for the 60x45 quarter-size
    copy of a 640x480 frame, against 0.02 ms for 80x45. Replicated columns on the right change nothing
    (the border is replicated anyway), so narrow images are widened to 80 columns first and cut back.
    """
    w = img.shape[1]
    if w >= 80:
        return cv2.medianBlur(img, 5)
    wide = cv2.copyMakeBorder(img, 0, 0, 0, 80 - w, cv2.BORDER_REPLICATE)
    return cv2.medianBlur(wide, 5)[:, :w]


def _polarity(small: np.ndarray, config: DetectConfig, floor_per_sigma: float) -> tuple[bool, int]:
    """Whether the ink is dark, and the contrast floor, from a small gray copy of the frame.

    Contrast is relative to the brighter side, but not below the floor: in near-black regions (the table
    beyond the page, deep shadow) read noise would otherwise look like 30 % contrast. The floor is
    `floor_per_sigma` times the noise measured on `small`, where area averaging divided it by the copy's
    scale: 24 for the detailed pass's copy (half its work image, 3/8 of a 640x480 frame), 18 p for the pooled
    pass's (1/(2p)) give the same floor for the same camera noise.
    """
    dark_ink, sigma = _polarity_and_noise(small)
    if config.polarity != "auto":
        dark_ink = config.polarity == "dark_on_light"
    return dark_ink, int(min(max(floor_per_sigma * sigma, 64), 128))


def _background(work: np.ndarray, dark_ink: bool, max_h_px: float, max_kernel: int) -> np.ndarray:
    """Paper level at the size of `work` (ink removed; per channel for BGR).

    A closing fills dark strokes narrower than the kernel (MNIST strokes are < 0.2 of the digit
    height) and keeps larger shapes: shadows and page edges stay in the background. At full work
    resolution an edge is reproduced to the pixel; a coarser estimate leaves a 1-px "ink" line along it.
    """
    k = int(min(max(0.2 * max_h_px, 5), max_kernel)) | 1
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    return cv2.morphologyEx(work, cv2.MORPH_CLOSE if dark_ink else cv2.MORPH_OPEN, kernel)


def _ink_map(gray: np.ndarray, bg: np.ndarray, dark_ink: bool, floor: int) -> np.ndarray:
    """uint8 ink contrast, 255 × |gray − bg| / max(gray, bg): 0 on paper, ~255 for black ink on white.

    Dividing by the brighter of the two makes it independent of illumination in both polarities;
    `floor` bounds the divisor so that noise in near-black regions is not amplified into "ink".
    For BGR pixels the contrast is the largest of the three channels': red ink on white paper is only
    ~40 % darker in gray but ~80 % darker in green and blue; blue ballpoint on yellow paper stands out
    in red and green while the paper itself is dark in blue.
    """
    if gray.ndim == 3 and not dark_ink:
        # Chalk and white ink are not coloured; in dark frames the channels' noise would add up.
        gray, bg = _channel_mean(gray), _channel_mean(bg)
    floor4 = (floor, floor, floor, floor)  # (a bare number would only apply to the first channel)
    if dark_ink:
        ink = cv2.divide(cv2.subtract(bg, gray), cv2.max(bg, floor4), scale=255)
    else:
        ink = cv2.divide(cv2.subtract(gray, bg), cv2.max(gray, floor4), scale=255)
    if ink.ndim == 3:
        channels = cv2.split(ink)
        ink = channels[0]
        for channel in channels[1:]:
            ink = cv2.max(ink, channel)
    return ink


def _channel_mean(img: np.ndarray) -> np.ndarray:
    """The mean of a 2- or 3-channel 8-bit image's channels, as one channel."""
    h, w, channels = img.shape
    if channels == 3:
        # A 3-wide box filter along each row of interleaved BGR values, read at every pixel's G: the same
        # rounded means as cv2.transform (checked on all 256^3 colours; (b+g+r)/3 is never a tie), 0.13
        # instead of 0.26 ms on a 480x360 work image.
        return np.ascontiguousarray(cv2.blur(img.reshape(h, w * 3), (3, 1))[:, 1::3])
    return cv2.transform(img, np.full((1, channels), 1.0 / channels, np.float32))


def _thresholds(ink: np.ndarray, config: DetectConfig) -> tuple[int, int]:
    """(low, high): low from the paper's noise, high from the frame's ink level."""
    hist = cv2.calcHist([ink], [0], None, [256], [0, 256]).ravel()
    cdf = np.cumsum(hist)
    total = cdf[-1]
    # Paper dominates the frame, so the median and upper quartile describe its noise even when ink
    # and ruled lines cover 10-20 % of the pixels. Ink level: the value that the strongest ~20 pixels
    # reach (robust to a few hot pixels).
    p50, p75, level = np.searchsorted(cdf, [0.50 * total, 0.75 * total, total - 20.0]).tolist()
    sigma = max(1.0, (p75 - p50) / 0.674)
    # The low threshold also scales with the ink: anti-aliased halos of neighbouring digits stay apart.
    low = int(min(max(p50 + config.noise_k * sigma, config.low_fraction * level, 12), 0.5 * level))
    # A digit must stand clearly out of the noise (the largest of ~1e5 noise pixels is ~4.5 sigma)
    # and have some minimum contrast: a blank page has no ink level to be relative to.
    high = int(max(low + 1, config.peak_fraction * level, p50 + 2 * config.noise_k * sigma,
                   255 * config.min_contrast))
    return low, high


def _merge_fragments(boxes: np.ndarray, seed: np.ndarray, mergeable: np.ndarray, config: DetectConfig,
                     max_h: float, colour: Callable[[], np.ndarray] | None = None
                     ) -> tuple[list[list[int]], np.ndarray]:
    """Greedy agglomeration of nearby fragments into digit-shaped groups (a broken stroke, a detached bar).

    Groups grow from seeds (fragments at least ~half a digit tall); small pieces only join a seed's
    group, so the dozens of pieces of a dashed ruled line cost little and never pair up among
    themselves. Two pieces merge when close, when the union keeps a digit's aspect ratio, and unless
    they are two nearly full-height marks side by side (two digits, e.g. "11"). Pieces that are not
    `mergeable` (long thin lines) stay alone, lest a margin line swallow the digit next to it.
    Closest pair first. Returns the groups (indices into `boxes`) and their union rectangles (x0, y0, x1, y1).
    `colour()` gives the pieces' colours (_chroma), asked for only if two pieces may merge by their shapes.
    """
    n = len(boxes)
    groups = [[i] for i in range(n)]
    rects = boxes.astype(np.float32)
    rects[:, 2:] += rects[:, :2]
    alive = np.ones(n, bool)
    core = np.where(seed, rects[:, 3] - rects[:, 1], np.float32(0))

    def pair_gaps(r: np.ndarray, r_core: np.ndarray | float, others: np.ndarray) -> np.ndarray:
        """Gap from rect(s) r (4,) or (4, k, 1) to each of `others` where their shapes allow a merge, else inf."""
        ox0, oy0, ox1, oy1 = others.T
        gx = np.maximum(r[0], ox0) - np.minimum(r[2], ox1)
        gy = np.maximum(r[1], oy0) - np.minimum(r[3], oy1)
        uw = np.maximum(r[2], ox1) - np.minimum(r[0], ox0)
        uh = np.maximum(r[3], oy1) - np.minimum(r[1], oy0)
        gap = np.maximum(np.maximum(gx, gy), 0)
        h_a, h_b = r[3] - r[1], oy1 - oy0
        # The gap is judged against the pieces, not the union: a union may not grow by chaining.
        ok = (gap <= config.merge_gap * np.maximum(h_a, h_b)) & (uh <= max_h) & (uw <= config.max_digit_aspect * uh)
        # Judged by the tallest original piece in each group ("core"), so that chains of merges cannot
        # creep: two ~full-height marks side by side are two digits (e.g. "11"), and a union may not
        # grow much taller than its tallest piece (two lines of digits).
        core_max = np.maximum(r_core, core)
        ok &= uh <= config.max_merge_growth * core_max
        min_w = np.minimum(r[2] - r[0], ox1 - ox0)
        # (Judged against the taller core, not the union: dashes of a grid line merged into one of them
        # would make the union tall enough to let two digits side by side merge.)
        both_cores = np.minimum(r_core, core)
        ok &= ~((gx > -0.3 * min_w) & (both_cores >= 0.5 * core_max))
        # Two marks of similar height one above the other, apart: two lines written close together,
        # not the pieces of one digit (a detached bar or a broken stroke is much smaller than its digit).
        ok &= ~((gy > 0) & (both_cores >= 0.6 * core_max) & (both_cores > 0))
        return np.where(ok & mergeable, gap, np.inf)

    seeds = np.flatnonzero(seed & mergeable)
    if n < 2 or seeds.size == 0:
        return groups, rects
    dist = np.full((n, n), np.inf, np.float32)
    seed_rows = pair_gaps(rects[seeds].T[:, :, None], core[seeds][:, None], rects)
    # Each seed-seed pair once: in the row of the seed that comes first (no pair of a seed with itself).
    twice = np.arange(seeds.size)[:, None] >= np.arange(seeds.size)  # (np.tri: 13 µs)
    seed_rows[:, seeds] = np.where(twice, np.inf, seed_rows[:, seeds])
    shares = None
    if colour is not None and np.isfinite(seed_rows).any():
        # Colour can only forbid a merge: where the shapes allow none (7 of 10 synthetic frames), nothing
        # merges and the colours are not needed (_chroma: ~0.15 ms).
        shares = colour()
        seed_rows[~_same_colour(shares[seeds][:, None, :], shares, config)] = np.inf
    dist[seeds] = seed_rows
    # Row minima make each step O(n) instead of a scan of the whole matrix.
    row_min, row_arg = dist.min(axis=1), dist.argmin(axis=1)
    while True:
        a = int(np.argmin(row_min))
        if not np.isfinite(row_min[a]):
            break
        b = int(row_arg[a])  # a is a seed; b a piece, or a seed whose pairs are held by a
        ra, rb = rects[a], rects[b]
        rects[a] = (min(ra[0], rb[0]), min(ra[1], rb[1]), max(ra[2], rb[2]), max(ra[3], rb[3]))
        groups[a] += groups[b]
        alive[b] = False
        dist[b, :] = np.inf
        dist[:, b] = np.inf
        dist[:, a] = np.inf  # a's pairs live in its own row from now on
        core[a] = max(core[a], core[b])
        row = np.where(alive, pair_gaps(rects[a], core[a], rects), np.inf)
        if shares is not None:
            row[~_same_colour(shares[a], shares, config)] = np.inf
        row[a] = np.inf
        dist[a] = row
        row_min[b] = np.inf
        stale = np.flatnonzero((row_arg == a) | (row_arg == b))
        stale = stale[np.isfinite(row_min[stale])]
        row_min[stale] = dist[stale].min(axis=1)
        row_arg[stale] = dist[stale].argmin(axis=1)
        row_min[a], row_arg[a] = row.min(), row.argmin()
    return [groups[i] for i in range(n) if alive[i]], rects[alive]


def _same_colour(a: np.ndarray, b: np.ndarray, config: DetectConfig) -> np.ndarray:
    """One pen, one colour: blue ink never merges with the grey dots of the grid it is written on."""
    return np.abs(a - b).sum(axis=-1) <= config.max_colour_difference


def _chroma(work: np.ndarray, mask: np.ndarray, labels: np.ndarray, n: int, idx: np.ndarray) -> np.ndarray:
    """Each component's colour in a BGR `work` image, as its channels' shares of its mean (gray: equal shares).

    Only the inked pixels (`mask`, where labels > 0; a few % of the frame) are gathered, by their
    coordinates: 0.28 ms on a 480x360 work image, against 0.36 ms for boolean indexing of each channel
    (np.flatnonzero alone takes 0.38 ms there; cv2.findNonZero 0.1 ms).
    """
    xs, ys = cv2.findNonZero(mask).reshape(-1, 2).T
    lab, pixels = labels[ys, xs], work[ys, xs]
    sums = np.stack([np.bincount(lab, weights=pixels[:, c], minlength=n)
                     for c in range(work.shape[2])], axis=1)[idx + 1]
    return sums / np.maximum(sums.sum(axis=1, keepdims=True), 1.0)


def _on_background_step(bg: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> bool:
    """True if the background jumps by > 12 % between neighbouring pixels around the box.

    A page edge is a step (1-2 px wide after optics), a shadow edge a ramp (its penumbra is wider
    than ~8 px), so a thin mark on a step is the edge's rim rather than a pen stroke.
    """
    region = bg[max(0, y0 - 2):y1 + 2, max(0, x0 - 2):x1 + 2]
    if min(region.shape) < 3:
        return False
    dx = cv2.absdiff(region[:, 2:], region[:, :-2])
    dy = cv2.absdiff(region[2:], region[:-2])
    jump = max(_max(dx), _max(dy))
    # Relative to the brighter side, but at least 20 levels: JPEG blocks on a dark board are not edges.
    return jump > max(20.0, 0.12 * 2 * _max(region))


def _max(a: np.ndarray) -> float:
    """Largest value of a gray or multi-channel image."""
    return cv2.minMaxLoc(a.reshape(a.shape[0], -1))[1]


def _median(a: np.ndarray) -> float:
    """np.median of a short 1-D array (the same value, also for float32: the two middle values' mean is taken
    in the array's type), in 1 µs where np.median's generality costs 12-35 µs."""
    a = np.sort(a)
    k = a.size // 2
    return float(a[k]) if a.size % 2 else float((a[k - 1] + a[k]) / a.dtype.type(2))


def _split_touching(own: np.ndarray, config: DetectConfig, min_aspect: float,
                    valley: float | None = 0.6) -> list[tuple[int, int]]:
    """Column ranges of touching digits in one wide component mask: cut at the thinnest column near each
    expected junction, if it is a clear ink valley (under `valley` x a typical column; None: any)."""
    h, w = own.shape
    n = max(2, int(round(w / (0.75 * h))))
    if w <= min_aspect * h:
        return [(0, w)]
    cols = own.sum(axis=0, dtype=np.float32)
    cols = np.convolve(cols, _MEAN3, mode="same")
    typical = _median(cols[cols > 0]) if np.any(cols > 0) else 0.0
    cuts = []
    for k in range(1, n):
        centre = k * w / n
        lo, hi = max(1, int(centre - 0.3 * w / n)), min(w - 1, int(centre + 0.3 * w / n) + 1)
        if hi <= lo:
            continue
        c = lo + int(np.argmin(cols[lo:hi]))
        if valley is None or cols[c] <= valley * typical:  # a real junction is thinner than a stroke column
            cuts.append(c)
    edges = [0, *cuts, w]
    parts = [(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]
    # Each part must be a digit of the line's height: cutting the flag off a wide 5 or 7 is no split.
    for a, b in parts:
        rows = np.flatnonzero(own[:, a:b].any(axis=1))
        if rows.size == 0 or rows[-1] - rows[0] + 1 < 0.6 * h:
            return [(0, w)]
    return parts


def find_digits(frame: np.ndarray, config: DetectConfig = DetectConfig(),
                roi: tuple[int, int, int, int] | None = None) -> list[DigitCandidate]:
    """Digits in `frame` (gray/BGR/BGRA, 8/16-bit), sorted by box x; `roi` = (x, y, w, h) to search in."""
    return locate_digits(frame, config, roi).prepare()


class RoiOutsideFrame(ValueError):
    """The region of interest does not overlap the frame: a wrong --roi, not a bad frame."""


def locate_digits(frame: np.ndarray, config: DetectConfig = DetectConfig(),
                  roi: tuple[int, int, int, int] | None = None) -> Marks:
    """Steps 1-6 of the module docstring: the digit-shaped marks in `frame`, not yet cut out."""
    nothing = Marks(config)
    if frame is None:
        return nothing
    img = np.asarray(frame)
    if img.ndim not in (2, 3) or img.size == 0:
        return nothing
    ox = oy = 0
    frame_h = img.shape[0]  # digit sizes are fractions of the frame, also when searching an ROI
    inside = None
    if roi is not None:
        rx, ry, rw, rh = (int(v) for v in roi)
        x0, y0 = max(0, rx), max(0, ry)
        x1, y1 = min(img.shape[1], rx + rw), min(img.shape[0], ry + rh)
        if x1 <= x0 or y1 <= y0:
            raise RoiOutsideFrame(f"--roi {rx},{ry},{rw},{rh} lies entirely outside the "
                                  f"{img.shape[1]}x{img.shape[0]} frame")
        inside = (x0, y0, x1, y1)
        # Some context around a tight ROI: the paper's noise level is measured on paper, and a digit
        # is judged whole. Digits are kept if their centre lies in the ROI.
        m = int(config.roi_context * frame_h)
        x0, y0 = max(0, x0 - m), max(0, y0 - m)
        x1, y1 = min(img.shape[1], x1 + m), min(img.shape[0], y1 + m)
        img, ox, oy = img[y0:y1, x0:x1], x0, y0
    gray = _pixels8(img)
    if gray is None:
        return nothing
    if gray.ndim == 3:
        # Ink is found in each channel in which the paper is bright (see _ink_map). In a channel where the
        # paper is dark (blue, on yellow paper) the ink can be lighter than the paper, and the closing
        # would spread it over the paper around it: such channels (under 60 % of the brightest channel's
        # mean; the paper dominates a frame, and every 8th row tells its colour) are left out.
        means = cv2.mean(gray[::8])[:3]
        bright = [c for c in range(3) if means[c] >= 0.6 * max(means)]
        if len(bright) < 3:
            gray = np.ascontiguousarray(gray[:, :, bright[0]] if len(bright) == 1 else gray[:, :, bright])
    full_scale = 1.0
    k = -(-max(gray.shape[:2]) // config.max_frame_side)
    if k > 1:
        # Area-averaged by the smallest integer factor that brings the frame within max_frame_side: OpenCV's
        # path for integer factors (k x k block means) takes 16 ms for a 4032x3024 photo (to 1344x1008), where
        # resizing it to 1600x1200 took 53 ms; 1663x1247: 0.5 ms (to 831x623) against 18.5 ms. The frame's last
        # k - 1 rows and columns at most are left out (real photos: the same scores, 1.9x faster on average).
        h, w = max(1, gray.shape[0] // k), max(1, gray.shape[1] // k)
        gray = cv2.resize(gray[:h * k, :w * k], (w, h), interpolation=cv2.INTER_AREA)
        full_scale = 1.0 / k
    H, W = gray.shape[:2]
    min_h = max(config.min_digit_px, config.min_digit_height * frame_h * full_scale)
    max_h = min(config.max_digit_height * frame_h * full_scale, H - 4)
    if H < min_h + 2 or W < 4 or max_h < min_h:
        return nothing
    lo_v, hi_v = cv2.minMaxLoc(gray.reshape(gray.shape[0], -1))[:2]  # (all channels)
    if hi_v - lo_v < 12:
        return nothing  # blank frame: nothing but noise
    # Two passes, coarse to fine. The pooled pass reads a one-channel image at 1/p of the resolution (p x p
    # blocks' darkest values: 320x240 for 640x480, where the smallest digit is 6 px); it is 2-3x faster and
    # reads most frames as the detailed pass does. Where its marks are ambiguous — a mark much taller than
    # the frame's digits, made of several digit-sized pieces: lines written close together, or digits one
    # above the other, whose rims touch at the coarse scale — the frame is read by the detailed pass:
    # the 480x360 area-resized image, ink per colour channel.
    p = int(1.0 / max(config.work_width / W, config.pooled_min_digit_px / min_h) + 1e-6)
    if config.pooled_pass and p >= 2:
        marks = _locate(gray, config, min_h, max_h, full_scale, (ox, oy), inside, p)
        if marks is not None:
            return marks
    return _locate(gray, config, min_h, max_h, full_scale, (ox, oy), inside)


def _locate(gray: np.ndarray, config: DetectConfig, min_h: float, max_h: float, full_scale: float,
            origin: tuple[int, int], inside: tuple[int, int, int, int] | None, p: int = 0) -> Marks | None:
    """Steps 2-6 on the 8-bit frame: the detailed pass, or with p >= 2 the pooled pass (None where it is
    ambiguous; see locate_digits)."""
    nothing = Marks(config)
    ox, oy = origin
    H, W = gray.shape[:2]
    if p:
        f = 1.0 / p
        dark_ink, floor = _polarity(_small_luma(gray, p), config, 18.0 * p)
        work = _pool(gray, p, dark_ink)
        # At most 27 px (54 px of a 640x480 frame, 11 % of its height, as the detailed pass's 41 of 360): a
        # larger kernel took shadow edges and the dim corners of phone photos for ink.
        max_kernel = 27
    else:
        # Work image: as small as possible while the smallest digit stays a solid component.
        f = min(1.0, max(config.work_width / W, config.work_min_digit_px / min_h))
        if f <= 0.5:
            # An integer 1/k, at least as fine as asked (OpenCV's path for integer factors: 1600x1200 to 533x400
            # in 2.5 ms, to 480x360 in 5.8 ms); the frame's last k - 1 rows and columns at most are left out.
            k = int(1.0 / f + 1e-6)
            f, gray = 1.0 / k, gray[:H // k * k, :W // k * k]
            H, W = gray.shape[:2]
        work = _shrink(gray, (max(4, round(W * f)), max(4, round(H * f)))) if f < 1 else gray
        small = cv2.resize(work, (max(4, work.shape[1] // 2), max(4, work.shape[0] // 2)),
                           interpolation=cv2.INTER_AREA)
        dark_ink, floor = _polarity(_channel_mean(small) if small.ndim == 3 else small, config, 24.0)
        max_kernel = 41
    wh, ww = work.shape[:2]
    bg_work = _background(work, dark_ink, max_h * f, max_kernel)
    ink = _ink_map(work, bg_work, dark_ink, floor)
    low, high = _thresholds(ink, config)
    _, mask = cv2.threshold(ink, low, 1, cv2.THRESH_BINARY)
    if cv2.countNonZero(mask) > config.max_ink_fraction * mask.size:
        # Not a page with writing: noise, a texture, or no contrast model fits. (Pooling thickens the lines of
        # grid paper: the pooled pass leaves that judgement to the detailed one.)
        return None if p else nothing
    # Faint ink counts only near strong ink: a faint stroke of a digit is within a stroke's length of its
    # strong parts, while the lines of grid or ruled paper run on for whole digit heights (they joined
    # digits to each other and to the grid, and crops full of lines were then rightly rejected).
    _, strong = cv2.threshold(ink, high - 1, 1, cv2.THRESH_BINARY)
    r = int(min(max(config.faint_reach * max(min_h * f, 0.08 * wh), 2), 12))
    box_mask, (bx0, by0, bx1, by1) = _near_strong(mask, strong, r)
    if bx1 <= bx0:
        # Nothing stands out. Unless something of clear contrast is there after all: then the pooled image's
        # noise statistics were thrown by its texture (the lines of grid paper, thickened by pooling).
        return None if p and cv2.minMaxLoc(ink)[1] >= 2 * 255 * config.min_contrast else nothing
    # Components of that box only (the mask is empty outside it): 0.35 -> ~0.2 ms on synthetic frames.
    n, box_labels, stats, _ = cv2.connectedComponentsWithStats(box_mask, connectivity=8, ltype=cv2.CV_16U)
    if n <= 1:
        return nothing
    n, stats = _unframe(box_labels, stats, n, min_h * f, max_h * f)
    stats[:, 0] += bx0
    stats[:, 1] += by0
    stats = stats[1:]
    sx, sy, sw, sh, area = (stats[:, i] for i in range(5))
    min_h_w, max_h_w = min_h * f, max_h * f
    # Marks reaching the frame (ROI) border are lines, edges or cut-off digits (1 px of slack: the
    # outermost row of an area-downscaled image is often a little weaker).
    touches = (sx <= 1) | (sy <= 1) | (sx + sw >= ww - 1) | (sy + sh >= wh - 1)
    # Noise grains go first (a fragment of a broken stroke is bigger than ~1/5 of the smallest digit),
    # then whatever cannot be part of a digit: too tall, or long and flat like a ruled line.
    size = np.maximum(sw, sh)
    keep = (size >= max(2.0, 0.2 * min_h_w)) & (area >= 3) & ~touches & (sh <= max_h_w)
    keep &= (sw <= 4.0 * max_h_w) & (sw <= 6.0 * np.maximum(sh, 1))
    idx = np.flatnonzero(keep)
    if idx.size == 0:
        return nothing
    # Components in a canonical order (top, left, size), not OpenCV's label order: its parallel labelling
    # numbers them differently with cv2.setNumThreads(1) and with 2 threads, and the merge's tie-breaks
    # follow the order, so answers depended on the thread count (the golden-file test caught it).
    idx = idx[np.lexsort((-area[idx], sx[idx], sy[idx]))]
    if idx.size > config.max_components:
        idx = idx[np.argsort(-area[idx], kind="stable")[:config.max_components]]
    boxes = np.stack([sx[idx], sy[idx], sw[idx], sh[idx]], axis=1)
    seeds = sh[idx] >= 0.4 * min_h_w
    if np.count_nonzero(seeds) > config.max_digits:  # clutter: only the largest marks can start a digit
        seeds[np.argsort(-area[idx], kind="stable")[config.max_digits:]] = False
    # Mean stroke width (area / height) under 8 % of the height: a line, not part of a digit.
    mergeable = area[idx] >= 0.08 * sh[idx].astype(np.float32) ** 2
    # The colours matter only where fragments may merge: a seed and one more mark (see _merge_fragments).
    merging = idx.size >= 2 and np.any(seeds & mergeable)
    shares = None
    if gray.ndim == 3 and merging:
        def shares() -> np.ndarray:
            if p:  # the pooled pass's work image has one channel: the frame's region, area-averaged to work pixels
                region = cv2.resize(gray[by0 * p:by1 * p, bx0 * p:bx1 * p], (bx1 - bx0, by1 - by0),
                                    interpolation=cv2.INTER_AREA)
            else:
                region = work[by0:by1, bx0:bx1]
            return _chroma(region, box_mask, box_labels, n, idx)
    groups, rects = _merge_fragments(boxes, seeds, mergeable, config, max_h_w, shares)
    rects = rects.astype(np.int64)
    gw, gh = rects[:, 2] - rects[:, 0], rects[:, 3] - rects[:, 1]
    # MNIST sizes a digit by its larger side: a flat 2 or 5 may be only 2/3 as tall as it is wide.
    plausible = (np.maximum(gw, gh) >= min_h_w) & (gh >= 0.6 * min_h_w) & (gh <= max_h_w)
    plausible &= (gh <= config.max_height_ratio * np.maximum(gw, 1)) & (gw <= 4.5 * gh)
    if p and _ambiguous(groups, gh, plausible, sh[idx], seeds):
        return None

    group_of = np.zeros(n, np.uint16)  # label → 1-based group number (0: not a candidate)
    candidates: list[tuple[tuple[int, int, int, int], np.ndarray, bool]] = []
    for k in np.flatnonzero(plausible):
        group, gid = groups[k], int(k) + 1
        x0, y0, x1, y1 = rects[k].tolist()
        bw, bh = x1 - x0, y1 - y0
        fill = float(area[idx[group]].sum()) / (bw * bh)
        if (fill > config.max_fill and bw > 0.35 * bh) or fill < config.min_fill:
            continue  # a solid blob (a thumb, a hole in the page), or a sparse constellation of noise
        group_of[idx[group] + 1] = gid
        labels = box_labels[y0 - by0:y1 - by0, x0 - bx0:x1 - bx0]  # (the mark's box within the mask's)
        own = (group_of[labels] == gid).view(np.uint8)
        if cv2.minMaxLoc(ink[y0:y1, x0:x1], own)[1] < high:
            continue  # faint everywhere: texture, a shadow's rim, a pencil smudge
        # Widest stroke (largest inscribed circle). MNIST-like pen strokes are > 0.12 of the digit
        # height; thinner marks are rims of page edges and ruled or margin lines.
        framed = cv2.copyMakeBorder(own, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
        stroke = 2.0 * cv2.minMaxLoc(cv2.distanceTransform(framed, cv2.DIST_L2, 3))[1]
        if stroke > 0.6 * bh and bw > 1.6 * bh:
            continue  # a solid band (a strip of table or shadow narrower than the background kernel)
        if stroke < config.line_stroke_ratio * max(bh, bw) and max(bh, bw) > 6 * min(bh, bw):
            continue  # long, straight and hair-thin: a margin or ruled line (thin-pen digits are not straight)
        thin = stroke < config.thin_stroke_ratio * bh
        if (thin or bw < 0.35 * bh) and _on_background_step(bg_work, x0, y0, x1, y1):
            continue  # a rim along a page edge: the background steps right there
        if bw <= config.split_aspect * bh:
            # Alternatives for the classifier to choose from (DigitReader): the group's tall pieces apart
            # (a 4 merged with the long tail of the 9 beside it), or the mark cut at ink valleys (an 0
            # touching a 6); whichever it reads as digits wins over a whole it calls "not a digit".
            tall = [g for g in group if seeds[g]]
            if len(tall) >= 2:
                parts = _pieces(group, tall, boxes, labels, idx, x0, y0)
            else:
                parts = _cuts(own, 1.0, config, min_h_w, x0, y0, valley=None)
            candidates.append(((x0, y0, bw, bh), own, stroke, parts))
            continue
        # Wider than two digits: cut at clear valleys; without any, cut anyway and let the classifier choose.
        parts = _cuts(own, config.split_aspect, config, min_h_w, x0, y0)
        if parts:
            candidates.extend((*part, stroke, []) for part in parts)
        else:
            candidates.append(((x0, y0, bw, bh), own, stroke,
                               _cuts(own, config.split_aspect, config, min_h_w, x0, y0, valley=None)))
    if not candidates:
        return nothing
    # A thin mark much taller than the digits around it is a line, not a 1 (a 7 or 9 with a long tail is
    # 2x its neighbours); and a hair-line beside digits written with a thicker pen is a ruling or a
    # page's edge, not a 1 (one pen writes one stroke width; a thin pen's 1 is as thin as its 2).
    if len(candidates) >= 3:
        heights = [c[0][3] for c in candidates]
        strokes = [c[2] for c in candidates]
        tallest = 3.0 * statistics.median(heights)  # (np.median costs ~30 µs on a short list)
        typical = statistics.median(strokes)
        candidates = [c for c in candidates if not (c[2] < config.thin_stroke_ratio * c[0][3] and c[0][3] > tallest)
                      and not (c[2] < 0.4 * typical and c[0][3] > 2.5 * c[0][2])]
    candidates.sort(key=lambda c: -c[0][2] * c[0][3])
    return Marks(config, [(box, own, parts) for box, own, _, parts in candidates[:config.max_digits]], gray,
                 bg_work, f, dark_ink, floor, min_h, full_scale, (ox, oy), inside, pooled=bool(p))


def _unframe(labels: np.ndarray, stats: np.ndarray, n: int, min_h: float, max_h: float) -> tuple[int, np.ndarray]:
    """Printed lines taken out of the marks that touch them: the boxes of a form's fields (a box or a row of
    boxes, a digit written in each, touching the walls or not; an empty box is no 0) and a ruled line or an
    underline that the digits written on it touch (a 7's or a 9's tail) or that runs through them.

    A mark is a box if its bounding box's four corners are inked and ink runs along nearly all of its four sides
    (a handwritten 0 is round: its corners are empty); its walls are its straight runs of at least 0.9 of its
    width or height. A mark twice as wide as it is tall, and at least three of the smallest digits long, holds a
    ruling (or several) if its straight horizontal runs of 1.5x its height (no stroke of a digit is that long)
    lie in thin bands, each under at least 0.8 of its width (_rulings; text, strokes of large digits do not),
    and a piece at least 0.4 of the smallest digit tall stands on one. The walls are removed (a ruling's except
    where a stroke crosses it); what they held becomes marks of its own, less a wall's anti-aliased rim and a
    comb field's ticks. Updates `labels` (n labels, 0 the background) in place; returns the new n and `stats`
    (a removed mark's row gets area 0).
    On the 674 test frames (synthetic, scene classes, real photos, the clip) no score changes.
    """
    sw, sh, area = stats[:, 2], stats[:, 3], stats[:, 4]
    maybe = (sh >= 0.6 * min_h) & (sh <= max_h) & ((area <= 0.6 * sw * sh) | (sw >= 2 * sh)) & (sw >= 0.5 * sh)
    maybe[0] = False  # (the background)
    added = []
    for i in np.flatnonzero(maybe).tolist():
        x, y, w, h = stats[i, :4].tolist()
        patch = labels[y:y + h, x:x + w]
        t = max(2, int(0.1 * min(w, h)))
        # (The corners first, on the labels: most marks are digits, and a digit's corners are mostly empty.)
        if i in patch[:t, :t] and i in patch[-t:, -t:] and i in patch[:t, -t:] and i in patch[-t:, :t]:
            ink = patch == i
            sides = (ink[:t].any(axis=0), ink[-t:].any(axis=0), ink[:, :t].any(axis=1), ink[:, -t:].any(axis=1))
            box = min(np.count_nonzero(side) / side.size for side in sides) >= 0.9
        else:
            box = False
        if box:
            lengths = (int(0.9 * w), int(0.9 * h))  # its walls
        elif w >= max(2 * h, 3 * min_h):
            lengths = (int(max(1.5 * h, 2 * min_h)), 0)  # a ruling, if there is one
            ink = patch == i
            if np.count_nonzero(ink, axis=1).max() < lengths[0]:
                continue  # no row holds that much ink (most wide marks: digits that touch)
        else:
            continue
        mark = ink.view(np.uint8)
        walls = np.zeros_like(mark)
        for length, kernel, across in zip(lengths, ((1, lengths[0]), (lengths[1], 1)), ((3, 1), (1, 3))):
            if length >= 3:
                # A box's walls: runs of `length` in the mark thickened across by a pixel each way, so that a box
                # tilted by up to 3° has them (the mark's own pixels under them are the wall). A ruling's: in the
                # mark as it is (thickened, the strokes of text and of large digits passed for rulings: 0.2 more
                # false digits per negative scene-class frame).
                walls |= _straight_runs(cv2.dilate(mark, np.ones(across, np.uint8)) if box else mark, kernel) & mark
        if not walls.any() or not (box or _rulings(walls, mark, h)):
            continue
        held = mark & ~walls & 1
        k, held_labels, held_stats, _ = cv2.connectedComponentsWithStats(held, connectivity=8, ltype=cv2.CV_16U)
        if not box and not np.any(held_stats[1:, 3] >= 0.4 * min_h):
            continue  # nothing written on it: the mark stays as it is
        patch[ink] = 0
        stats[i, 4] = 0  # (no longer a mark)
        # Pieces with no pixel beyond a wall's 1-px rim are the wall's anti-aliased edge, not writing.
        rim = cv2.dilate(walls, _SQUARE3)
        away = np.bincount(held_labels[(held & ~rim).view(bool)], minlength=k)
        keep = away > 0
        keep[0] = False
        if not box and k > 3:
            keep &= ~_comb_ticks(held_labels, held_stats, rim)
        for j in np.flatnonzero(keep):
            patch[held_labels == j] = n + len(added)
            added.append(held_stats[j] + (x, y, 0, 0, 0))
    if added:
        stats = np.concatenate([stats, np.array(added, stats.dtype)])
    return n + len(added), stats


def _straight_runs(mark: np.ndarray, kernel: tuple[int, int]) -> np.ndarray:
    """The pixels of a 0/1 mark on straight runs of `kernel` (rows x columns: (1, n) horizontal, (n, 1) vertical):
    its opening, with no ink beyond the mark's patch (OpenCV's default border for an erosion is all ink)."""
    return cv2.morphologyEx(mark, cv2.MORPH_OPEN, np.ones(kernel, np.uint8), borderType=cv2.BORDER_CONSTANT,
                            borderValue=0)


def _rulings(walls: np.ndarray, mark: np.ndarray, h: int) -> bool:
    """Whether the long horizontal runs `walls` of a wide mark are rulings — each band of adjacent rows they
    fill a thin line (under a quarter of the mark's height, or 3 px) under at least 0.8 of the mark's width; the
    strokes of text and of large digits are not — and if so, where strokes cross a ruling (ink just above and
    just below it), its pixels are left out of `walls` (in place): a digit the ruling runs through is not cut
    in two (its halves would read as two digits)."""
    rows = np.flatnonzero(walls.any(axis=1))
    bands = np.split(rows, np.flatnonzero(np.diff(rows) > 1) + 1)
    w = mark.shape[1]
    for band in bands:
        r0, r1 = int(band[0]), int(band[-1]) + 1
        if r1 - r0 > max(3, 0.25 * h) or np.count_nonzero(walls[r0:r1].any(axis=0)) < 0.8 * w:
            return False
    for band in bands:
        r0, r1 = int(band[0]), int(band[-1]) + 1
        crossing = mark[max(0, r0 - 2):r0].any(axis=0) & mark[r1:r1 + 2].any(axis=0)
        walls[r0:r1, cv2.dilate(crossing.view(np.uint8)[None], np.ones((1, 3), np.uint8))[0].view(bool)] = 0
    return True


def _comb_ticks(labels: np.ndarray, stats: np.ndarray, rim: np.ndarray) -> np.ndarray:
    """Which pieces (labels 1.. of a ruling's mark, the ruling removed) are the ticks of a comb field: three
    or more straight vertical lines that stood on the ruling, of one height (within 15 %). Handwritten 1s on
    a ruled line are not all of one height, nor ruler-straight."""
    ticks = np.zeros(len(stats), bool)
    for j in range(1, len(stats)):
        x, y, w, h, a = (int(v) for v in stats[j])
        if h < 3 or w > max(3, 0.25 * h):
            continue
        piece = (labels[y:y + h, x:x + w] == j).view(np.uint8)
        straight = _straight_runs(piece, (max(3, int(0.9 * h)), 1))
        ticks[j] = cv2.countNonZero(straight) >= 0.8 * a and cv2.countNonZero(piece & rim[y:y + h, x:x + w]) > 0
    heights = stats[ticks, 3]
    if heights.size < 3:
        return np.zeros(len(stats), bool)
    typical = _median(heights.astype(np.float32))
    return ticks & (np.abs(stats[:, 3] - typical) <= 0.15 * typical)


def _ambiguous(groups: list[list[int]], gh: np.ndarray, plausible: np.ndarray, heights: np.ndarray,
               seeds: np.ndarray) -> bool:
    """The pooled pass's marks are ambiguous: a group 1.6x as tall as the frame's typical digit (the median
    height of its seed pieces, given two) holds at least two pieces of a digit's height (0.6 typical)."""
    tall = heights[seeds]
    if tall.size < 2:
        return False
    typical = _median(tall)
    for k in np.flatnonzero(plausible & (gh > 1.6 * typical)):
        if np.count_nonzero(heights[groups[k]] >= 0.6 * typical) >= 2:
            return True
    return False


def _cuts(own: np.ndarray, min_aspect: float, config: DetectConfig, min_h: float, x0: int, y0: int,
          valley: float | None = 0.6) -> list:
    """A wide mark cut at its ink valleys into digit-high parts [(box, own)]; [] if it does not cut."""
    cuts = _split_touching(own, config, min_aspect, valley)
    if len(cuts) < 2:
        return []
    parts = []
    for a, b in cuts:
        part = own[:, a:b]
        rows = np.flatnonzero(part.any(axis=1))
        if rows.size and rows[-1] - rows[0] + 1 >= 0.6 * min_h and b - a <= 2.2 * (rows[-1] - rows[0] + 1):
            r0, r1 = int(rows[0]), int(rows[-1]) + 1
            parts.append(((x0 + a, y0 + r0, b - a, r1 - r0), part[r0:r1]))
    return parts


def _pieces(group: list[int], tall: list[int], boxes: np.ndarray, labels: np.ndarray, idx: np.ndarray,
            x0: int, y0: int) -> list:
    """A merged group taken apart again: each tall piece with the small fragments nearest to it."""
    centres = boxes[:, :2] + boxes[:, 2:] / 2
    offsets = centres[tall][None, :, :] - centres[group][:, None, :]   # (group, tall, xy)
    nearest = np.hypot(offsets[..., 0], offsets[..., 1]).argmin(axis=1)
    # One lookup over the box labels every pixel with its piece (1-based; 0: not of this group), instead
    # of an np.isin per piece.
    piece_of = np.zeros(int(labels.max()) + 1, np.uint16)
    piece_of[idx[group] + 1] = nearest + 1
    pieces = piece_of[labels]
    parts = []
    for k in range(len(tall)):
        own = (pieces == k + 1).view(np.uint8)
        x, y, w, h = cv2.boundingRect(own)
        parts.append(((x0 + x, y0 + y, w, h), own[y:y + h, x:x + w]))
    return parts


def _crop_digit(gray: np.ndarray, bg_work: np.ndarray, box_w: tuple[int, int, int, int], own_box: np.ndarray,
                f: float, dark_ink: bool, floor: int, config: DetectConfig, around: InkWindow | None = None
                ) -> tuple[tuple[tuple[int, int, int, int], np.ndarray, float] | None, InkWindow | None]:
    """Cut one digit from the full-resolution ink map (the work image is too coarse for 28x28): (its strong
    ink's box, the 28x28 image, its contrast) or None, and the ink window it was cut from.

    A part of a mark lies inside the mark's window: `around`, that window's ink, is then sliced rather than
    computed again. Where the work image is an integer 1/k of the frame and neither window is cut short by the
    frame's right or bottom edge, the slice is exactly the part's own window's ink wherever the part has pixels
    (the background's bilinear upscale differs only on a window's outermost ring, and a part's pixels stay
    two work pixels inside it: its margin is >= 2, its own pixels are dilated by 1); else `around` is None.
    """
    H, W = gray.shape[:2]
    wh, ww = bg_work.shape[:2]
    bx, by, bw, bh = box_w
    inv = 1.0 / f
    # Work-image window around the digit, then exactly its full-resolution counterpart.
    m = math.ceil(config.crop_margin * bh) + 1
    wx0, wy0 = max(0, bx - m), max(0, by - m)
    wx1, wy1 = min(ww, bx + bw + m), min(wh, by + bh + m)
    cx0, cy0 = int(round(wx0 * inv)), int(round(wy0 * inv))
    cx1, cy1 = min(W, int(round(wx1 * inv))), min(H, int(round(wy1 * inv)))
    if cx1 - cx0 < 3 or cy1 - cy0 < 3:
        return None, None
    size = (cx1 - cx0, cy1 - cy0)
    exact = inv == round(inv) and (cx1, cy1) == (wx1 * inv, wy1 * inv) and m >= 2
    if exact and around is not None and around[0] <= cx0 and around[1] <= cy0 \
            and cx1 <= around[0] + around[2].shape[1] and cy1 <= around[1] + around[2].shape[0]:
        ink = around[2][cy0 - around[1]:cy1 - around[1], cx0 - around[0]:cx1 - around[0]]
    else:
        g = gray[cy0:cy1, cx0:cx1]
        if bg_work.ndim == 2 and g.ndim == 3:  # (the pooled pass's one channel)
            g = _pool(g, 1, dark_ink)
        if f < 1:
            bg = cv2.resize(bg_work[wy0:wy1, wx0:wx1], size, interpolation=cv2.INTER_LINEAR)
        else:
            bg = bg_work[wy0:wy1, wx0:wx1]
        ink = _ink_map(g, bg, dark_ink, floor)
    window = (cx0, cy0, ink) if exact else None
    # Only this digit's own pixels (plus their anti-aliased rim): a neighbour's stroke or a speck in
    # the margin would shift the centre of mass; a split digit also loses its neighbour's columns.
    own = cv2.copyMakeBorder(own_box, by - wy0, wy1 - by - bh, bx - wx0, wx1 - bx - bw, cv2.BORDER_CONSTANT, value=0)
    own = cv2.dilate(own, _SQUARE3)
    if f < 1:
        own = cv2.resize(own, size, interpolation=cv2.INTER_NEAREST)
    crop = cv2.multiply(ink, own)
    img28 = mnist_style(crop, config.preprocess, black=0.0)
    peak = int(cv2.minMaxLoc(crop)[1])
    if peak <= 0 or not cv2.countNonZero(img28):
        return None, window
    _, strong = cv2.threshold(crop, peak // 2, 255, cv2.THRESH_BINARY)
    x, y, w, h = cv2.boundingRect(strong)
    return ((cx0 + x, cy0 + y, w, h), img28, peak / 255.0), window
