"""WGAN-GP on CIFAR-10 from tfds: DCGAN-style networks (the paper's DCGAN variant), layer-norm
critic, lambda=10, n_critic=5, Adam (1e-4, beta=(0, 0.9)) as in the paper, batch 64."""

import ml_collections

from configs import wgan_gp_digits
from jaxgan.config import optimizer_config


def get_config():
  c = wgan_gp_digits.get_config()
  c.data.name = "tfds:cifar10"
  c.data.image_size = 32
  c.data.channels = 3
  c.generator.base_features = 128
  c.discriminator.base_features = 128
  c.optimizer.g = optimizer_config("adam", lr=1e-4, b1=0.0, b2=0.9)
  c.optimizer.d = optimizer_config("adam", lr=1e-4, b1=0.0, b2=0.9)
  c.steps = 100000
  c.evals = ml_collections.ConfigDict()  # no evaluator for this data set yet
  c.sample_every = 1000
  c.checkpoint_every = 5000
  return c
