"""Conversion stage: Keras → TFLite float32 / float16 / dynamic-range / full-int8, verified."""

QUANT_MODES = ("float32", "float16", "dynamic", "int8")
