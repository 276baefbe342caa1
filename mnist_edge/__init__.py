"""mnist-edge: train, convert, run and benchmark an MNIST digit recognizer for edge devices."""

__version__ = "0.1.0"
