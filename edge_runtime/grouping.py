"""Group digit boxes into multi-digit numbers, in reading order (numpy-free, standard library only)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

Box = tuple[int, int, int, int]  # x, y, w, h


@dataclass(frozen=True)
class GroupConfig:
    min_line_overlap: float = 0.5  # vertical overlap / smaller height for two boxes to share a line
    max_gap: float = 0.8           # horizontal gap / digit height above which a number ends
    # Handwritten digits of one number are 0.05–0.45 heights apart, separate numbers usually > 1.


def _v_overlap(a: Box, b: Box) -> float:
    top, bottom = max(a[1], b[1]), min(a[1] + a[3], b[1] + b[3])
    return max(0, bottom - top) / max(1, min(a[3], b[3]))


def group_numbers(boxes: Sequence[Box], config: GroupConfig = GroupConfig()) -> list[list[int]]:
    """Indices into `boxes`, one list per number (left→right), numbers top line first, then left→right."""
    order = sorted(range(len(boxes)), key=lambda i: (boxes[i][0], boxes[i][1]))
    # Lines are chains: each box joins the line whose rightmost box overlaps it most vertically, so a
    # slightly rotated line of text is followed instead of being cut by a horizontal band.
    lines: list[list[int]] = []
    for i in order:
        best, best_overlap = None, config.min_line_overlap
        for line in lines:
            overlap = _v_overlap(boxes[line[-1]], boxes[i])
            if overlap >= best_overlap:
                best, best_overlap = line, overlap
        if best is None:
            lines.append([i])
        else:
            best.append(i)

    numbers: list[list[int]] = []
    for line in lines:
        current = [line[0]]
        for prev, nxt in zip(line[:-1], line[1:]):
            a, b = boxes[prev], boxes[nxt]
            gap = b[0] - (a[0] + a[2])
            height = max(a[3], b[3])  # a flat 2 or a short 0 next to a tall 7 is still one number
            if gap > config.max_gap * height:
                numbers.append(current)
                current = [nxt]
            else:
                current.append(nxt)
        numbers.append(current)

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

