"""DCGAN on CelebA from tfds at 64x64 (centre crop), the paper's sizes: G from a 4x4x1024
projection down to 128 features, D from 128 up to 1024, batch 128, Adam 2e-4 beta1 0.5."""

import ml_collections

from configs import dcgan_digits


def get_config():
  c = dcgan_digits.paper_config()
  c.data.name = "tfds:celeb_a"
  c.data.image_size = 64
  c.data.channels = 3
  c.data.fit = "center_crop"
  c.generator.base_features = 128
  c.discriminator.base_features = 128
  c.batch_size = 128
  c.steps = 50000
  c.evals = ml_collections.ConfigDict()  # no evaluator for this data set yet
  c.sample_every = 1000
  c.checkpoint_every = 5000
  return c
