"""CycleGAN between 32x32 patches of the two bundled photos: china.jpg <-> flower.jpg.

Unpaired by construction (two different photographs); the held-out bottom quarter of each photo
is the test split, scored by cycle L1. Same losses and schedule as cyclegan_digits, plus the
identity loss (0.5 lambda).
"""

from configs import cyclegan_digits


def get_config():
  c = cyclegan_digits.get_config()
  c.data.name = "china_flower"
  c.data.image_size = 32
  c.data.channels = 3
  c.generator.base_features = 16
  c.augment.flip = True
  c.identity_weight = 0.5  # the paper's, keeping colours where they need not change
  return c
