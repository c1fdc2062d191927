"""BigGAN (Brock et al. 2018) on CIFAR-10 (tfds) at 32x32, class-conditional.

BigGAN's 32x32 architecture with ch=64 as in the reference code's CIFAR runs: G multipliers
(4, 4, 4, 4) (256 channels, 4 -> 8 -> 16 -> 32), D (4, 4, 4, 4) downsampling twice, no
self-attention; shared embedding (128), hierarchical latents (z of 128 in 4 chunks), projection
D, spectral norm, hinge loss, Adam beta=(0, 0.999), G 2e-4 / D 2e-4 with 4 D steps per G step,
batch 50, and an EMA of G from step 1000 (the reference CIFAR settings); orthogonal
regularisation at the paper's 1e-4.
"""

import ml_collections

from configs import biggan_digits
from jaxgan.config import optimizer_config


def get_config():
  c = biggan_digits.get_config()
  c.data.name = "tfds:cifar10"
  c.data.image_size = 32
  c.data.channels = 3
  c.latent_dim = 128
  c.batch_size = 50
  c.n_critic = 4
  c.steps = 100000
  c.optimizer.g = optimizer_config("adam", lr=2e-4, b1=0.0, b2=0.999, eps=1e-6)
  c.optimizer.d = optimizer_config("adam", lr=2e-4, b1=0.0, b2=0.999, eps=1e-6)
  c.ema = ml_collections.ConfigDict(dict(decay=0.9999, start=1000))
  c.generator = ml_collections.ConfigDict(dict(
      ch=64, channel_multipliers=(4, 4, 4, 4), attention_resolutions=(), shared_dim=128,
      hierarchical=True, spectral_norm=True, init="orthogonal"))
  c.discriminator = ml_collections.ConfigDict(dict(
      ch=64, channel_multipliers=(4, 4, 4, 4), downsample=(True, True, False, False),
      attention_resolutions=(), spectral_norm=True, init="orthogonal"))
  c.evals = ml_collections.ConfigDict()  # no evaluator for this data set yet
  c.sample_every = 1000
  c.checkpoint_every = 5000
  return c
