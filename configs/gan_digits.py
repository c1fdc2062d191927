"""GAN (Goodfellow et al. 2014) on the embedded digits, with the paper's MNIST-style MLPs.

G: ReLU hidden layers and a tanh output (the paper used sigmoid on [0, 1] pixels; ours are in
[-1, 1]); D: maxout layers with dropout, as in the paper.
"""

import ml_collections

from jaxgan.config import base_config, optimizer_config


def get_config():
  c = base_config()
  c.paper = "gan"
  c.architecture = "mlp"
  c.data.name = "digits"
  c.data.image_size = 16
  c.latent_dim = 100
  c.batch_size = 64
  c.steps = 4000
  c.loss = "non_saturating"
  c.optimizer.g = optimizer_config("adam", lr=2e-4, b1=0.5)
  c.optimizer.d = optimizer_config("adam", lr=2e-4, b1=0.5)
  c.generator = ml_collections.ConfigDict(dict(hidden=(256, 512), act="relu"))
  c.discriminator = ml_collections.ConfigDict(
      dict(hidden=(240, 240), act="leaky_relu", maxout_pieces=5, dropout=0.5))
  c.checkpoint_every = 1000
  c.sample_every = 1000
  c.evals.digits = dict(every=2000)
  c.eval.num_samples = 1000
  c.log_every = 200
  return c
