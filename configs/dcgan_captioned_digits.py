"""DCGAN on captioned_digits' images at 16x16 RGB, no text: the unconditional control for
StackGAN's Stage-I (configs/stackgan_digits.py), which trains on the same images.

`dcgan_digits`' networks, optimiser and step count unchanged (the config that draws legible grey
digits at 16x16 within about 1000 steps), pointed at the coloured renders area-downscaled to
16x16, as Stage-I sees them; with them it inherits InfoGAN's 10-way code (z of 62, G's rate
1e-3). It draws no digits on the eight background colours: the plain DCGAN (the code off:
--config.info_code.categories=0 --config.latent_dim=100 --config.optimizer.g.lr=2e-4) not within
6000 steps, this config not within 4500 (docs/text_to_image.md). On one background colour
(--config.data.backgrounds=blue, 817 of the 7190 images) the same config starts to draw digits
by step 2500-4500: what the GANs tried fail on is the eight flat background fields at once, not
the digit alone, and not StackGAN's networks. z is N(0, I), as when those runs were measured
(`dcgan_digits` draws U[-1, 1] since).
"""

import ml_collections

from configs import dcgan_digits


def get_config():
  c = dcgan_digits.get_config()
  c.data.name = "captioned_digits"
  c.data.image_size = 16
  c.data.channels = 3
  c.latent.distribution = "normal"  # as measured (the docstring)
  c.evals = ml_collections.ConfigDict()  # the digits classifier reads grey digits only
  return c
