"""DCGAN on MNIST from tfds (prepare it first: see the README), padded/resized to 32x32."""

import ml_collections

from configs import dcgan_digits


def get_config():
  c = dcgan_digits.paper_config()
  c.data.name = "tfds:mnist"
  c.data.image_size = 32
  c.data.channels = 1
  c.data.fit = "resize"
  c.generator.base_features = 64
  c.discriminator.base_features = 64
  c.batch_size = 128
  c.steps = 20000
  c.evals = ml_collections.ConfigDict()  # no evaluator for this data set yet
  c.sample_every = 1000
  c.checkpoint_every = 2000
  return c
