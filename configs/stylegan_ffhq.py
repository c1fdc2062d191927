"""StyleGAN on FFHQ at 1024x1024 (an image folder: data.path), the paper's sizes.

Networks at their official widths (fmap_base 8192, fmap_max 512, w_dim 512, 8 mapping layers,
truncation cutoff 8), non-saturating logistic loss with R1 gamma 10 every step, Adam
(beta=(0, 0.99), eps 1e-8) at the official 1024x1024 rate 0.003 (its G_lrate_dict for FFHQ),
mixing 0.9, EMA with a 10 kimg half-life (0.99778 at batch 32), 25000 kimg.

Departures, and why: it trains at 1024x1024 from the start, batch 32 throughout (the paper
grows from 8x8 with a batch per resolution; growing is optional in the issue and the default
here); one learning rate; no evaluator for this data set yet (no FID network offline).
"""

import ml_collections

from configs import stylegan_digits
from jaxgan.config import optimizer_config


def get_config():
  c = stylegan_digits.get_config()
  c.data.name = "folder"
  c.data.path = ""  # set on the command line: --config.data.path=/path/to/ffhq
  c.data.image_size = 1024
  c.data.channels = 3
  c.latent_dim = 512
  c.batch_size = 32
  c.steps = 781250
  c.d_terms.r1 = dict(weight=10.0 / 2)
  c.optimizer.g = optimizer_config("adam", lr=3e-3, b1=0.0, b2=0.99, eps=1e-8)
  c.optimizer.d = optimizer_config("adam", lr=3e-3, b1=0.0, b2=0.99, eps=1e-8)
  c.ema = ml_collections.ConfigDict(dict(decay=0.5 ** (32 / 10000), start=0))
  c.generator = ml_collections.ConfigDict(dict(
      w_dim=512, mapping_layers=8, mapping_features=512, mapping_lr_mul=0.01, mixing_prob=0.9,
      truncation_cutoff=8, fmap_base=8192, fmap_max=512))
  c.discriminator = ml_collections.ConfigDict(dict(fmap_base=8192, fmap_max=512,
                                                   mbstd_group_size=4))
  c.evals = ml_collections.ConfigDict()
  c.checkpoint_every = 5000
  c.sample_every = 1000
  return c
