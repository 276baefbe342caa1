"""The reader reads what it read before: boxes, digits and numbers on fixed frames vs tests/data/golden_reader.json.

A faster reader must pass this unchanged. When the reader is meant to read differently (a new detector,
a retrained model), regenerate the golden file with one command and say why in the commit:

    .venv/bin/python tests/data/make_golden_reader.py

Digits, their order and the numbers must match exactly; boxes within BOX_TOLERANCE pixels and
confidences within CONFIDENCE_TOLERANCE (UNSURE_TOLERANCE for digits read with little confidence). A frame is compared only where its pixels are the golden run's:
another OpenCV renders the synthetic frames differently (4.11 vs 5.0: every one of the 40 differs, JPEG
re-encoding), and the same answers are asked of the same input. The one-pass reader read the 4.11 classic
frames alike anyway; the coarse-to-fine one reads 2 of the 24 differently there (two frames with hair-line
page edges, where a false 1 comes or goes), so under such an OpenCV the test is skipped with that reason.
"""
import json
import sys
from pathlib import Path

import cv2
import pytest

pytestmark = pytest.mark.edge

sys.path.insert(0, str(Path(__file__).parent / "data"))
import make_golden_reader as golden_helper  # noqa: E402

BOX_TOLERANCE = 2          # pixels, per coordinate
CONFIDENCE_TOLERANCE = 0.1
# A digit read with little confidence swings with small differences: the same frame pixels gave a 4 0.559 on
# x86-64 and 0.765 on aarch64 (the arm64 check, under qemu; whether the crop or the int8 inference differs was
# not traced). Below this golden confidence, UNSURE_TOLERANCE.
UNSURE, UNSURE_TOLERANCE = 0.9, 0.25


def _close(a, b, tolerance):
    return all(abs(x - y) <= tolerance for x, y in zip(a, b))


def test_reader_matches_the_golden_file():
    golden = json.loads(golden_helper.GOLDEN.read_text())
    assert (golden["seed"], golden["frames"], golden.get("scenes", [])) == \
        (golden_helper.SEED, golden_helper.FRAMES, list(golden_helper.SCENES)), \
        "golden_reader.json is stale: regenerate it with python tests/data/make_golden_reader.py"
    frames = golden_helper.golden_frames()
    current = golden_helper.read_frames(frames)
    assert sum(len(r["digits"]) for r in golden["results"]) > 3 * len(frames), "the golden frames hold few digits"
    same_input = [golden_helper.frame_digest(f) == d for f, d in zip(frames, golden["frame_sha256"])]
    if not any(same_input):
        pytest.skip(f"OpenCV {cv2.__version__} renders the golden frames differently from the golden run's "
                    "(none of their pixels match): the same answers are asked of the same input only")
    problems = []
    for i, (now, then) in enumerate(zip(current, golden["results"])):
        if not same_input[i]:
            continue
        texts_now, texts_then = [n["text"] for n in now["numbers"]], [n["text"] for n in then["numbers"]]
        digits_now, digits_then = [d["digit"] for d in now["digits"]], [d["digit"] for d in then["digits"]]
        if texts_now != texts_then or digits_now != digits_then:
            problems.append(f"frame {i}: numbers {texts_now} (golden {texts_then}), digits {digits_now} "
                            f"(golden {digits_then})")
            continue
        for d_now, d_then in zip(now["digits"], then["digits"]):
            if not _close(d_now["box"], d_then["box"], BOX_TOLERANCE):
                problems.append(f"frame {i}: digit {d_now['digit']} box {d_now['box']} (golden {d_then['box']})")
            tolerance = CONFIDENCE_TOLERANCE if d_then["confidence"] >= UNSURE else UNSURE_TOLERANCE
            if abs(d_now["confidence"] - d_then["confidence"]) > tolerance:
                problems.append(f"frame {i}: digit {d_now['digit']} confidence {d_now['confidence']} "
                                f"(golden {d_then['confidence']})")
        for n_now, n_then in zip(now["numbers"], then["numbers"]):
            if not _close(n_now["box"], n_then["box"], BOX_TOLERANCE):
                problems.append(f"frame {i}: number {n_now['text']} box {n_now['box']} (golden {n_then['box']})")
    assert not problems, ("the reader reads differently from tests/data/golden_reader.json (regenerate it only "
                          "if that is intended: python tests/data/make_golden_reader.py):\n" + "\n".join(problems))
