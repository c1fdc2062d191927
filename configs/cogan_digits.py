"""CoGAN (Liu & Tuzel 2016) on the digits and their negatives, the paper's MNIST task.

At 16x16 (the digits are 8x8 scans): the two domains come from disjoint halves of the digits'
train split, so no pair is ever shown; the generators share their first 2 of 3 layers (all but
the output layer), the discriminators their last 2 of 3 (all but the input layer). Scored by
`jaxgan evaluate`: how far b is from 1 - a over generated pairs, against shuffled pairs, and
each domain's Fréchet distance by the digits classifier.
"""

import ml_collections

from jaxgan.config import base_config, optimizer_config


def get_config():
  c = base_config()
  c.paper = "cogan"
  c.trainer = "cogan"
  c.architecture = "cogan"
  c.data.name = "digits_negative"
  c.data.image_size = 16
  c.data.channels = 1
  c.latent_dim = 100
  c.latent.distribution = "uniform"  # the paper's Caffe model: U[-1, 1]
  c.batch_size = 64
  c.steps = 3000
  c.loss = "non_saturating"
  c.optimizer.g = optimizer_config("adam", lr=2e-4, b1=0.5)
  c.optimizer.d = optimizer_config("adam", lr=2e-4, b1=0.5)
  c.generator = ml_collections.ConfigDict(dict(base_features=32, shared_layers=2, norm="batch"))
  c.discriminator = ml_collections.ConfigDict(dict(base_features=32, shared_layers=2,
                                                   norm="batch"))
  c.checkpoint_every = 1000
  c.sample_every = 500
  c.evals.coupling = dict(every=1000)
  c.eval.num_samples = 1000
  c.log_every = 100
  return c
