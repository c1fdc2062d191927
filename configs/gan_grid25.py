"""GAN (Goodfellow et al. 2014) on grid25: 5x5 Gaussians at {-4,-2,0,2,4}^2, std 0.05.

The same MLPs as gan_ring8 (the PacGAN benchmark's), non-saturating G loss, Adam.
"""

from configs import gan_ring8


def get_config():
  c = gan_ring8.get_config()
  c.data.name = "grid25"
  return c
