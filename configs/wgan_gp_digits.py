"""WGAN-GP (Gulrajani et al. 2017) on the embedded digits: DCGAN networks with layer norm in
the critic (batch norm would break the per-example penalty), lambda=10, n_critic=5,
Adam (1e-4, beta=(0.5, 0.9)), N(0, I) latents as the reference code draws them."""

from configs import dcgan_digits
from jaxgan.config import optimizer_config


def get_config():
  c = dcgan_digits.paper_config()
  c.paper = "wgan_gp"
  c.loss = "wasserstein"
  c.latent.distribution = "normal"
  c.d_terms.gradient_penalty = dict(weight=10.0)
  c.n_critic = 5
  c.discriminator.norm = "layer"
  c.optimizer.g = optimizer_config("adam", lr=1e-4, b1=0.5, b2=0.9)
  c.optimizer.d = optimizer_config("adam", lr=1e-4, b1=0.5, b2=0.9)
  return c
