"""CGAN (Mirza & Osindero 2014) on the embedded digits: the class label goes to G and D.

The paper's MNIST networks: G maps z (100, uniform) to 200 ReLU units and the one-hot label to
1000, joins them in 1200 ReLU units; D maps x to 240 maxout units (5 pieces) and the label to 50
(5 pieces), joins them in 240 maxout units; dropout 0.5 after every hidden layer of G and D.

Departures: z is drawn from U[-1, 1]^100 where the paper draws from the unit hypercube
[0, 1]^100 (an affine change of z that G's first dense layer takes up); D's joint layer has 5
maxout pieces (the paper: 4; one pieces setting serves every layer here); Adam 2e-4 with
both rates decaying linearly to zero and samples from an EMA of G, where the paper uses SGD
(rate 0.1 decaying to 1e-6, momentum 0.5 rising to 0.7, batch 100) and the raw G: at a
constant rate the label accuracy of the raw G swings between 0.63 and 0.90 over training
(docs/quality.md); the paper's SGD schedule was not tried. 16x16 digits in [-1, 1] with a tanh
output (the paper: 28x28 MNIST, sigmoid).
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
  c.latent.distribution = "uniform"
  c.batch_size = 64
  c.steps = 6000
  c.loss = "non_saturating"
  # Both rates decay linearly to zero and samples come from an EMA of G (see the docstring).
  c.optimizer.g = optimizer_config("adam", lr=2e-4, b1=0.5, lr_decay="linear")
  c.optimizer.d = optimizer_config("adam", lr=2e-4, b1=0.5, lr_decay="linear")
  c.ema.decay = 0.999
  c.generator = ml_collections.ConfigDict(
      dict(z_hidden=200, label_hidden=1000, joint_hidden=(1200,), act="relu", dropout=0.5))
  c.discriminator = ml_collections.ConfigDict(
      dict(x_hidden=240, label_hidden=50, joint_hidden=(240,), maxout_pieces=5, dropout=0.5,
           act="leaky_relu"))
  c.checkpoint_every = 1000
  c.sample_every = 1000
  c.evals.digits = dict(every=2000)
  c.eval.num_samples = 1000
  c.log_every = 200
  return c
