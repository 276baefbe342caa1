#!/usr/bin/env bash
# Set up and run the whole test suite on a fresh machine:
#   .venv       everything (TensorFlow for train/convert, the edge runtime, benchmarks, tests)
#   .venv-edge  only the `edge` extra, as on a Raspberry Pi: proves the runtime needs no TensorFlow
# Extra arguments go to the main pytest run (e.g. -m "not slow", -k loader).
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

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q -e '.[dev]'
echo "== full environment: pytest" >&2
.venv/bin/python -m pytest "$@"
