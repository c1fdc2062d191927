"""GAN (Goodfellow et al. 2014) on the embedded digits: the paper's kind of networks, resized and
trained with Adam. `gan_digits_paper` has the paper's own MNIST networks and SGD.

As in the paper: z of 100 from N(0, I) (the reference code's default), maxout D (240 x 5 pieces,
twice) with dropout 0.2 on its input pixels and 0.5 on its hidden layers, tanh output (the
paper's sigmoid on [0, 1] pixels). The input dropout matters here: without it G collapsed onto a
few classes (docs/quality.md: FD 2.79 against 0.444 with it, other settings equal).

Departures from the paper's MNIST setup, each measured in docs/quality.md: G has 256 and 512 ReLU
units (the paper: 1200 and 1200, which collapsed onto one class at this scale: IS 1.03 at step
4000); Adam 2e-4, beta1 0.5, batch 64, both rates decaying linearly to zero over 10000 steps,
samples from an EMA of G (decay 0.999), where the paper has SGD 0.1 with momentum 0.5, batch 100
and the raw G.
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
  c.steps = 10000
  c.loss = "non_saturating"
  # Linear decay to zero and an EMA of G, as cgan_digits: steadier samples at the run's end.
  c.optimizer.g = optimizer_config("adam", lr=2e-4, b1=0.5, lr_decay="linear")
  c.optimizer.d = optimizer_config("adam", lr=2e-4, b1=0.5, lr_decay="linear")
  c.ema.decay = 0.999
  c.generator = ml_collections.ConfigDict(dict(hidden=(256, 512), act="relu"))
  c.discriminator = ml_collections.ConfigDict(
      dict(hidden=(240, 240), act="leaky_relu", maxout_pieces=5, dropout=0.5,
           input_dropout=0.2))
  c.checkpoint_every = 1000
  c.sample_every = 1000
  c.evals.digits = dict(every=5000)
  c.eval.num_samples = 1000
  c.log_every = 200
  return c
