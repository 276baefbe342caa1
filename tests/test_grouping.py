"""Digit boxes → numbers: lines by vertical overlap, split at wide gaps, reading order."""
from __future__ import annotations

import math
import random

import pytest

from mnist_edge.edge_runtime.grouping import GroupConfig, group_numbers

pytestmark = pytest.mark.edge


def row(x0: int, y: int, widths: list[int], h: int = 40, gap: int = 8) -> list[tuple[int, int, int, int]]:
    """Boxes of digits written left to right on one baseline."""
    boxes, x = [], x0
    for w in widths:
        boxes.append((x, y, w, h))
        x += w + gap
    return boxes


def texts(boxes, groups, labels):
    return ["".join(labels[i] for i in g) for g in groups]


def test_empty_and_single():
    assert group_numbers([]) == []
    assert group_numbers([(5, 5, 10, 20)]) == [[0]]


def test_one_number_left_to_right_whatever_the_input_order():
    boxes = row(100, 50, [25, 10, 28, 26])
    order = [2, 0, 3, 1]
    shuffled = [boxes[i] for i in order]
    assert group_numbers(shuffled) == [[1, 3, 0, 2]]


def test_wide_gap_splits_numbers_on_one_line():
    boxes = row(50, 100, [25, 25]) + row(250, 102, [25, 25, 25])
    assert group_numbers(boxes) == [[0, 1], [2, 3, 4]]


def test_gap_threshold_is_relative_to_digit_height():
    a = row(0, 0, [20, 20], h=40, gap=30)  # gap 0.75 h: one number
    b = row(0, 0, [20, 20], h=40, gap=44)  # gap 1.1 h: two numbers
    assert group_numbers(a) == [[0, 1]]
    assert group_numbers(b) == [[0], [1]]
    assert group_numbers(b, GroupConfig(max_split_gap=1.2)) == [[0, 1]]
    c = row(0, 0, [20, 20], h=80, gap=44)  # the same pixels, twice the height: one number
    assert group_numbers(c) == [[0, 1]]


def test_evenly_spaced_line_is_one_number():
    # Real photos (a "05221859" written with gaps of 0.5-1 digit heights) were read as "05 22 1859" when
    # every gap over 0.8 heights split the number: a line splits only where a gap stands out (or over 0.9).
    boxes, x = [], 0
    for gap in (20, 34, 28, 35, 22, 33, 30):
        boxes.append((x, 100, 25, 40))
        x += 25 + gap
    boxes.append((x, 100, 25, 40))
    assert group_numbers(boxes) == [list(range(8))]


def test_gap_that_stands_out_splits_a_tight_line():
    # "020 87836761": digits 0.1 heights apart, one space of 0.7 heights after the area code.
    boxes = row(0, 0, [20, 20, 20], h=40, gap=4) + row(96, 0, [20, 20, 20], h=40, gap=4)
    assert boxes[3][0] - (boxes[2][0] + boxes[2][2]) == 28
    assert group_numbers(boxes) == [[0, 1, 2], [3, 4, 5]]


def test_far_apart_digits_are_separate_numbers():
    boxes = row(0, 0, [25] * 5, h=40, gap=80)  # 2 heights apart: a grid of single digits
    assert group_numbers(boxes) == [[0], [1], [2], [3], [4]]


def test_lines_top_first_then_left_to_right():
    labels = "12345678"
    top = row(300, 40, [25, 25])          # "12", right side, top line
    top_left = row(20, 45, [25])          # "3", left side, same line
    bottom = row(30, 200, [25, 25, 25])   # "456", second line
    far_bottom = row(400, 205, [25, 25])  # "78"
    boxes = top + top_left + bottom + far_bottom
    assert texts(boxes, group_numbers(boxes), labels) == ["3", "12", "456", "78"]


def test_rotated_line_is_followed():
    # 6 digits along a line rising 8° to the right: the last box no longer overlaps the first.
    angle = math.radians(-8)
    boxes = []
    for k in range(6):
        x = 100 + k * 36
        boxes.append((x, int(200 + math.tan(angle) * (x - 100)), 28, 40))
    assert boxes[-1][1] + 40 < boxes[0][1] + 20  # not overlapping much with the first
    assert group_numbers(boxes) == [[0, 1, 2, 3, 4, 5]]


@pytest.mark.parametrize("degrees", [-40, -35, 20, 35, 40])
def test_slanted_line_is_one_number(degrees):
    # A number written along a line at up to ~40° (a webcam frame of "237845" at 35° read "2 37 8 45").
    angle = math.radians(degrees)
    boxes = [(int(100 + k * 52 * math.cos(angle)), int(300 + k * 52 * math.sin(angle)), 30, 45) for k in range(6)]
    assert group_numbers(boxes) == [[0, 1, 2, 3, 4, 5]]


def test_lines_written_close_together_stay_apart():
    # Rows of five digits 0.15 heights apart vertically (a "88888" just above a "66666").
    top = row(100, 100, [28] * 5, h=40, gap=12)
    bottom = row(104, 146, [28] * 5, h=40, gap=12)
    assert group_numbers(top + bottom) == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]


def test_stacked_numbers_are_not_merged():
    boxes = row(100, 100, [25, 25]) + row(100, 160, [25, 25])  # same columns, 20 px apart vertically
    assert group_numbers(boxes) == [[0, 1], [2, 3]]


def test_short_digit_next_to_tall_one_stays_in_the_number():
    # A flat "2" (shorter box) beside a tall "7": the gap is judged against the taller of the two.
    boxes = [(100, 130, 60, 30), (190, 100, 40, 70)]
    assert group_numbers(boxes) == [[0, 1]]


def test_every_index_appears_exactly_once():
    rng = random.Random(0)
    for _ in range(50):
        boxes = [(rng.randrange(600), rng.randrange(440), rng.randrange(5, 60), rng.randrange(20, 90))
                 for _ in range(rng.randrange(1, 12))]
        groups = group_numbers(boxes)
        flat = sorted(i for g in groups for i in g)
        assert flat == list(range(len(boxes)))
        for g in groups:
            xs = [boxes[i][0] for i in g]
            assert xs == sorted(xs)
