#!/usr/bin/env bash
# Regenerate the models shipped in edge_runtime/assets/ with the project's own commands.
# Needs the train and micro extras (the dev extra has both) and MNIST (MNIST_DIR or --data-dir).
# About 25 minutes on 2 cores.
#   MNIST_DIR=../shared/data/mnist scripts/make_models.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-models}
MNIST_EDGE=${MNIST_EDGE:-mnist-edge}

"$MNIST_EDGE" train --arch cnn --seed 0 --out "$OUT"                  # defaults: 15 epochs, batch 128, augmentation on
"$MNIST_EDGE" train --arch mlp --epochs 5 --seed 0 --out "$OUT"       # the notebook's model and recipe
"$MNIST_EDGE" train --arch cnn-micro --seed 0 --out "$OUT"            # microcontrollers: 20 epochs, batch 128
"$MNIST_EDGE" convert "$OUT/cnn.keras" --quant float32 float16 dynamic int8 --out "$OUT"
"$MNIST_EDGE" convert "$OUT/mlp.keras" --quant float32 float16 dynamic int8 --out "$OUT"
"$MNIST_EDGE" convert "$OUT/cnn_micro.keras" --quant float32 int8 --out "$OUT"

for variant in cnn_int8 cnn_float32 mlp_int8 cnn_micro_int8; do
    cp "$OUT/$variant.tflite" "$OUT/$variant.json" edge_runtime/assets/
done
# The Arduino example's generated files (needs the micro extra: TensorFlow Lite Micro measures the arena).
"$MNIST_EDGE" export-micro edge_runtime/assets/cnn_micro_int8.tflite --out examples/arduino/mnist_edge_micro \
    --source-ext cpp
echo "shipped: $(ls edge_runtime/assets/*.tflite | xargs -n1 basename | tr '\n' ' ')" >&2
