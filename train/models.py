"""The Keras models: the notebook's MLP, a compact int8-friendly CNN for the edge, and a CNN for microcontrollers."""
from __future__ import annotations

import functools

ARCHS = ("mlp", "cnn", "cnn-micro")


@functools.cache
def _static_reshape_layer():
    """A Reshape whose target keeps the batch as -1 in a constant shape.

    Keras' own Reshape builds the shape from the runtime batch size, which the TFLite converter
    turns into SHAPE/STRIDED_SLICE/PACK ops; those run outside XNNPACK and split the graph into
    two delegate partitions. A constant (-1, ...) shape converts to a single RESHAPE.
    """
    import keras

    @keras.saving.register_keras_serializable(package="mnist_edge")
    class StaticReshape(keras.layers.Layer):
        def __init__(self, target_shape, **kwargs):
            super().__init__(**kwargs)
            self.target_shape = tuple(target_shape)

        def call(self, inputs):
            return keras.ops.reshape(inputs, (-1, *self.target_shape))

        def compute_output_shape(self, input_shape):
            return (input_shape[0], *self.target_shape)

        def get_config(self):
            return {**super().get_config(), "target_shape": list(self.target_shape)}

    return StaticReshape


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


def build_cnn(classes: int = 10):
    """A ~60k-parameter CNN: only conv/BN/ReLU/max-pool/dense, all of which full-int8 TFLite runs.

    BatchNorm folds into the convolutions at conversion; reshapes keep one XNNPACK partition.
    """
    import keras
    from keras import layers

    StaticReshape = _static_reshape_layer()

    def conv_block(x, filters, name):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)
        x = layers.BatchNormalization(name=f"{name}_bn")(x)
        x = layers.ReLU(name=f"{name}_relu")(x)
        return layers.MaxPooling2D(2, name=f"{name}_pool")(x)

    inputs = keras.Input(shape=(28, 28), name="image")
    x = StaticReshape((28, 28, 1), name="to_nhwc")(inputs)
    x = conv_block(x, 16, "block1")   # 14x14x16
    x = conv_block(x, 32, "block2")   # 7x7x32
    x = conv_block(x, 64, "block3")   # 3x3x64
    x = StaticReshape((3 * 3 * 64,), name="flatten")(x)
    x = layers.Dropout(0.3)(x)
    x = layers.Dense(64, activation="relu", name="fc")(x)
    outputs = layers.Dense(classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="cnn")


def build_cnn_micro():
    """A ~18k-parameter CNN for microcontrollers (TensorFlow Lite Micro): int8 weights ~18 KB, arena < 16 KB.

    The arena is the peak of live int8 activations plus TFLM's bookkeeping, so the first convolution has
    only 8 filters (28x28x8 = 6.3 KB) and each pool halves the map before the channels grow; a 7x7 average
    pool replaces the dense head (a 3x3x32 flatten into Dense(10) alone would be 2.9k weights).
    """
    import keras
    from keras import layers

    StaticReshape = _static_reshape_layer()

    def conv(x, filters, name):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)
        x = layers.BatchNormalization(name=f"{name}_bn")(x)
        return layers.ReLU(name=f"{name}_relu")(x)

    inputs = keras.Input(shape=(28, 28), name="image")
    x = StaticReshape((28, 28, 1), name="to_nhwc")(inputs)
    x = conv(x, 8, "c1")                                # 28x28x8
    x = layers.MaxPooling2D(2, name="pool1")(x)         # 14x14x8
    x = conv(conv(x, 16, "c2"), 16, "c3")               # 14x14x16
    x = layers.MaxPooling2D(2, name="pool2")(x)         # 7x7x16
    x = conv(conv(x, 32, "c4"), 32, "c5")               # 7x7x32
    x = layers.AveragePooling2D(7, name="gap")(x)       # 1x1x32
    x = StaticReshape((32,), name="flatten")(x)
    outputs = layers.Dense(10, name="logits")(x)
    return keras.Model(inputs, outputs, name="cnn_micro")


def register_custom_layers() -> None:
    """Make the project's layers known to keras.saving.load_model."""
    _static_reshape_layer()


def build_model(arch: str, classes: int = 10):
    """Build an uncompiled model by name (one of ARCHS): 10 digit classes, or 11 with "not a digit"."""
    if arch == "mlp":
        if classes != 10:
            raise ValueError("the notebook's mlp has exactly 10 classes; --not-a-digit is for the cnn")
        return build_mlp()
    if arch == "cnn":
        return build_cnn(classes)
    if arch == "cnn-micro":
        if classes != 10:
            raise ValueError("cnn-micro has 10 classes (the microcontroller export); --not-a-digit is for the cnn")
        return build_cnn_micro()
    raise ValueError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHS)}")
