"""The classes of real scenes that the shipped reader used to fail on (issue: real photos), one generated frame
each, made of real MNIST test digits; and the real photos themselves when ../shared is beside the repository.

Each frame is built here, in a few lines, so that what the test asks of the reader is plain to see. The
digits are picked from the committed subset among those the shipped model reads right on their own, so a
failure is the scene's (detection, grouping, rejection), not a hard MNIST digit's.
"""
from __future__ import annotations

import json
import math
import struct
import subprocess
import sys

import cv2
import numpy as np
import pytest

from conftest import REPO, run_cli
from mnist_edge.edge_runtime.pipeline import DigitReader, rotate_frame, shipped_model
from mnist_edge.edge_runtime.sources import read_image

pytestmark = pytest.mark.edge

REAL_PHOTOS = REPO.parent / "shared" / "data" / "realphotos"


@pytest.fixture(scope="module")
def reader():
    return DigitReader(shipped_model("cnn_int8"))


@pytest.fixture(scope="module")
def glyphs(subset, reader):
    """digit → a few MNIST test images of it that the shipped model reads right with confidence ≥ 0.95."""
    images, labels = subset
    probabilities = reader.classifier.predict(images.astype(np.float32) / 255.0)
    good = (probabilities.argmax(1) == labels) & (probabilities.max(1) >= 0.95)
    return {d: images[(labels == d) & good][:5] for d in range(10)}


def paper(h: int = 480, w: int = 640, level: int = 215, gradient: float = 0.25, colour=(1.0, 1.0, 1.0)):
    """A sheet of paper lit from one side: level at the bright edge, (1 - gradient) x level at the other."""
    ramp = np.linspace(1.0, 1.0 - gradient, w, dtype=np.float32)[None, :, None]
    sheet = np.ones((h, w, 3), np.float32) * level * ramp * np.array(colour, np.float32)
    noise = np.random.default_rng(0).normal(0, 2.0, sheet.shape).astype(np.float32)
    return sheet + noise


def write(sheet: np.ndarray, glyph: np.ndarray, x: int, y: int, height: int, ink=(30, 30, 30),
          strength: float = 1.0, stroke: int = 0, angle: float = 0.0) -> tuple[int, int, int, int]:
    """Write one MNIST digit (white on black 28x28) on the sheet in `ink` (BGR); returns its ink box."""
    scale = height / 20.0  # MNIST digits are 20 px tall in their 28x28 field
    size = int(round(28 * scale))
    alpha = cv2.resize(glyph, (size, size), interpolation=cv2.INTER_LINEAR).astype(np.float32) / 255.0
    if stroke > 0:
        alpha = cv2.dilate(alpha, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (stroke, stroke)))
    elif stroke < 0:
        alpha = cv2.erode(alpha, np.ones((-stroke, -stroke), np.uint8))
    if angle:
        m = cv2.getRotationMatrix2D((size / 2, size / 2), angle, 1.0)
        alpha = cv2.warpAffine(alpha, m, (size, size))
    # (x, y) is the top left of the digit's 20x20 box; its 28x28 field may stick out of the sheet.
    x0, y0 = x - int(4 * scale), y - int(4 * scale)
    sy, sx = max(0, -y0), max(0, -x0)
    region = sheet[y0 + sy:y0 + size, x0 + sx:x0 + size]
    a = (np.clip(alpha, 0, 1) * strength)[sy:sy + region.shape[0], sx:sx + region.shape[1], None]
    region[:] = region * (1 - a) + np.array(ink, np.float32) * a
    bx, by, bw, bh = cv2.boundingRect((alpha > 0.3).astype(np.uint8))
    return x0 + bx, y0 + by, bw, bh


def number(sheet, glyphs, text: str, x: int, y: int, height: int, gap: float = 0.25, seed: int = 0, **kw):
    """Write `text` left to right, `gap` digit heights between the inks; each digit a different MNIST image;
    returns the ink boxes."""
    rng = np.random.default_rng(seed)
    boxes = []
    for ch in text:
        options = glyphs[int(ch)]
        glyph = options[rng.integers(len(options))]
        if boxes:
            # `gap` is between the inks: a 1 sits in the middle of its 20x20 box, so the box goes where its
            # ink starts gap x height after the previous digit's (write() places the box, at x).
            first_column = int(np.flatnonzero(glyph.max(axis=0) > 0.3 * 255)[0])
            x = boxes[-1][0] + boxes[-1][2] + int(gap * height) + int((4 - first_column) * height / 20.0)
        boxes.append(write(sheet, glyph, x, y, height, **kw))
    return boxes


def frame_of(sheet: np.ndarray) -> np.ndarray:
    return np.clip(sheet, 0, 255).astype(np.uint8)


def read(reader: DigitReader, frame: np.ndarray) -> list[str]:
    return [n.text for n in reader.read(frame)]


def test_large_digits_filling_the_frame(reader, glyphs):
    # Paper held close to the camera: digits 54 % and 83 % of the frame tall (were dropped above 45 %).
    sheet = paper()
    number(sheet, glyphs, "38", 60, 100, 260, gap=0.1, stroke=9)
    assert read(reader, frame_of(sheet)) == ["38"]
    sheet = paper()
    number(sheet, glyphs, "4", 150, 40, 400, stroke=11)
    assert read(reader, frame_of(sheet)) == ["4"]


def test_small_digits_on_a_large_photo(reader, glyphs):
    # A 12 MP-like phone photo scaled to 3000x2250: digits 4 % of its height.
    sheet = paper(2250, 3000)
    number(sheet, glyphs, "4715", 1200, 1000, 90, stroke=5)
    assert read(reader, frame_of(sheet)) == ["4715"]


def test_thin_faint_strokes_in_dim_light(reader, glyphs):
    # A thin ballpoint (strokes eroded to ~1.5 px) at 45 % contrast on paper lit at 40 % (a dim room).
    sheet = paper(level=95)
    number(sheet, glyphs, "135790", 60, 200, 48, gap=0.7, ink=(55, 55, 55), stroke=-2)
    assert "".join(read(reader, frame_of(sheet))) == "135790"


def test_coloured_ink_on_coloured_paper(reader, glyphs):
    # Red marker on white, blue ballpoint on yellow paper: gray conversion alone loses most of the contrast.
    red = paper()
    number(red, glyphs, "2468", 80, 150, 70, ink=(60, 60, 215))
    blue_on_yellow = paper(colour=(0.35, 0.95, 1.0))
    number(blue_on_yellow, glyphs, "9753", 80, 150, 70, ink=(150, 60, 40))
    assert read(reader, frame_of(red)) == ["2468"]
    assert read(reader, frame_of(blue_on_yellow)) == ["9753"]


def test_lines_written_close_together(reader, glyphs):
    # Three rows of five digits with only 0.15 digit heights between the rows.
    sheet = paper()
    for k, text in enumerate(("88888", "66666", "77777")):
        number(sheet, glyphs, text, 120, 100 + k * 69, 60, gap=0.35, seed=k)
    assert read(reader, frame_of(sheet)) == ["88888", "66666", "77777"]


def test_pooled_pass_defers_to_the_detailed_pass_where_lines_touch(glyphs):
    """The coarse pooled pass reads an ordinary frame itself; where lines written close together touch at its
    scale (a mark of several digit-high pieces, much taller than the digits), the frame is read in detail."""
    from dataclasses import replace

    from mnist_edge.edge_runtime.detect import DetectConfig, locate_digits

    detailed = replace(DetectConfig(), pooled_pass=False)
    one_line = paper()
    number(one_line, glyphs, "4096", 120, 200, 60, gap=0.35)
    marks = locate_digits(frame_of(one_line))
    assert marks.f == 0.5 and len(marks) == 4  # pooled: 320x240 for 640x480
    assert locate_digits(frame_of(one_line), detailed).f == 0.75
    close = paper()
    for k, text in enumerate(("88888", "66666", "77777")):
        number(close, glyphs, text, 120, 100 + k * 69, 60, gap=0.35, seed=k)
    marks, reference = locate_digits(frame_of(close)), locate_digits(frame_of(close), detailed)
    assert marks.f == 0.75 and [m[0] for m in marks.marks] == [m[0] for m in reference.marks]


def test_grid_paper(reader, glyphs):
    # Digits written one per cell group on squared paper with grey-blue lines every 0.6 digit heights.
    sheet = paper()
    step = 30
    for v in range(0, 640, step):
        cv2.line(sheet, (v, 0), (v, 479), (190, 170, 160), 1)
    for v in range(0, 480, step):
        cv2.line(sheet, (0, v), (639, v), (190, 170, 160), 1)
    for k, d in enumerate("2583"):
        number(sheet, glyphs, d, 70 + k * 140, 200, 50, seed=k, ink=(120, 40, 30))
    assert read(reader, frame_of(sheet)) == ["2", "5", "8", "3"]


def test_form_fields_in_printed_boxes(reader, glyphs):
    # A form's field: a row of printed boxes, a digit written in each (the 8 touching a wall), the last box
    # empty. The boxes read as 0s and, merged with the digits they held, hid them ("0005 8 6 03").
    sheet = paper()
    for k, d in enumerate("86523 "):
        x = 100 + k * 80
        cv2.rectangle(sheet, (x - 8, 188), (x + 60, 262), (60, 60, 60), 2)
        if d != " ":
            write(sheet, glyphs[int(d)][0], x + 10, 200, 50)
    frame = frame_of(sheet)
    assert "".join(read(reader, frame)) == "86523"
    # The form photographed a little askew.
    tilted = cv2.warpAffine(frame, cv2.getRotationMatrix2D((320, 240), 2.5, 1.0), (640, 480),
                            borderMode=cv2.BORDER_REPLICATE)
    assert "".join(read(reader, tilted)) == "86523"


def on_a_line(glyphs, text: str = "45790", y: int = 258) -> np.ndarray:
    """`text` written on a printed line at row y, which the 7's and the 9's tails touch."""
    sheet = paper()
    for k, d in enumerate(text):
        write(sheet, glyphs[int(d)][1], 110 + k * 80, 200, 50)
    cv2.line(sheet, (90, y), (90 + 80 * len(text), y), (60, 60, 60), 2)
    return sheet


def test_digits_whose_tails_touch_the_line_they_are_written_on(reader, glyphs):
    # Written on a ruled line (or underlined): line and digits were one mark, rejected as a line ("4 5 0").
    assert "".join(read(reader, frame_of(on_a_line(glyphs)))) == "45790"


@pytest.mark.parametrize("height", [0.3, 0.5])
def test_a_ruled_line_through_the_digits(reader, glyphs, height):
    # Digits written across a ruled line, which runs through them 30 % or 50 % down (read as nothing before;
    # taken out without the crossings, the halves read as digits of their own).
    sheet = paper()
    for k, d in enumerate("86523"):
        write(sheet, glyphs[int(d)][1], 110 + k * 70, 200, 50)
    cv2.line(sheet, (60, int(200 + height * 50)), (580, int(200 + height * 50)), (60, 60, 60), 2)
    assert "".join(read(reader, frame_of(sheet))) == "86523"


def test_lined_paper_with_dark_rulings(reader, glyphs):
    # A notebook page ruled every 0.6 digit heights in dark grey: every digit crosses one or two rulings, all
    # joined into one mark (read as nothing before).
    sheet = paper()
    for y in range(20, 480, 30):
        cv2.line(sheet, (0, y), (639, y), (120, 110, 100), 1)
    for k, d in enumerate("86523"):
        write(sheet, glyphs[int(d)][1], 110 + k * 70, 195, 50)
    assert "".join(read(reader, frame_of(sheet))) == "86523"


def test_comb_field(reader, glyphs):
    # A comb field (a baseline with a tick between the digits' places): the ticks standing on the baseline are
    # printed, not 1s; the digits touching it are read ("4590": the 7 was lost with the comb).
    sheet = on_a_line(glyphs, y=260)
    for k in range(6):
        cv2.line(sheet, (90 + k * 80, 260), (90 + k * 80, 235), (60, 60, 60), 2)
    assert "".join(read(reader, frame_of(sheet))) == "45790"


def test_long_tails(reader, glyphs):
    # A 9 and a 7 whose tails run 60 % of a digit height below the baseline, between ordinary digits.
    sheet = paper()
    boxes = number(sheet, glyphs, "4974", 100, 150, 80, gap=0.3)
    for k in (1, 2):  # the 9 and the 7: their downstroke goes on below the line
        x, y, w, h = boxes[k]
        glyph_ink = (frame_of(sheet)[y:y + h, x:x + w].min(axis=2) < 120).astype(np.uint8)
        ys, xs = np.nonzero(glyph_ink[int(0.7 * h):])
        bottom = (x + int(xs[np.argmax(ys)]), y + int(0.7 * h) + int(ys.max()))  # the stroke's lowest point
        cv2.line(sheet, bottom, (bottom[0] - 8, y + int(1.6 * h)), (30, 30, 30), 7)
    assert read(reader, frame_of(sheet)) == ["4974"]


@pytest.mark.parametrize("degrees", [-35, 30])
def test_slanted_line(reader, glyphs, degrees):
    # A number written along a line at 30-35°: it stays one number, in order.
    sheet = paper()
    angle = math.radians(degrees)
    x, y = 80, 300 if degrees < 0 else 60
    rng = np.random.default_rng(1)
    for ch in "237845":
        options = glyphs[int(ch)]
        write(sheet, options[rng.integers(len(options))], int(x), int(y), 60, angle=0)
        x += 72 * math.cos(angle)
        y += 72 * math.sin(angle)
    assert read(reader, frame_of(sheet)) == ["237845"]


def test_touching_digits(reader, glyphs):
    # Two pairs of digits written so close that their strokes touch.
    sheet = paper()
    boxes = number(sheet, glyphs, "0", 200, 180, 80, stroke=5)
    write(sheet, glyphs[6][0], boxes[0][0] + boxes[0][2] - 6, 180, 80, stroke=5)
    result = reader.process(frame_of(sheet))
    assert "".join(d and str(d.digit) for d in result.digits) == "06"


def test_a_rejection_in_the_coarse_reading_sends_the_frame_to_the_detailed_pass(reader, glyphs):
    """DigitReader reads a frame in detail when the pooled pass's reading rejects a candidate; otherwise the
    pooled reading stands."""
    from dataclasses import replace

    from mnist_edge.edge_runtime.detect import DetectConfig, locate_digits

    detailed = DigitReader(shipped_model("cnn_int8"), detect_config=replace(DetectConfig(), pooled_pass=False))
    plain = paper()
    number(plain, glyphs, "4096", 120, 200, 60, gap=0.35)
    with_word = paper()
    number(with_word, glyphs, "4096", 120, 300, 60, gap=0.35)
    with_word = frame_of(with_word)
    cv2.putText(with_word, "What is OCR?", (40, 100), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 2.2, (30, 30, 30), 4)
    cv2.putText(with_word, "hello camera", (40, 200), cv2.FONT_HERSHEY_SCRIPT_COMPLEX, 2.0, (40, 30, 30), 3)
    for frame, rejects in ((frame_of(plain), False), (with_word, True)):
        marks = locate_digits(frame)
        assert marks.pooled
        assert (reader._read(marks, [0.0, 0.0])[2] > 0) == rejects
        result = reader.process(frame)
        expected = detailed.process(frame) if rejects else result
        assert [n.text for n in result.numbers] == [n.text for n in expected.numbers] == ["4096"]
        assert [d.box for d in result.digits] == [d.box for d in expected.digits]
    assert [d.box for d in reader.process(frame_of(plain)).digits] != \
        [d.box for d in detailed.process(frame_of(plain)).digits], "the plain frame should be the pooled pass's"


def test_words_are_not_digits(reader):
    # Handwriting-like words (OpenCV's script font) and a printed line: no digits in them.
    sheet = frame_of(paper())
    cv2.putText(sheet, "What is OCR?", (40, 140), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 2.2, (30, 30, 30), 4)
    cv2.putText(sheet, "hello camera", (40, 280), cv2.FONT_HERSHEY_SCRIPT_COMPLEX, 2.0, (40, 30, 30), 3)
    cv2.putText(sheet, "Reading meters", (40, 400), cv2.FONT_HERSHEY_SIMPLEX, 1.6, (30, 30, 30), 3)
    digits = reader.process(sheet).digits
    assert len(digits) <= 1, [(d.digit, round(d.confidence, 2)) for d in digits]


def _with_exif_orientation(jpeg: bytes, orientation: int) -> bytes:
    """The same JPEG with an EXIF APP1 segment that holds only the orientation tag (0x0112)."""
    ifd = struct.pack("<H", 1) + struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack("<I", 0)
    tiff = b"II*\x00" + struct.pack("<I", 8) + ifd
    payload = b"Exif\x00\x00" + tiff
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def test_exif_orientation_is_applied(tmp_path, glyphs):
    # Phones store a portrait photo as landscape pixels plus EXIF orientation 6 ("turn 90° clockwise").
    sheet = paper()
    number(sheet, glyphs, "5170", 150, 180, 80)
    upright = frame_of(sheet)
    stored = cv2.rotate(upright, cv2.ROTATE_90_COUNTERCLOCKWISE)
    ok, jpeg = cv2.imencode(".jpg", stored, [cv2.IMWRITE_JPEG_QUALITY, 95])
    path = tmp_path / "portrait.jpg"
    path.write_bytes(_with_exif_orientation(jpeg.tobytes(), 6))
    assert read_image(path).shape == upright.shape
    result = run_cli("run", "--source", str(path), "--json")
    assert result.returncode == 0, result.stderr
    assert [n["text"] for n in json.loads(result.stdout)["numbers"]] == ["5170"]


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_rotate_turns_a_sideways_camera_upright(tmp_path, glyphs, degrees):
    sheet = paper()
    number(sheet, glyphs, "2904", 150, 180, 80)
    upright = frame_of(sheet)
    # What a camera mounted turned by `degrees` sees: the scene turned back by as much.
    sideways = rotate_frame(upright, (360 - degrees) % 360)
    path = tmp_path / "sideways.png"
    cv2.imwrite(str(path), sideways)
    result = run_cli("run", "--source", str(path), "--json", "--rotate", str(degrees))
    assert result.returncode == 0, result.stderr
    assert [n["text"] for n in json.loads(result.stdout)["numbers"]] == ["2904"]
    assert DigitReader(shipped_model("cnn_int8"), rotate=degrees).read(sideways)[0].text == "2904"


def test_rotate_rejects_other_angles():
    with pytest.raises(ValueError, match="rotate"):
        DigitReader(rotate=45)
    result = run_cli("run", "--rotate", "45")
    assert result.returncode == 2 and "--rotate" in result.stderr


@pytest.fixture(scope="module")
def real_photo_scores(tmp_path_factory):
    if not (REAL_PHOTOS / "truth.json").is_file():
        pytest.skip(f"the real photos are not here ({REAL_PHOTOS}); they are never copied into the project")
    out = tmp_path_factory.mktemp("real") / "read.jsonl"
    result = run_cli("run", "--source", str(REAL_PHOTOS), "--json")
    assert result.returncode == 0, result.stderr
    out.write_text(result.stdout)
    scored = subprocess.run([sys.executable, str(REAL_PHOTOS / "score.py"), str(out), "--quiet"],
                            capture_output=True, text=True, check=True)
    return json.loads(scored.stdout.strip().splitlines()[-1])


def test_real_photos_meet_the_targets(real_photo_scores):
    # The targets on the photos not stored rotated (score.py's "main" set) and the negatives.
    main, clear, negatives = real_photo_scores["main"], real_photo_scores["clear"], real_photo_scores["negatives"]
    assert main["found"] >= 0.95, main
    assert main["string_acc"] >= 0.93, main
    assert main["precision"] >= 0.97, main
    assert clear["strict"] >= 0.90, clear
    assert negatives["false_digits"] / negatives["images"] <= 0.5, negatives
