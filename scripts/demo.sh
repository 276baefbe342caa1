#!/usr/bin/env bash
# The main job on the embedded default, on a fresh machine: install the edge runtime only (no
# TensorFlow, as on a Raspberry Pi) and read the numbers in the shipped sample clip with the
# shipped int8 model. Extra arguments go to `mnist-edge run` (e.g. --json, --save out.mp4).
# The install runs only the first time and after pyproject.toml changes (scripts/venv.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
. scripts/venv.sh
ensure_venv .venv-edge -e '.[edge]'
exec .venv-edge/bin/mnist-edge run "$@"
