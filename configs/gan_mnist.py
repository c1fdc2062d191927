"""GAN (Goodfellow et al. 2014) on MNIST from tfds at 28x28, the paper's MNIST networks and
training (`gan_digits_paper`, whose docstring lists them and the departures that remain).

Prepare it once: tfds build mnist --file_format=array_record.
"""

import ml_collections

from configs import gan_digits_paper


def get_config():
  c = gan_digits_paper.get_config()
  c.data.name = "tfds:mnist"
  c.data.image_size = 28
  c.data.fit = "resize"
  c.steps = 100000
  c.evals = ml_collections.ConfigDict()  # no evaluator for this data set yet
  c.checkpoint_every = 5000
  c.sample_every = 5000
  return c
