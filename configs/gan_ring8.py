"""GAN (Goodfellow et al. 2014) on ring8: 8 Gaussians on the unit circle, std 0.01.

MLPs as in the PacGAN benchmark (G: 4 ReLU layers of 400 units, D: 3 maxout layers of 200),
non-saturating G loss as the paper recommends, Adam.
"""

from jaxgan.config import base_config, optimizer_config
import ml_collections


def get_config():
  c = base_config()
  c.paper = "gan"
  c.architecture = "mlp"
  c.data.name = "ring8"
  c.latent_dim = 2
  c.batch_size = 256
  c.steps = 6000
  c.loss = "non_saturating"
  c.optimizer.g = optimizer_config("adam", lr=1e-3, b1=0.5)
  c.optimizer.d = optimizer_config("adam", lr=1e-3, b1=0.5)
  c.generator = ml_collections.ConfigDict(dict(hidden=(400, 400, 400, 400), act="relu"))
  c.discriminator = ml_collections.ConfigDict(
      dict(hidden=(200, 200, 200), act="leaky_relu", maxout_pieces=5, dropout=0.0))
  c.checkpoint_every = 2000
  c.sample_every = 2000
  c.evals.modes = dict(every=2000)
  c.log_every = 500
  return c
