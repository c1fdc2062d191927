"""CoGAN on MNIST and its negatives (the paper's first experiment), from tfds mnist.

Prepare it once: tfds build mnist --file_format=array_record. Domain A is the first half of the
train split, domain B the negatives of the second half; 28x28 resized to 32x32.
"""

import ml_collections

from configs import cogan_digits


def get_config():
  c = cogan_digits.get_config()
  c.data.name = "tfds:mnist"
  c.data.domain_b = "negative"
  c.data.image_size = 32
  c.data.channels = 1
  c.data.fit = "resize"
  c.generator.base_features = 64
  c.generator.shared_layers = 3  # of 4 at 32x32: all but the output layer
  c.discriminator.base_features = 64
  c.discriminator.shared_layers = 3
  c.batch_size = 128
  c.steps = 25000
  c.evals = ml_collections.ConfigDict()  # no evaluator for this data set yet
  c.sample_every = 1000
  c.checkpoint_every = 2500
  return c
