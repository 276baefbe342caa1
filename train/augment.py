"""Training-time augmentation that makes MNIST look like digits cut out of camera frames.

Everything is vectorised over a batch with stateless random ops, so a fixed seed gives the
same augmented stream every run. No flips: a mirrored 2 is not a digit.
"""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class AugmentConfig:
    max_rotation_deg: float = 12.0     # hand-held camera and slanted handwriting
    max_shift_px: float = 2.0          # our preprocessing centres by mass; residual offsets are small
    scale_range: tuple[float, float] = (0.85, 1.12)  # digit box fit is 20 px, stroke extents vary
    max_shear: float = 0.15
    thicken_prob: float = 0.25         # marker vs pencil: dilate strokes
    thin_prob: float = 0.15            # thin pens: erode strokes
    blur_prob: float = 0.3             # defocus and motion
    noise_prob: float = 0.5
    max_noise_std: float = 0.08        # sensor noise after normalization
    min_contrast: float = 0.7          # faint ink: peak intensity below 1.0


def augment_batch(images, seed, config: AugmentConfig = AugmentConfig()):
    """Augment a float32 batch (N, 28, 28) in [0, 1]; `seed` is a shape-[2] int tensor."""
    import tensorflow as tf

    seeds = tf.random.experimental.stateless_split(seed, num=10)
    n = tf.shape(images)[0]
    x = images[..., tf.newaxis]

    def uniform(i, lo, hi, shape=None):
        return tf.random.stateless_uniform(shape if shape is not None else [n], seeds[i], lo, hi)

    # Random affine about the image centre, as an inverse (output → input) projective transform.
    angle = uniform(0, -1.0, 1.0) * (config.max_rotation_deg * math.pi / 180)
    scale = uniform(1, *config.scale_range)
    shear = uniform(2, -config.max_shear, config.max_shear)
    shift = uniform(3, -config.max_shift_px, config.max_shift_px, [n, 2])
    cos, sin = tf.cos(angle) / scale, tf.sin(angle) / scale
    a0, a1 = cos, -sin + shear * cos
    b0, b1 = sin, cos + shear * sin
    c = 13.5  # pixel-centre of a 28x28 image
    a2 = c - a0 * c - a1 * c + shift[:, 0]
    b2 = c - b0 * c - b1 * c + shift[:, 1]
    zeros = tf.zeros_like(a0)
    transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
    x = tf.raw_ops.ImageProjectiveTransformV3(
        images=x, transforms=transforms, output_shape=[28, 28], fill_value=0.0,
        interpolation="BILINEAR", fill_mode="CONSTANT")

    # Stroke thickness: a 2x2 max (min) filter thickens (thins) strokes by about one pixel.
    r = uniform(4, 0.0, 1.0)[:, None, None, None]
    thick = tf.nn.max_pool2d(x, 2, 1, "SAME")
    thin = -tf.nn.max_pool2d(-x, 2, 1, "SAME")
    x = tf.where(r < config.thicken_prob, thick,
                 tf.where(r > 1.0 - config.thin_prob, thin, x))

    # Blur with a 3x3 binomial kernel.
    kernel = tf.constant([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]) / 16.0
    blurred = tf.nn.conv2d(x, kernel[:, :, None, None], 1, "SAME")
    x = tf.where(uniform(5, 0.0, 1.0)[:, None, None, None] < config.blur_prob, blurred, x)

    # Contrast and additive noise.
    x = x * uniform(6, config.min_contrast, 1.0)[:, None, None, None]
    noise_std = tf.where(uniform(7, 0.0, 1.0) < config.noise_prob,
                         uniform(8, 0.0, config.max_noise_std), 0.0)
    noise = tf.random.stateless_normal(tf.shape(x), seeds[9]) * noise_std[:, None, None, None]
    x = tf.clip_by_value(x + noise, 0.0, 1.0)
    return x[..., 0]
