"""GAN (Goodfellow et al. 2014) on the embedded digits with the paper's MNIST networks and
training, from its reference code (the pylearn2 file mnist.yaml of goodfeli/adversarial).

G: z (100, N(0, I): the reference Generator's default noise) -> 1200 ReLU -> 1200 ReLU -> pixels.
D: maxout 240 units x 5 pieces -> maxout 240 x 5 -> one logit, with dropout on every layer's
input: 0.2 on the pixels, 0.5 on the hidden layers, in D's update and in G's. Non-saturating G
loss (the reference's G cost is D's cross-entropy with the fakes labelled real). SGD, batch 100,
learning rate 0.1 multiplied by 1/1.000004 after every update, momentum 0.5 (the reference
raises it linearly to 0.7 between epochs 1 and 250 of MNIST, 125k updates; over this run's
4000 it would stay within 0.5-0.51, so it is held at 0.5).

Departures: 16x16 digits in [-1, 1] with a tanh output where the paper has 28x28 MNIST in
[0, 1] with a sigmoid (the same family: tanh(a) = 2 sigmoid(2a) - 1); flax's default
initialisation (LeCun normal, zero bias) where pylearn2 draws weights uniformly in +-0.05 (G)
and +-0.005 (D) and sets G's output bias from the pixel marginals; 4000 updates instead of
training to convergence. `gan_digits` is the tuned variant (smaller G, Adam).
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
  c.latent.distribution = "normal"
  c.batch_size = 100
  c.steps = 4000
  c.loss = "non_saturating"
  sgd = dict(lr=0.1, momentum=0.5, lr_decay="step", decay_every=1, decay_factor=1 / 1.000004)
  c.optimizer.g = optimizer_config("sgd", **sgd)
  c.optimizer.d = optimizer_config("sgd", **sgd)
  c.generator = ml_collections.ConfigDict(dict(hidden=(1200, 1200), act="relu"))
  c.discriminator = ml_collections.ConfigDict(
      dict(hidden=(240, 240), act="leaky_relu", maxout_pieces=5, dropout=0.5,
           input_dropout=0.2))
  c.checkpoint_every = 1000
  c.sample_every = 1000
  c.evals.digits = dict(every=2000)
  c.eval.num_samples = 1000
  c.log_every = 200
  return c
