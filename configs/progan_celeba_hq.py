"""ProGAN on CelebA-HQ at 1024x1024 (an image folder: data.path), the paper's sizes.

Official widths (fmap_base 8192, fmap_max 512: 512 up to 64x64, then 256 ... 16), latent 512,
WGAN-GP (lambda 10) + drift 0.001, Adam (0.001, beta=(0, 0.99)), EMA 0.999, 800k images faded
and 800k stable per stage (the paper's schedule; 9 stages 4 -> 1024, 13.6M images).

The paper's batch sizes and minibatch-stddev group (the official preset-v1: 16 up to 128x128,
then 14, 6 and 3 at 256, 512 and 1024 to fit GPU memory; mbstd group 16, so min(16, batch)).

Departures, and why: no evaluator by default (an `inception` one needs the converted weights,
docs/inception.md); see jaxgan/train/progan.py for the trainer's departures.
"""

import ml_collections

from configs import progan_digits
from jaxgan.config import optimizer_config


def get_config():
  c = progan_digits.get_config()
  c.data.name = "folder"
  c.data.path = ""  # set on the command line: --config.data.path=/path/to/celeba_hq
  c.data.image_size = 1024
  c.data.channels = 3
  c.latent_dim = 512
  c.batch_size = 16
  batches = (16, 16, 16, 16, 16, 16, 14, 6, 3)  # 4x4 ... 1024x1024
  c.growth = ml_collections.ConfigDict(dict(fade_kimg=800.0, stable_kimg=800.0,
                                            batch_sizes=batches))
  # The schedule's steps: 800k images at 4x4, 1600k (fade + stable) per later stage.
  c.steps = -(-800_000 // 16) + sum(-(-1_600_000 // b) for b in batches[1:])
  c.generator = ml_collections.ConfigDict(dict(fmap_base=8192, fmap_max=512))
  c.discriminator = ml_collections.ConfigDict(dict(fmap_base=8192, fmap_max=512,
                                                   mbstd_group_size=16))
  c.ema = ml_collections.ConfigDict(dict(decay=0.999, start=0))  # the official G_smoothing
  # The paper's rate (progan_digits raises it for its small batch).
  c.optimizer.g = optimizer_config("adam", lr=1e-3, b1=0.0, b2=0.99, eps=1e-8)
  c.optimizer.d = optimizer_config("adam", lr=1e-3, b1=0.0, b2=0.99, eps=1e-8)
  c.evals = ml_collections.ConfigDict()
  c.checkpoint_every = 5000
  c.sample_every = 1000
  return c
