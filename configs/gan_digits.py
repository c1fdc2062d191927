"""GAN (Goodfellow et al. 2014) on the embedded digits: the paper's kind of networks, resized and
trained with Adam. `gan_digits_paper` has the paper's own MNIST networks and SGD.

Departures from the paper's MNIST setup: G has 256 and 512 ReLU units (the paper: 1200 and
1200); D has no dropout on its input pixels (the paper: 0.2); Adam 2e-4, beta1 0.5, batch 64
(the paper: SGD 0.1 with momentum 0.5, batch 100). Kept as they were measured in
docs/quality.md. As in the paper: z of 100 from N(0, I) (the reference code's default), maxout
D (240 x 5 pieces, twice) with dropout 0.5, tanh output (the paper's sigmoid on [0, 1] pixels).
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
