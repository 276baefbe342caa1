"""The Keras models: the notebook's MLP and a compact int8-friendly CNN for the edge."""
from __future__ import annotations

ARCHS = ("mlp", "cnn")


def build_mlp():
    """The notebook's model exactly: Flatten → Dense(128, relu) → Dropout(0.2) → Dense(10) logits."""
    import keras

    return keras.Sequential([
        keras.Input(shape=(28, 28), name="image"),
        keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(10, name="logits"),
    ], name="mlp")


def build_cnn():
    """A ~60k-parameter CNN: only conv/BN/ReLU/max-pool/dense, all of which full-int8 TFLite runs.

    BatchNorm folds into the convolutions at conversion. The head reshapes with a static
    (-1, 576) shape instead of Flatten so a dynamic batch adds no SHAPE/PACK ops to the graph.
    """
    import keras
    from keras import layers

    def conv_block(x, filters, name):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)
        x = layers.BatchNormalization(name=f"{name}_bn")(x)
        x = layers.ReLU(name=f"{name}_relu")(x)
        return layers.MaxPooling2D(2, name=f"{name}_pool")(x)

    inputs = keras.Input(shape=(28, 28), name="image")
    x = layers.Reshape((28, 28, 1))(inputs)
    x = conv_block(x, 16, "block1")   # 14x14x16
    x = conv_block(x, 32, "block2")   # 7x7x32
    x = conv_block(x, 64, "block3")   # 3x3x64
    x = layers.Reshape((3 * 3 * 64,))(x)
    x = layers.Dropout(0.3)(x)
    x = layers.Dense(64, activation="relu", name="fc")(x)
    outputs = layers.Dense(10, name="logits")(x)
    return keras.Model(inputs, outputs, name="cnn")


def build_model(arch: str):
    """Build an uncompiled model by name (one of ARCHS)."""
    if arch == "mlp":
        return build_mlp()
    if arch == "cnn":
        return build_cnn()
    raise ValueError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHS)}")
