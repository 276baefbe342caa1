"""Group digit boxes into multi-digit numbers, in reading order (numpy-free, standard library only)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

Box = tuple[int, int, int, int]  # x, y, w, h


@dataclass(frozen=True)
class GroupConfig:
    min_line_overlap: float = 0.5  # vertical overlap / smaller height for two numbers to share a row
    # Gaps are in digit heights. Digits at most `link_gap` apart form a line; a line is split into numbers
    # at gaps wider than 2x its median gap, but never at gaps under `min_split_gap` and always at gaps over
    # `max_split_gap`. Measured on real photos: digits of one number are 0.05-0.45 heights apart when
    # written tightly but 0.5-1 when spaced evenly (then the whole line is one number, not "05 22 1859");
    # separate numbers on a line are > 0.5 apart where digits are tight, and > 1 otherwise.
    link_gap: float = 1.2
    split_ratio: float = 2.0
    min_split_gap: float = 0.6
    max_split_gap: float = 0.9
    max_slope: float = 1.1         # |dy| / dx of the next digit's centre: lines slanted up to ~45° (and a wobble)
    min_height_ratio: float = 0.4  # a small round 0 beside a tall 7 is still one number


def _v_overlap(a: Box, b: Box) -> float:
    top, bottom = max(a[1], b[1]), min(a[1] + a[3], b[1] + b[3])
    return max(0, bottom - top) / max(1, min(a[3], b[3]))


def _link_cost(a: Box, b: Box, config: GroupConfig) -> float | None:
    """How far `b` is from continuing a number to the right of `a` (in digit heights), or None if it cannot."""
    height = max(a[3], b[3])  # a flat 2 or a short 0 next to a tall 7 is still one number
    if min(a[3], b[3]) < config.min_height_ratio * height:
        return None
    dx = (b[0] + b[2] / 2) - (a[0] + a[2] / 2)
    dy = (b[1] + b[3] / 2) - (a[1] + a[3] / 2)
    if dx <= 0.25 * min(a[2], b[2], a[3], b[3]) or abs(dy) > config.max_slope * dx:
        return None  # not to the right, or more below (above) than beside: another line
    gap = _gap(a, b)
    if gap > config.link_gap:
        return None
    # Straight on beats diagonal: of two candidates at the same gap, the one on the line is the next digit.
    return gap + abs(dy) / max(dx, 1.0)


def _gap(a: Box, b: Box) -> float:
    """Distance between two boxes in heights of the taller one, also along a slanted line."""
    gx = max(0, max(a[0], b[0]) - min(a[0] + a[2], b[0] + b[2]))
    gy = max(0, max(a[1], b[1]) - min(a[1] + a[3], b[1] + b[3]))
    return (gx * gx + gy * gy) ** 0.5 / max(1, a[3], b[3])


def _split_line(boxes: Sequence[Box], line: list[int], config: GroupConfig) -> list[list[int]]:
    """A line of digits → its numbers, split at gaps that stand out (see GroupConfig)."""
    gaps = [_gap(boxes[a], boxes[b]) for a, b in zip(line[:-1], line[1:])]
    if not gaps:
        return [line]
    threshold = min(max(config.split_ratio * sorted(gaps)[len(gaps) // 2], config.min_split_gap),
                    config.max_split_gap)
    numbers, current = [], [line[0]]
    for gap, nxt in zip(gaps, line[1:]):
        if gap > threshold:
            numbers.append(current)
            current = []
        current.append(nxt)
    numbers.append(current)
    return numbers


def group_numbers(boxes: Sequence[Box], config: GroupConfig = GroupConfig()) -> list[list[int]]:
    """Indices into `boxes`, one list per number (left→right), numbers top row first, then left→right.

    A line is a chain of digits, each the nearest right neighbour of the one before *and* that one its
    nearest left neighbour (mutual choice), at most `link_gap` digit heights apart along any direction up
    to `max_slope`: a number written at 35° stays one line, and two lines written close together never
    swap digits, since a digit below is not beside. Lines are then split into numbers at wide gaps.
    """
    n = len(boxes)
    best_right: list[tuple[float, int] | None] = [None] * n
    best_left: list[tuple[float, int] | None] = [None] * n
    order = sorted(range(n), key=lambda i: boxes[i][0])
    for pos, i in enumerate(order):
        right_edge = boxes[i][0] + boxes[i][2]
        for j in order[pos + 1:]:
            # A link needs the gap ≤ link_gap × the taller height ≤ link_gap × h_i / min_height_ratio; the
            # boxes are sorted by x, so every box after this one is further away still.
            if boxes[j][0] - right_edge > config.link_gap * boxes[i][3] / config.min_height_ratio:
                break
            cost = _link_cost(boxes[i], boxes[j], config)
            if cost is None:
                continue
            if best_right[i] is None or cost < best_right[i][0]:
                best_right[i] = (cost, j)
            if best_left[j] is None or cost < best_left[j][0]:
                best_left[j] = (cost, i)
    nxt = [-1] * n
    has_prev = [False] * n
    for i in range(n):
        if best_right[i] is not None:
            j = best_right[i][1]
            if best_left[j] is not None and best_left[j][1] == i:
                nxt[i], has_prev[j] = j, True
    numbers: list[list[int]] = []
    for i in order:
        if has_prev[i]:
            continue
        chain = [i]
        while nxt[chain[-1]] >= 0:
            chain.append(nxt[chain[-1]])
        numbers.extend(_split_line(boxes, chain, config))

    # Reading order: rows of numbers (vertical overlap of their boxes), top row first, left→right in a row.
    spans = [union_box(boxes, number) for number in numbers]
    by_centre = sorted(range(len(numbers)), key=lambda k: spans[k][1] + spans[k][3] / 2)
    rows: list[list[int]] = []
    for k in by_centre:
        if rows and _v_overlap(union_box(spans, rows[-1]), spans[k]) >= config.min_line_overlap:
            rows[-1].append(k)
        else:
            rows.append([k])
    return [numbers[k] for row in rows for k in sorted(row, key=lambda k: spans[k][0])]


def union_box(boxes: Sequence[Box], indices: Sequence[int]) -> Box:
    """The box (x, y, w, h) around boxes[i] for i in indices."""
    x0 = min(boxes[i][0] for i in indices)
    y0 = min(boxes[i][1] for i in indices)
    x1 = max(boxes[i][0] + boxes[i][2] for i in indices)
    y1 = max(boxes[i][1] + boxes[i][3] for i in indices)
    return (x0, y0, x1 - x0, y1 - y0)

