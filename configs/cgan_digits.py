"""CGAN (Mirza & Osindero 2014) on the embedded digits: the class label goes to G and D.

The paper's MNIST networks: G maps z to 200 ReLU units and the one-hot label to 1000, joins them
in 1200 ReLU units; D maps x to 240 maxout units (5 pieces) and the label to 50 (5 pieces),
joins them in 240 maxout units (4 pieces in the paper; 5 here); dropout 0.5 in D.
"""

import ml_collections

from jaxgan.config import base_config, optimizer_config


def get_config():
  c = base_config()
  c.paper = "cgan"
  c.architecture = "conditional_mlp"
  c.conditional = True
  c.data.name = "digits"
  c.data.image_size = 16
  c.latent_dim = 100
  c.batch_size = 64
  c.steps = 6000
  c.loss = "non_saturating"
  # Both rates decay linearly to zero and samples come from an EMA of G: at a constant rate
  # the label accuracy of the raw G swings between 0.63 and 0.90 over training
  # (docs/quality.md).
  c.optimizer.g = optimizer_config("adam", lr=2e-4, b1=0.5, lr_decay="linear")
  c.optimizer.d = optimizer_config("adam", lr=2e-4, b1=0.5, lr_decay="linear")
  c.ema.decay = 0.999
  c.generator = ml_collections.ConfigDict(
      dict(z_hidden=200, label_hidden=1000, joint_hidden=(1200,), act="relu"))
  c.discriminator = ml_collections.ConfigDict(
      dict(x_hidden=240, label_hidden=50, joint_hidden=(240,), maxout_pieces=5, dropout=0.5,
           act="leaky_relu"))
  c.checkpoint_every = 1000
  c.sample_every = 1000
  c.evals.digits = dict(every=2000)
  c.eval.num_samples = 1000
  c.log_every = 200
  return c
