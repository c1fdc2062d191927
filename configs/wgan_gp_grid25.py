"""WGAN-GP (Gulrajani et al. 2017) on grid25: ReLU MLP critic without normalisation, gradient
penalty on interpolates, n_critic=5, Adam with beta=(0.5, 0.9) as in the paper's toy code.

Two departures, both measured (docs/quality.md): lambda=1 instead of 10 (the authors' own toy
code lowers it, to 0.1, for 2-D tasks) and a 1e-3 learning rate decayed linearly to zero, which
reaches all 25 modes in 3000 G steps instead of the paper's 100k; at a constant rate the
coverage oscillates.
"""

import ml_collections

from configs import gan_ring8
from jaxgan.config import optimizer_config


def get_config():
  c = gan_ring8.get_config()
  c.paper = "wgan_gp"
  c.data.name = "grid25"
  c.loss = "wasserstein"
  c.d_terms.gradient_penalty = dict(weight=1.0)
  c.n_critic = 5
  c.steps = 3000
  c.checkpoint_every = 1000
  c.sample_every = 1000
  c.evals.modes = dict(every=1000)
  c.generator = ml_collections.ConfigDict(dict(hidden=(256, 256, 256), act="relu"))
  c.discriminator = ml_collections.ConfigDict(
      dict(hidden=(256, 256, 256), act="relu", maxout_pieces=0, dropout=0.0))
  c.optimizer.g = optimizer_config("adam", lr=1e-3, b1=0.5, b2=0.9, lr_decay="linear")
  c.optimizer.d = optimizer_config("adam", lr=1e-3, b1=0.5, b2=0.9, lr_decay="linear")
  return c
