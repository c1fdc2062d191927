"""CycleGAN (Zhu et al. 2017) between the digits and their negatives, at 32x32.

The two domains come from disjoint halves of the digits' train split, so no digit is ever
shown with its own negative; the test split has the true negatives, against which translations
are scored (`jaxgan evaluate`: L1 to the true negative, class kept by the digits classifier).
The paper's losses and schedule (LSGAN, cycle 10, pools of 50, Adam 2e-4 beta1 0.5, linear
decay over the second half; no identity loss, see below); a 6-block ResNet generator and a 16x16 PatchGAN with
fewer features, sized for a few minutes on a 2-core CPU.
"""

import ml_collections

from jaxgan.config import base_config, optimizer_config


def get_config():
  c = base_config()
  c.paper = "cyclegan"
  c.trainer = "cyclegan"
  c.architecture = "cyclegan"
  c.data.name = "digits_negative"
  c.data.image_size = 32
  c.data.channels = 1
  c.batch_size = 4
  c.steps = 1500
  c.loss = "least_squares"
  c.cycle_weight = 10.0  # lambda
  # The identity loss (0.5 lambda in the paper's photo <-> painting runs) asks G_AB to leave
  # negatives as they are, which the negation, the mapping sought here, does not: it would pull
  # G towards "negate dark backgrounds, keep light ones". Off for this task (measured: with 0.5,
  # class kept 3%); the photo and horse2zebra configs use 0.5.
  c.identity_weight = 0.0  # times lambda
  c.pool_size = 50
  c.optimizer.g = optimizer_config("adam", lr=2e-4, b1=0.5, lr_decay="linear", decay_start=0.5)
  c.optimizer.d = optimizer_config("adam", lr=2e-4, b1=0.5, lr_decay="linear", decay_start=0.5)
  c.generator = ml_collections.ConfigDict(dict(base_features=16, num_blocks=6, norm="instance",
                                               dropout=0.0))
  c.discriminator = ml_collections.ConfigDict(dict(receptive_field=16, base_features=32,
                                                   max_multiplier=8, norm="instance"))
  c.augment = ml_collections.ConfigDict(dict(load_size=0, flip=False))
  c.checkpoint_every = 500
  c.sample_every = 250
  c.evals.cycle = dict(every=500)
  c.log_every = 50
  return c
