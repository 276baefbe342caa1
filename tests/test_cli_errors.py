"""Bad input on the command line: exactly one stderr line `mnist-edge <cmd>: error: …` and the documented
exit code (README, "Exit codes"): 2 for a mistake in the command line, 1 for a failure while running.
Also: a default run keeps the interpreter's own INFO lines off stderr; -v shows them."""
from __future__ import annotations

import importlib.util

import pytest

from conftest import run_cli

pytestmark = pytest.mark.edge

USAGE, FAILED = 2, 1
HAS_TENSORFLOW = importlib.util.find_spec("tensorflow") is not None

# (arguments, exit code, a fragment of the one error line)
BAD_ARGUMENTS = [
    (["run", "--bogus"], USAGE, "mnist-edge run: error: unrecognized arguments: --bogus"),
    (["run", "--max-frames", "0"], USAGE, "mnist-edge run: error: argument --max-frames: must be > 0"),
    (["run", "--min-confidence", "2"], USAGE, "mnist-edge run: error: argument --min-confidence: must be in [0, 1]"),
    (["run", "--min-confidence", "high"], USAGE, "expected a number in [0, 1]"),
    (["run", "--roi", "1,2,3"], USAGE, "mnist-edge run: error: argument --roi: expected x,y,w,h"),
    (["run", "--roi", "0,0,0,10"], USAGE, "w,h > 0"),
    (["run", "--threads", "0"], USAGE, "argument --threads: must be > 0"),
    (["run", "--serve", "localhost:http"], USAGE, "expected [HOST:]PORT"),
    (["run", "--backend", "onnx"], USAGE, "argument --backend: invalid choice"),
    (["run", "--save", "out.gif"], USAGE, "argument --save: use a .mp4 or .avi file name"),
    (["train", "--arch", "resnet"], USAGE, "mnist-edge train: error: argument --arch: invalid choice"),
    (["train", "--epochs", "0"], USAGE, "mnist-edge train: error: argument --epochs: must be > 0"),
    (["convert", "m.keras", "--calibration-samples", "5"], USAGE, "must be at least 10"),
    (["convert"], USAGE, "mnist-edge convert: error: the following arguments are required: model"),
    (["bench", "--threads", "0"], USAGE, "mnist-edge bench: error: argument --threads: must be > 0"),
    ([], USAGE, "mnist-edge: error: the following arguments are required: COMMAND"),
    (["run", "--model", "nope.tflite"], FAILED, "mnist-edge run: error: model not found: nope.tflite"),
    (["run", "--source", "missing.mp4"], FAILED, "mnist-edge run: error: source not found: missing.mp4"),
    (["run", "--source", "95"], FAILED, "cannot open camera or stream 95"),
    (["run", "--roi", "5000,5000,10,10"], FAILED, "--roi 5000,5000,10,10 lies entirely outside the 640x480 frame"),
    (["bench", "--models", "models/*.tflite"], FAILED, "scripts/make_models.sh"),
    pytest.param(["train", "--epochs", "1"], FAILED, "pip install '.[train]'",
                 marks=pytest.mark.skipif(HAS_TENSORFLOW, reason="only an install without TensorFlow lacks it")),
    pytest.param(["convert", "m.keras"], FAILED, "pip install '.[train]'",
                 marks=pytest.mark.skipif(HAS_TENSORFLOW, reason="only an install without TensorFlow lacks it")),
]


@pytest.mark.parametrize("args,code,fragment", BAD_ARGUMENTS)
def test_bad_arguments_give_one_line_and_the_documented_code(args, code, fragment, tmp_path):
    result = run_cli(*args, timeout=120, cwd=tmp_path)
    lines = result.stderr.splitlines()
    assert result.returncode == code, result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("mnist-edge") and ": error: " in lines[0], lines[0]
    assert fragment in lines[0], lines[0]
    assert result.stdout == ""


def test_default_run_prints_no_interpreter_info_lines_and_verbose_does():
    quiet = run_cli("run", "--max-frames", "2")
    assert quiet.returncode == 0, quiet.stderr
    assert not [line for line in quiet.stderr.splitlines() if line.startswith("INFO:")], quiet.stderr
    assert quiet.stderr.splitlines()[-1].startswith("mnist-edge: 2 frames")
    verbose = run_cli("run", "--max-frames", "2", "-v")
    assert verbose.returncode == 0 and verbose.stdout == quiet.stdout
    from mnist_edge.edge_runtime.backend import load_backend

    if load_backend().name == "litert":  # LiteRT announces its XNNPACK delegate; -v lets it through
        assert "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." in verbose.stderr.splitlines()


def test_json_source_is_the_file_name_for_videos_and_images(tmp_path):
    import json

    import cv2

    from mnist_edge import sample_clip

    video = run_cli("run", "--json", "--max-frames", "1")
    assert json.loads(video.stdout.splitlines()[0])["source"] == "sample.avi"
    capture = cv2.VideoCapture(str(sample_clip()))
    ok, frame = capture.read()
    capture.release()
    assert ok and cv2.imwrite(str(tmp_path / "page.png"), frame)
    image = run_cli("run", "--json", "--source", str(tmp_path / "page.png"))
    assert json.loads(image.stdout.splitlines()[0])["source"] == "page.png"


def test_classifier_takes_a_shipped_model_by_name():
    from mnist_edge import Classifier, shipped_model

    assert Classifier("cnn_int8.tflite").model_path == shipped_model("cnn_int8")
    assert Classifier("cnn_float32").model_path == shipped_model("cnn_float32")
    with pytest.raises(FileNotFoundError, match="nor a shipped model: cnn_float32, cnn_int8, cnn_micro_int8, mlp_int8"):
        Classifier("cnn_int7.tflite")
