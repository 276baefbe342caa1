"""The flatbuffer bounds check that keeps a truncated model from crashing tflite-runtime."""
import pytest

from mnist_edge.edge_runtime.pipeline import shipped_model
from mnist_edge.edge_runtime.tflite_check import check_tflite

pytestmark = pytest.mark.edge


@pytest.mark.parametrize("name", ["cnn_int8", "cnn_float32", "mlp_int8"])
def test_shipped_models_pass(name):
    check_tflite(shipped_model(name).read_bytes())


@pytest.mark.parametrize("name", ["cnn_int8", "mlp_int8"])
def test_every_truncation_is_rejected(name):
    data = shipped_model(name).read_bytes()
    step = max(1, len(data) // 300)
    for cut in range(0, len(data), step):
        with pytest.raises(ValueError):
            check_tflite(data[:cut])


@pytest.mark.parametrize("data,message", [
    (b"", "no TFL3 identifier"),
    (b"\x00" * 64, "no TFL3 identifier"),
    (b"\x10\x00\x00\x00TFL3" + b"\xff" * 56, "outside the file|bad flatbuffer vtable"),
])
def test_garbage_is_rejected(data, message):
    with pytest.raises(ValueError, match=message):
        check_tflite(data)


def test_out_of_range_root_offset():
    data = bytearray(shipped_model("mlp_int8").read_bytes())
    data[0:4] = (len(data) + 100).to_bytes(4, "little")
    with pytest.raises(ValueError, match="outside the file"):
        check_tflite(bytes(data))
