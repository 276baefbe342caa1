#!/usr/bin/env bash
# Set up and run the whole test suite on a fresh machine:
#   .venv         everything (TensorFlow for train/convert, the edge runtime, benchmarks, tests)
#   .venv-edge    only the `edge` extra, as on a Raspberry Pi: proves the runtime needs no TensorFlow
#   .venv-tflite  tflite-runtime + NumPy 1.x instead (Python 3.11 only): the other interpreter works
# Every environment runs even if one fails; the last line gives each one's counts and PASSED/FAILED, in
# pytest's closing-line form, and the exit status is non-zero if any failed.
# Extra arguments go to the main pytest run (e.g. -k loader, -x).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
. scripts/venv.sh

if [ -z "${MNIST_DIR:-}" ] && [ -d ../shared/data/mnist ]; then
    MNIST_DIR="$(cd ../shared/data/mnist && pwd)"
    export MNIST_DIR
fi

declare -a SUMMARY=()
FAILED=0
TOTALS=$(mktemp)
trap 'rm -f "$TOTALS"' EXIT

# run_env NAME PYTHON PYTEST-ARGS...: pytest in one environment; records its closing line's counts.
run_env() {
    local name=$1 python=$2
    shift 2
    echo "== $name: pytest $*" >&2
    local log status counts
    log=$(mktemp)
    set +e
    "$python" -m pytest -p no:cacheprovider "$@" 2>&1 | tee "$log"
    status=${PIPESTATUS[0]}
    set -e
    # "===== 120 passed, 3 skipped in 50.1s =====" (or, with -q, the same without the rules) → "120 passed,
    # 3 skipped"; no such line (pytest crashed) leaves counts empty rather than ending the script.
    counts=$(grep -E '^(=+ )?[0-9]+ (passed|failed|error|errors|skipped|deselected)|no tests ran' "$log" \
             | tail -n 1 | sed -E 's/^=+ //; s/ =+$//; s/ in [0-9.]+s.*$//' || true)
    rm -f "$log"
    if [ "$status" -eq 0 ]; then
        SUMMARY+=("$name PASSED (${counts:-no summary})")
    else
        SUMMARY+=("$name FAILED (${counts:-pytest exited $status})")
        FAILED=1
    fi
    echo "$counts" | grep -oE '[0-9]+ [a-z]+' >> "$TOTALS" || true
}

ensure_venv .venv-edge -e '.[edge,test]'
if .venv-edge/bin/python -c 'import tensorflow' 2>/dev/null; then
    echo "test.sh: .venv-edge has TensorFlow installed; the edge extra must not pull it in" >&2
    SUMMARY+=("edge FAILED (TensorFlow installed)")
    FAILED=1
else
    run_env edge .venv-edge/bin/python -q -m edge
fi

# tflite-runtime instead of LiteRT, with NumPy 1.x and an OpenCV that accepts it: the combination a
# Raspberry Pi OS Bookworm user keeps beside the system's picamera2. Its wheels stop at Python 3.11.
# The rest of the edge extra by hand (--no-deps below keeps ai-edge-litert out): paho-mqtt for --mqtt.
if "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    ensure_venv .venv-tflite 'tflite-runtime==2.14.*' 'numpy<2' 'opencv-python-headless<4.12' 'paho-mqtt>=2' \
        'pytest>=8'
    ensure_venv .venv-tflite --no-deps -e .
    run_env tflite-runtime .venv-tflite/bin/python -q -m edge
fi

ensure_venv .venv -e '.[dev]'
run_env full .venv/bin/python "$@"

# One closing line: the totals over every environment, then each one's verdict.
totals=$(awk '{n[$2] += $1} END {sep = ""; split("failed passed skipped deselected xfailed xpassed error errors warnings", order)
             for (i = 1; i in order; i++) if (order[i] in n) {printf "%s%d %s", sep, n[order[i]], order[i]; sep = ", "}}' "$TOTALS")
verdict=$([ "$FAILED" -eq 0 ] && echo PASSED || echo FAILED)
joined=$(printf '%s; ' "${SUMMARY[@]}")
echo "==================== ${totals:-0 passed} in ${#SUMMARY[@]} environments, $verdict: ${joined%; } ===================="
exit "$FAILED"
