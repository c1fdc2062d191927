"""DCGAN on captioned_digits' images at 16x16 RGB, no text: the unconditional control for
StackGAN's Stage-I (configs/stackgan_digits.py), which trains on the same images.

`dcgan_digits`' networks, optimiser and step count unchanged (the config that draws legible grey
digits at 16x16 within about 1000 steps), pointed at the coloured renders area-downscaled to
16x16, as Stage-I sees them. It does not draw digits on them within 6000 steps
(docs/text_to_image.md): the images, not StackGAN's networks, are what Stage-I fails on.
"""

import ml_collections

from configs import dcgan_digits


def get_config():
  c = dcgan_digits.get_config()
  c.data.name = "captioned_digits"
  c.data.image_size = 16
  c.data.channels = 3
  c.evals = ml_collections.ConfigDict()  # the digits classifier reads grey digits only
  return c
