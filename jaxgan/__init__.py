"""jaxgan: the GAN line of work as pure JAX/Flax functions on one training engine."""

__version__ = "0.1.0"
