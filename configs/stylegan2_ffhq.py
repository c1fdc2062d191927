"""StyleGAN2 config F on FFHQ at 1024x1024 (an image folder: data.path), the paper's sizes.

Networks at their official widths (fmap_base 16384 = channel_base 32768 / 2, fmap_max 512,
w_dim 512, 8 mapping layers), batch 32, Adam (0.002, beta=(0, 0.99), eps 1e-8), R1 gamma 10
every 16 D steps, path length (weight 2) every 4 G steps, mixing 0.9, EMA with a 10 kimg
half-life (0.5 ** (32 / 10000) = 0.99778), 25000 kimg (781250 steps at batch 32).

As the official code, each network's Adam runs at lr * k/(k+1) and betas ** (k/(k+1)) for its
lazy interval k (D 16, G 4). Departures, and why: no mixed precision (the official fp16 layers
are a PyTorch speed measure); the path-length pass does not move w_avg; no evaluator by default
(an `inception` one needs the converted weights, docs/inception.md); see configs/stylegan2_digits.py for the rest.
"""

import ml_collections

from configs import stylegan2_digits
from jaxgan.config import optimizer_config


def get_config():
  c = stylegan2_digits.get_config()
  c.data.name = "folder"
  c.data.path = ""  # set on the command line: --config.data.path=/path/to/ffhq
  c.data.image_size = 1024
  c.data.channels = 3
  c.latent_dim = 512
  c.batch_size = 32
  c.steps = 781250
  c.d_terms.r1 = dict(weight=10.0 / 2, every=16)
  c.g_terms.path_length = dict(weight=2.0, every=4)  # the digits config turns it off
  c.optimizer.g = optimizer_config("adam", lr=2e-3, b1=0.0, b2=0.99, eps=1e-8)
  c.optimizer.d = optimizer_config("adam", lr=2e-3, b1=0.0, b2=0.99, eps=1e-8)
  c.ema = ml_collections.ConfigDict(dict(decay=0.5 ** (32 / 10000), start=0))
  c.generator = ml_collections.ConfigDict(dict(
      w_dim=512, mapping_layers=8, mapping_features=512, mapping_lr_mul=0.01, mixing_prob=0.9,
      truncation_cutoff=None, fmap_base=16384, fmap_max=512))
  c.discriminator = ml_collections.ConfigDict(dict(fmap_base=16384, fmap_max=512,
                                                   mbstd_group_size=4))
  c.evals = ml_collections.ConfigDict()
  c.checkpoint_every = 5000
  c.sample_every = 1000
  return c
