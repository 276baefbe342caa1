#!/usr/bin/env bash
# Regenerate the models shipped in edge_runtime/assets/ with the project's own commands.
# Needs the train extra (TensorFlow) and MNIST (MNIST_DIR or --data-dir). About 15 minutes on 2 cores.
#   MNIST_DIR=../shared/data/mnist scripts/make_models.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-models}
MNIST_EDGE=${MNIST_EDGE:-mnist-edge}

"$MNIST_EDGE" train --arch cnn --seed 0 --out "$OUT"                  # defaults: 15 epochs, batch 128, augmentation on
"$MNIST_EDGE" train --arch mlp --epochs 5 --seed 0 --out "$OUT"       # the notebook's model and recipe
"$MNIST_EDGE" convert "$OUT/cnn.keras" --quant float32 float16 dynamic int8 --out "$OUT"
"$MNIST_EDGE" convert "$OUT/mlp.keras" --quant float32 float16 dynamic int8 --out "$OUT"

for variant in cnn_int8 cnn_float32 mlp_int8; do
    cp "$OUT/$variant.tflite" "$OUT/$variant.json" edge_runtime/assets/
done
echo "shipped: $(ls edge_runtime/assets/*.tflite | xargs -n1 basename | tr '\n' ' ')" >&2
