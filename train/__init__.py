"""Training stage: MNIST loading (numpy only) and the Keras models (TensorFlow)."""
