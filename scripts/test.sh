#!/usr/bin/env bash
# Set up and run the whole test suite on a fresh machine:
#   .venv       everything (TensorFlow for train/convert, the edge runtime, benchmarks, tests)
#   .venv-edge  only the `edge` extra, as on a Raspberry Pi: proves the runtime needs no TensorFlow
#   .venv-tflite  tflite-runtime + NumPy 1.x instead (Python 3.11 only): the other interpreter works
# Extra arguments go to the main pytest run (e.g. -k loader, -x).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

if [ -z "${MNIST_DIR:-}" ] && [ -d ../shared/data/mnist ]; then
    MNIST_DIR="$(cd ../shared/data/mnist && pwd)"
    export MNIST_DIR
fi

[ -x .venv-edge/bin/python ] || "$PYTHON" -m venv .venv-edge
.venv-edge/bin/python -m pip install -q -e '.[edge,test]'
if .venv-edge/bin/python -c 'import tensorflow' 2>/dev/null; then
    echo "test.sh: .venv-edge has TensorFlow installed; the edge extra must not pull it in" >&2
    exit 1
fi
echo "== edge-only environment (no TensorFlow): pytest -m edge" >&2
.venv-edge/bin/python -m pytest -q -m edge -p no:cacheprovider

# tflite-runtime instead of LiteRT, with NumPy 1.x and an OpenCV that accepts it: the combination a
# Raspberry Pi OS Bookworm user keeps beside the system's picamera2. Its wheels stop at Python 3.11.
if "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    [ -x .venv-tflite/bin/python ] || "$PYTHON" -m venv .venv-tflite
    .venv-tflite/bin/python -m pip install -q 'tflite-runtime==2.14.*' 'numpy<2' 'opencv-python-headless<4.12' 'pytest>=8'
    .venv-tflite/bin/python -m pip install -q --no-deps -e .
    echo "== tflite-runtime, NumPy 1.x, OpenCV 4.11 (no LiteRT, no TensorFlow): pytest -m edge" >&2
    .venv-tflite/bin/python -m pytest -q -m edge -p no:cacheprovider
fi

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q -e '.[dev]'
echo "== full environment: pytest" >&2
.venv/bin/python -m pytest "$@"
